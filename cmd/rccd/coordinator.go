package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

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
	return nil
}

func newCoordinatorCmd() *cobra.Command {
	cfg := coordinatorConfig{}
	cmd := &cobra.Command{
		Use:   "coordinator",
		Short: "Run the coordinator: the gRPC control plane",
		Long: `Run the coordinator: the gRPC control plane over PostgreSQL or SQLite.

The signing key is created in --data-dir on first start (signing.key, mode
0600); make an operator token with "rccd token create --role admin".
Every flag has an environment twin, shown in brackets; flags win.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, os.LookupEnv); err != nil {
				return err
			}
			return cfg.validate()
		},
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
	cfg.Log.addFlags(f)
	withEnvHelp(cmd)
	return cmd
}

// runCoordinator serves until ctx ends, then shuts down in order: stop
// taking calls, finish the running ones (5 s at most), stop the background
// work, close the store.
func runCoordinator(ctx context.Context, cfg coordinatorConfig, logOut io.Writer) error {
	log, err := cfg.Log.logger(logOut)
	if err != nil {
		return err
	}
	key, err := auth.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return err
	}
	issuer, err := auth.NewIssuer(key, auth.Options{})
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.dbURL(), log)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	coord, err := coordinator.New(coordinator.Config{
		Store: st, Issuer: issuer, Logger: log, Registerer: reg,
		HeartbeatInterval: cfg.HeartbeatInterval, MissedHeartbeats: cfg.MissedHeartbeats, Retention: cfg.Retention,
	})
	if err != nil {
		return err
	}
	srv, err := coord.NewServer()
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen on --grpc-addr: %w", err)
	}
	var httpSrv *http.Server
	var httpLis net.Listener
	if cfg.MetricsAddr != "" {
		if httpLis, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			lis.Close()
			return fmt.Errorf("listen on --metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
			if err := st.Ping(r.Context()); err != nil {
				http.Error(w, "store unavailable", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	}

	runCtx, stopRun := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = coord.Run(runCtx) }()
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(lis) }()
	metricsAt := ""
	if httpSrv != nil {
		metricsAt = httpLis.Addr().String()
		go func() {
			if err := httpSrv.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	log.Info("coordinator started", "grpc_addr", lis.Addr().String(), "metrics_addr", metricsAt,
		"db", redactDB(cfg.dbURL()), "data_dir", cfg.DataDir, "public_key", auth.PublicKeyFileName)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
		log.Error("server failed", "err", serveErr)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	if httpSrv != nil {
		_ = httpSrv.Shutdown(shutdown)
	}
	select {
	case <-stopped:
	case <-shutdown.Done():
		log.Warn("calls still running after 5 s: closing them")
		srv.Stop()
	}
	stopRun()
	<-runDone
	log.Info("coordinator stopped")
	return serveErr
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
