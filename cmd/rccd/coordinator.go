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

	"github.com/rcc-games/rcc/pkg/cmdline"
	"google.golang.org/grpc"

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
0600); make an operator token with "rccd token create --role admin".
Every flag has an environment twin, shown in brackets; flags win.`,
		Args: cmdline.Args(),
		PreRunE: configChecked(func(cmd *cobra.Command) error {
			if err := applyEnv(cmd, os.LookupEnv); err != nil {
				return err
			}
			return cfg.validate()
		}),
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
	sc, err := startCoordinator(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("coordinator started", "grpc_addr", sc.grpcAddr, "metrics_addr", sc.metricsAddr,
		"db", redactDB(cfg.dbURL()), "data_dir", cfg.DataDir, "public_key", auth.PublicKeyFileName)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-sc.errc:
		log.Error("server failed", "err", serveErr)
	}
	sc.shutdown()
	log.Info("coordinator stopped")
	return serveErr
}

// servingCoordinator is a coordinator serving gRPC and, optionally, its
// metrics: rccd coordinator and rccd dev run one.
type servingCoordinator struct {
	log                   *slog.Logger
	st                    store.Store
	issuer                *auth.Issuer
	coord                 *coordinator.Coordinator
	srv                   *grpc.Server
	httpSrv               *http.Server
	grpcAddr, metricsAddr string
	errc                  chan error
	stopRun               context.CancelFunc
	runDone               chan struct{}
}

// startCoordinator opens the key and the store and starts serving.
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
	sc := &servingCoordinator{log: log, st: st, issuer: issuer, errc: make(chan error, 2), runDone: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	coord, err := coordinator.New(coordinator.Config{
		Store: st, Issuer: issuer, Logger: log, Registerer: reg,
		HeartbeatInterval: cfg.HeartbeatInterval, MissedHeartbeats: cfg.MissedHeartbeats, Retention: cfg.Retention,
		LogEntries: cfg.LogEntries,
	})
	if err != nil {
		return nil, err
	}
	sc.coord = coord
	if sc.srv, err = coord.NewServer(); err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --grpc-addr: %w", err)
	}
	var httpLis net.Listener
	if cfg.MetricsAddr != "" {
		if httpLis, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			lis.Close()
			return nil, fmt.Errorf("listen on --metrics-addr: %w", err)
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
		sc.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	}
	ok = true

	runCtx, stopRun := context.WithCancel(context.Background())
	sc.stopRun = stopRun
	go func() { defer close(sc.runDone); _ = coord.Run(runCtx) }()
	srv := sc.srv
	go func() { sc.errc <- srv.Serve(lis) }()
	sc.grpcAddr = lis.Addr().String()
	if sc.httpSrv != nil {
		sc.metricsAddr = httpLis.Addr().String()
		go func() {
			if err := sc.httpSrv.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
				sc.errc <- err
			}
		}()
	}
	return sc, nil
}

// shutdown stops the background work (so that no executor is declared
// lost while it cannot reach this coordinator), ends the assignment and
// watch streams at once (executors reconnect, to another coordinator when
// there are several), stops taking calls, lets the running ones finish
// (5 s at most) and closes the store.
func (sc *servingCoordinator) shutdown() {
	sc.stopRun()
	<-sc.runDone
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stopped := make(chan struct{})
	sc.coord.CloseStreams()
	go func() { sc.srv.GracefulStop(); close(stopped) }()
	if sc.httpSrv != nil {
		_ = sc.httpSrv.Shutdown(shutdown)
	}
	select {
	case <-stopped:
	case <-shutdown.Done():
		sc.log.Warn("calls still running after 5 s: closing them")
		sc.srv.Stop()
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
