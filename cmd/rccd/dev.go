package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/agent"
	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
)

// devConfig is the configuration of rccd dev.
type devConfig struct {
	DataDir                string
	GRPCAddr               string
	WSAddr                 string
	MetricsAddr            string
	CoordinatorMetricsAddr string
	Name                   string
	NoCredentials          bool
	Log                    logOptions
}

// adminTokenFile is where rccd dev writes its admin token, in the data dir.
const adminTokenFile = "admin.token"

func newDevCmd() *cobra.Command {
	cfg := devConfig{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a coordinator and one executor in one process, on SQLite, for a laptop",
		Long: `Run a coordinator and one executor in one process, on an embedded SQLite
database in --data-dir, listening on loopback. No flag is needed.

It prints its addresses, writes an admin token to DATA-DIR/admin.token and
the address and token to rccctl's credentials file
($XDG_CONFIG_HOME/rcc/credentials.json or ~/.config/rcc/credentials.json),
so that rccctl works without flags:

  rccctl game deploy build/games/arena.wasm --name arena
  rccctl instance spawn arena
  rccctl join arena --player you
`,
		Args: cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory of the SQLite database, the signing key, the admin token and the caches")
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:7400", "coordinator gRPC listen address")
	f.StringVar(&cfg.WSAddr, "ws-addr", "127.0.0.1:7450", "executor WebSocket listen address (players)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "127.0.0.1:9090", "executor /metrics address (empty: none)")
	f.StringVar(&cfg.CoordinatorMetricsAddr, "coordinator-metrics-addr", "127.0.0.1:9091", "coordinator /metrics and /healthz address (empty: none)")
	f.StringVar(&cfg.Name, "name", "dev", "the executor's name")
	f.BoolVar(&cfg.NoCredentials, "no-credentials", false, "do not write rccctl's credentials file")
	return serveCmd(cmd, &cfg.Log, func() error {
		if cfg.DataDir == "" {
			return errors.New("--data-dir is empty")
		}
		return nil
	})
}

// runDev runs both halves until ctx ends, then stops the executor (its
// instances reported to the coordinator) before the coordinator.
func runDev(ctx context.Context, cfg devConfig, out, logOut io.Writer) error {
	log, err := cfg.Log.logger(logOut)
	if err != nil {
		return err
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.release()
	ccfg := coordinatorConfig{
		DataDir: cfg.DataDir, GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.CoordinatorMetricsAddr,
		HeartbeatInterval: coordinator.DefaultHeartbeatInterval, MissedHeartbeats: coordinator.DefaultMissedHeartbeats,
		Retention: coordinator.DefaultRetention, LogEntries: coordinator.DefaultLogEntries, Log: cfg.Log,
	}
	sc, err := startCoordinator(ctx, ccfg, log.With("component", "coordinator"))
	if err != nil {
		return err
	}
	defer sc.shutdown(ctx)

	admin, _, err := sc.issuer.RoleToken(auth.RoleAdmin, "dev-admin@"+hostname(), auth.DefaultAdminTTL)
	if err != nil {
		return err
	}
	tokenPath := filepath.Join(cfg.DataDir, adminTokenFile)
	if err := writeSecret(tokenPath, string(admin)+"\n"); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	credsPath := ""
	if !cfg.NoCredentials {
		if credsPath, err = client.DefaultCredentialsPath(); err == nil {
			err = client.SaveCredentials(credsPath, client.Credentials{Addr: sc.GRPCAddr(), Token: client.Token(admin)})
		}
		if err != nil {
			// rccctl can still be given --addr and --token.
			log.Warn("could not write rccctl's credentials", "err", err)
			credsPath = ""
		}
	}

	execTok, _, err := sc.issuer.RoleToken(auth.RoleExecutor, cfg.Name, auth.DefaultExecutorTTL)
	if err != nil {
		return err
	}
	creds := auth.NewRenewableCredentials(execTok, false)
	c, err := client.Dial(sc.GRPCAddr(), "", append(agent.DialOptions(), grpc.WithPerRPCCredentials(creds))...)
	if err != nil {
		return err
	}
	defer c.Close()
	ecfg := executorConfig{Coordinator: sc.GRPCAddr(), Name: cfg.Name, WSAddr: cfg.WSAddr,
		MetricsAddr: cfg.MetricsAddr, DataDir: cfg.DataDir, Log: cfg.Log, StartImages: true}
	se, err := startExecutor(ctx, ecfg, c, renewal{creds: creds}, log.With("component", "executor"))
	if err != nil {
		return err
	}

	p := func(k, v string) { fmt.Fprintf(out, "  %-22s %s\n", k, v) }
	fmt.Fprintln(out, "rccd dev: a coordinator and one executor are running")
	p("coordinator (gRPC)", sc.GRPCAddr())
	p("players (WebSocket)", se.publicURL)
	if se.MetricsAddr() != "" {
		p("executor metrics", "http://"+se.MetricsAddr()+"/metrics")
	}
	if sc.MetricsAddr() != "" {
		p("coordinator metrics", "http://"+sc.MetricsAddr()+"/metrics")
		p("health", "http://"+sc.MetricsAddr()+"/healthz")
	}
	p("database", ccfg.dbURL())
	p("admin token", tokenPath)
	if credsPath != "" {
		p("rccctl credentials", credsPath)
	}
	fmt.Fprintln(out, "try: rccctl game deploy build/games/arena.wasm --name arena && rccctl join arena --player you")
	log.Info("rccd dev started", "grpc_addr", sc.GRPCAddr(), "ws_url", se.publicURL, "metrics_addr", se.MetricsAddr(),
		"coordinator_metrics_addr", sc.MetricsAddr(), "data_dir", cfg.DataDir)

	serveErr := serveUntil(ctx, log, map[string]<-chan error{"executor": se.Err(), "coordinator": sc.Err()})
	se.shutdown(ctx, 0)
	return serveErr
}

// writeSecret writes a file readable by its owner alone.
func writeSecret(path, s string) error {
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}
