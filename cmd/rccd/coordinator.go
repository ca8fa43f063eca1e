package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/buildinfo"
	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/store"
)

// coordinatorConfig is the configuration of rccd coordinator.
type coordinatorConfig struct {
	DB                string
	GRPCAddr          string
	MetricsAddr       string
	DataDir           string
	HeartbeatInterval time.Duration
	MissedHeartbeats  int
	Retention         time.Duration
	LogEntries        int
	Log               logOptions
}

// dbURL is the --db value, defaulting to SQLite in the data directory.
func (c coordinatorConfig) dbURL() string {
	if c.DB != "" {
		return c.DB
	}
	return "sqlite://" + c.DataDir + "/rcc.db"
}

func (c coordinatorConfig) validate() error {
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") && !strings.HasPrefix(c.DB, "sqlite:") {
		return fmt.Errorf("--db: want postgres://… or sqlite://PATH")
	}
	if c.DataDir == "" {
		return errors.New("--data-dir is empty")
	}
	if c.HeartbeatInterval <= 0 || c.MissedHeartbeats <= 0 {
		return errors.New("--heartbeat-interval and --missed-heartbeats must be positive")
	}
	if c.LogEntries < 1 || c.LogEntries > 1_000_000 {
		return fmt.Errorf("--log-entries %d: want 1 to 1000000", c.LogEntries)
	}
	return nil
}

func newCoordinatorCmd() *cobra.Command {
	cfg := coordinatorConfig{}
	cmd := &cobra.Command{
		Use:   "coordinator",
		Short: "Run the coordinator: the gRPC control plane",
		Long: `Run the coordinator: the gRPC control plane over PostgreSQL or SQLite.

The signing key is created in --data-dir on first start (signing.key, mode
0600); make an operator token with "rccd token create --role admin".`,
		Args: cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCoordinator(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", "", "database: postgres://… or sqlite://PATH (default sqlite://DATA-DIR/rcc.db)")
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", ":7400", "gRPC listen address")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", ":9091", "HTTP address of /metrics and /healthz (empty: none)")
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory of the signing key (and of the default SQLite database)")
	f.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", coordinator.DefaultHeartbeatInterval, "how often executors heartbeat")
	f.IntVar(&cfg.MissedHeartbeats, "missed-heartbeats", coordinator.DefaultMissedHeartbeats, "missed heartbeats after which an executor is lost")
	f.DurationVar(&cfg.Retention, "retention", coordinator.DefaultRetention, "how long stopped, failed and lost instances are kept (negative: forever)")
	f.IntVar(&cfg.LogEntries, "log-entries", coordinator.DefaultLogEntries, "how many entries of each instance's log (game output, lifecycle events) are kept")
	return serveCmd(cmd, &cfg.Log, func() error { return cfg.validate() })
}

// runCoordinator serves until ctx ends, then shuts down in order (see
// coordinator.Server.Shutdown) and closes the store last.
func runCoordinator(ctx context.Context, cfg coordinatorConfig, logOut io.Writer) error {
	log, err := cfg.Log.logger(logOut)
	if err != nil {
		return err
	}
	sc, err := startCoordinator(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("coordinator started", "grpc_addr", sc.GRPCAddr(), "metrics_addr", sc.MetricsAddr(),
		"db", redactDB(cfg.dbURL()), "data_dir", cfg.DataDir, "public_key", auth.PublicKeyFileName)

	serveErr := serveUntil(ctx, log, map[string]<-chan error{"server": sc.Err()})
	sc.shutdown(ctx)
	log.Info("coordinator stopped")
	return serveErr
}

// servingCoordinator is a coordinator.Server with the store and the issuer
// it was started on: rccd coordinator and rccd dev run one.
type servingCoordinator struct {
	*coordinator.Server
	log    *slog.Logger
	st     store.Store
	issuer *auth.Issuer
}

// startCoordinator opens the key and the store and serves a coordinator
// configured by cfg.
func startCoordinator(ctx context.Context, cfg coordinatorConfig, log *slog.Logger) (*servingCoordinator, error) {
	key, err := auth.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	issuer, err := auth.NewIssuer(key, auth.Options{})
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg.dbURL(), log)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Uploads' assets wait here, beside the database rather than in a
	// temporary directory that may be memory.
	spool := filepath.Join(cfg.DataDir, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		st.Close()
		return nil, fmt.Errorf("create the upload spool directory: %w", err)
	}
	coord, err := coordinator.New(coordinator.Config{
		Store: st, Issuer: issuer, Logger: log, Registerer: reg, Version: buildinfo.Read().Short(),
		HeartbeatInterval: cfg.HeartbeatInterval, MissedHeartbeats: cfg.MissedHeartbeats, Retention: cfg.Retention,
		LogEntries: cfg.LogEntries, SpoolDir: spool,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	srv, err := coord.Serve(ctx, coordinator.ServeConfig{GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.MetricsAddr, Gatherer: reg})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &servingCoordinator{Server: srv, log: log, st: st, issuer: issuer}, nil
}

// shutdown stops the server within coordinator.DefaultShutdownTimeout and
// closes the store.
func (sc *servingCoordinator) shutdown(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), coordinator.DefaultShutdownTimeout)
	defer cancel()
	if err := sc.Shutdown(sctx); err != nil {
		sc.log.Warn("shutdown", "err", err)
	}
	sc.st.Close()
}

// openStore opens the database, waiting for it while it is unreachable (a
// coordinator may start before its database), until ctx ends.
func openStore(ctx context.Context, url string, log *slog.Logger) (store.Store, error) {
	for {
		st, err := store.Open(ctx, url)
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			return st, err
		}
		log.Warn("database unreachable, retrying in 2 s", "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(2 * time.Second):
		}
	}
}

// redactDB hides a password in a database URL.
func redactDB(u string) string {
	at := strings.LastIndex(u, "@")
	s := strings.Index(u, "://")
	if at < 0 || s < 0 {
		return u
	}
	if c := strings.Index(u[s+3:at], ":"); c >= 0 {
		return u[:s+3+c] + ":REDACTED" + u[at:]
	}
	return u
}
