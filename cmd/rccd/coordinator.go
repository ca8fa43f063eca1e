package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	// AuditLog is the file the audit trail is appended to, as JSON lines;
	// the main log when empty.
	AuditLog string
	// IDPIssuer, IDPAudience and IDPJWKS name an identity provider whose
	// tokens sign players in: its "iss", the "aud" its tokens must carry
	// for RCC, and its JWKS (a file or an https:// URL).
	IDPIssuer, IDPAudience, IDPJWKS string
	TLS                             listenTLS
	Log                             logOptions
}

// dbURL is the --db value, defaulting to SQLite in the data directory.
func (c coordinatorConfig) dbURL() string {
	return databaseURL(c.DB, c.DataDir)
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
	if (c.IDPIssuer != "" || c.IDPAudience != "" || c.IDPJWKS != "") && (c.IDPIssuer == "" || c.IDPAudience == "" || c.IDPJWKS == "") {
		return errors.New("--idp-issuer, --idp-audience and --idp-jwks go together")
	}
	if c.LogEntries < 1 || c.LogEntries > 1_000_000 {
		return fmt.Errorf("--log-entries %d: want 1 to 1000000", c.LogEntries)
	}
	return c.TLS.check("--grpc-addr", c.GRPCAddr)
}

func newCoordinatorCmd() *cobra.Command {
	cfg := coordinatorConfig{}
	cmd := &cobra.Command{
		Use:   "coordinator",
		Short: "Run the coordinator: the gRPC control plane",
		Long: `Run the coordinator: the gRPC control plane over PostgreSQL or SQLite.

The signing key is created in --data-dir on first start (signing.key, mode
0600); make an operator token with "rccd token create --role admin".
Several coordinators on one PostgreSQL database share one signing key:
copy signing.key into each one's --data-dir.

Off loopback, the gRPC server needs a certificate (--tls-cert, --tls-key;
"rccd cert dev" makes a local CA and one): a plaintext --grpc-addr that is
not loopback is refused unless --insecure says so. /metrics and /healthz
stay plain HTTP (they carry no secret).`,
		Args: cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCoordinator(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", "", "database: postgres://… or sqlite://PATH (default sqlite://DATA-DIR/rcc.db)")
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:7400", "gRPC listen address (loopback unless set: \":7400\" for every interface)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "127.0.0.1:9091", "HTTP address of /metrics and /healthz, loopback unless set (empty: none)")
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory of the signing key (and of the default SQLite database)")
	f.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", coordinator.DefaultHeartbeatInterval, "how often executors heartbeat")
	f.IntVar(&cfg.MissedHeartbeats, "missed-heartbeats", coordinator.DefaultMissedHeartbeats, "missed heartbeats after which an executor is lost")
	f.DurationVar(&cfg.Retention, "retention", coordinator.DefaultRetention, "how long stopped, failed and lost instances are kept (negative: forever)")
	f.IntVar(&cfg.LogEntries, "log-entries", coordinator.DefaultLogEntries, "how many entries of each instance's log (game output, lifecycle events) are kept")
	cfg.TLS.addFlags(f, "the gRPC server", true)
	f.StringVar(&cfg.IDPIssuer, "idp-issuer", "", "an identity provider whose tokens sign players in: its issuer (the tokens' \"iss\")")
	f.StringVar(&cfg.IDPAudience, "idp-audience", "", "the audience (\"aud\") the identity provider's tokens must carry")
	f.StringVar(&cfg.IDPJWKS, "idp-jwks", "", "the identity provider's JWKS: a file or an https:// URL (fetched again on an unknown key id, at most once a minute)")
	f.StringVar(&cfg.AuditLog, "audit-log", "", "file the audit trail (admin calls, refused authentications, executor registrations) is appended to as JSON lines (empty: the main log)")
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
	// auditFile is the --audit-log file, closed after the store.
	auditFile *os.File
}

// startCoordinator opens the key and the store and serves a coordinator
// configured by cfg.
func startCoordinator(ctx context.Context, cfg coordinatorConfig, log *slog.Logger) (*servingCoordinator, error) {
	ks, err := auth.LoadKeySet(cfg.DataDir, time.Now())
	if err != nil {
		return nil, err
	}
	issuer := auth.NewKeySetIssuer(ks, auth.Options{})
	trusted, err := trustedIssuers(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	auditLog, auditFile, err := openAuditLog(cfg.AuditLog, log)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg.dbURL(), log)
	if err != nil {
		closeFile(auditFile)
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
		LogEntries: cfg.LogEntries, AuditLogger: auditLog, KeyDir: cfg.DataDir, SpoolDir: spool,
		TrustedIssuers: trusted,
	})
	if err != nil {
		st.Close()
		closeFile(auditFile)
		return nil, err
	}
	opts, err := cfg.TLS.grpcOptions()
	if err != nil {
		st.Close()
		return nil, err
	}
	if cfg.TLS.ClientCA != "" {
		opts = append(opts, coordinator.ExecutorCertificates()...)
	}
	srv, err := coord.Serve(ctx, coordinator.ServeConfig{GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.MetricsAddr, Gatherer: reg, ServerOptions: opts})
	if err != nil {
		st.Close()
		closeFile(auditFile)
		return nil, err
	}
	return &servingCoordinator{Server: srv, log: log, st: st, issuer: issuer, auditFile: auditFile}, nil
}

// idpRefreshInterval is the least time between two fetches of the identity
// provider's JWKS prompted by unknown key ids.
const idpRefreshInterval = time.Minute

// trustedIssuers returns the verifier of the configured identity provider,
// none when there is none.
func trustedIssuers(ctx context.Context, cfg coordinatorConfig, log *slog.Logger) ([]*auth.Verifier, error) {
	if cfg.IDPIssuer == "" {
		return nil, nil
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	keys, err := auth.LoadJWKS(ctx, cfg.IDPJWKS, hc)
	if err != nil {
		return nil, fmt.Errorf("--idp-jwks: %w", err)
	}
	v, err := auth.NewExternalVerifier(keys, auth.Options{Issuer: cfg.IDPIssuer, Audience: cfg.IDPAudience})
	if err != nil {
		return nil, err
	}
	bg := context.WithoutCancel(ctx)
	v.RefreshOnUnknownKey(idpRefreshInterval, func() (map[string]crypto.PublicKey, error) {
		fctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		keys, err := auth.LoadJWKS(fctx, cfg.IDPJWKS, hc)
		if err != nil {
			log.Warn("could not fetch the identity provider's keys", "jwks", cfg.IDPJWKS, "err", err)
		}
		return keys, err
	})
	log.Info("players sign in with an identity provider", "issuer", cfg.IDPIssuer, "audience", cfg.IDPAudience, "keys", len(keys))
	return []*auth.Verifier{v}, nil
}

// openAuditLog returns the audit trail's logger: JSON lines appended to
// path (created with mode 0600), or log with log=audit when path is empty.
func openAuditLog(path string, log *slog.Logger) (*slog.Logger, *os.File, error) {
	if path == "" {
		return log.With("log", "audit"), nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open the audit log: %w", err)
	}
	return slog.New(slog.NewJSONHandler(f, nil)), f, nil
}

func closeFile(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
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
	closeFile(sc.auditFile)
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
