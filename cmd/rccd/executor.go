package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/agent"
	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/buildinfo"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// executorConfig is the configuration of rccd executor.
type executorConfig struct {
	Coordinator  string
	Token        string
	TokenFile    string
	Name         string
	WSAddr       string
	PublicURL    string
	MetricsAddr  string
	DataDir      string
	Capacity     uint32
	Labels       []string
	DrainTimeout time.Duration
	// DrainMigrate moves the instances to other executors on shutdown.
	DrainMigrate bool
	// ReconnectGrace is how long a disconnected player keeps the avatar.
	ReconnectGrace time.Duration
	// CheckpointInputsEvery is how often the frames run since the last
	// shipment of a checkpointed instance go to the coordinator.
	CheckpointInputsEvery time.Duration
	// BlobCacheMiB and CodeCacheMiB bound the module and assets cache on
	// disk and the compiled-code cache (0: the packages' defaults,
	// negative: no bound).
	BlobCacheMiB int64
	CodeCacheMiB int64
	// StartImages starts instances from their module's image (the state
	// after _initialize, mapped copy-on-write) where it applies.
	StartImages bool
	// SocketWriteBuffer is the kernel send buffer of each player's
	// connection, in bytes (0: the kernel's, which grows to megabytes).
	SocketWriteBuffer int
	// IOUring sends the players' plaintext connections' writes through
	// one io_uring in batches (executor.ServeConfig.IOUring).
	IOUring bool
	// TLS is the players' endpoint's (--insecure covers the coordinator
	// connection too); CoordTLS the connection to the coordinator.
	TLS      listenTLS
	CoordTLS coordinatorTLS
	Log      logOptions
}

func (c executorConfig) validate() error {
	switch {
	case c.Coordinator == "":
		return errors.New("--coordinator is empty")
	case c.Token == "" && c.TokenFile == "":
		return errors.New("an executor token is required: --token, --token-file, RCC_EXECUTOR_TOKEN or RCC_EXECUTOR_TOKEN_FILE (make one with: rccd token create --role executor --subject NAME)")
	case c.Name == "":
		return errors.New("--name is empty")
	case c.WSAddr == "":
		return errors.New("--ws-addr is empty")
	case c.DataDir == "":
		return errors.New("--data-dir is empty")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return fmt.Errorf("--public-url %q: want ws://HOST:PORT or wss://HOST[:PORT]", c.PublicURL)
		}
	}
	if _, err := parseLabelList(c.Labels); err != nil {
		return err
	}
	if err := c.TLS.check("--ws-addr", c.WSAddr); err != nil {
		return err
	}
	if c.PublicURL != "" && c.TLS.Cert != "" && !strings.HasPrefix(c.PublicURL, "wss://") {
		return fmt.Errorf("--public-url %q: the players' endpoint serves TLS (--tls-cert): want wss://", c.PublicURL)
	}
	return c.CoordTLS.check(c.Coordinator, c.TLS.Insecure)
}

// token is the executor token, from --token or --token-file.
func (c executorConfig) token() (auth.Token, error) {
	if c.Token != "" {
		return auth.Token(strings.TrimSpace(c.Token)), nil
	}
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("--token-file %s is empty", c.TokenFile)
	}
	return auth.Token(tok), nil
}

func parseLabelList(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

func hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

func newExecutorCmd() *cobra.Command {
	cfg := executorConfig{}
	cmd := &cobra.Command{
		Use:   "executor",
		Short: "Run an executor: game instances behind WebSockets, driven by a coordinator",
		Long: `Run an executor: it registers with the coordinator under --name, runs the
instances the coordinator assigns to it and serves their players over
WebSocket on --ws-addr (players are given --public-url).

The token is an executor token whose subject is the executor's name:
  rccd token create --role executor --subject NAME
Modules fetched from the coordinator and their compiled code are cached in
--data-dir.

Off loopback, the players' endpoint needs a certificate (--tls-cert,
--tls-key: players get wss:// URLs) and the coordinator is reached over TLS
(--coordinator-ca, or --coordinator-tls for the system roots); plaintext to
or from an address that is not loopback is refused unless --insecure.

On SIGINT or SIGTERM the executor drains (the coordinator places nothing
more on it): with --drain-migrate (the default) the coordinator first moves
its running instances to other executors, their players with them; what
cannot move runs on for up to --drain-timeout, then is stopped (players are
told: executor_shutdown); a second signal skips the wait.`,
		Args: cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExecutor(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Coordinator, "coordinator", client.DefaultAddr, "coordinator gRPC address host:port; several, comma-separated, for coordinators on one database (or one DNS name with several addresses)")
	f.StringVar(&cfg.Token, "token", "", "executor token (subject: the executor's name)")
	f.StringVar(&cfg.TokenFile, "token-file", "", "file holding the executor token")
	f.StringVar(&cfg.Name, "name", hostname(), "the executor's stable name")
	f.StringVar(&cfg.WSAddr, "ws-addr", "127.0.0.1:7450", "WebSocket listen address of the players' endpoint (loopback unless set: \":7450\" for every interface)")
	f.StringVar(&cfg.PublicURL, "public-url", "", "base WebSocket URL players are given (default ws://HOST:PORT of --ws-addr, HOST the host name when it listens on every interface)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "127.0.0.1:9090", "HTTP address of /metrics and /healthz, loopback unless set (empty: none)")
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory of the module and compiled-code caches (DATA-DIR/executor)")
	f.Uint32Var(&cfg.Capacity, "capacity", 0, "most instances the coordinator places here (0: no limit)")
	f.StringArrayVar(&cfg.Labels, "label", nil, "executor label key=value (repeatable)")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", time.Minute, "on shutdown, how long to let instances end by themselves before stopping them")
	f.BoolVar(&cfg.IOUring, "io-uring", false, "send the players' writes through one io_uring, the writes waiting at once as one batch of sends (Linux, experimental; not with TLS, whose connections keep their own writes)")
	f.IntVar(&cfg.SocketWriteBuffer, "socket-write-buffer", 0, "kernel send buffer of each player's connection in bytes, bounding the memory a stalled player holds and how soon the executor drops states for it (0: the kernel's default)")
	f.BoolVar(&cfg.DrainMigrate, "drain-migrate", true, "on shutdown, first move the running instances to other executors, their players with them (live migration)")
	f.DurationVar(&cfg.ReconnectGrace, "reconnect-grace", executor.DefaultReconnectGrace, "how long a disconnected player keeps the avatar before the game gets the leave (negative: at once)")
	f.DurationVar(&cfg.CheckpointInputsEvery, "checkpoint-inputs-every", executor.DefaultCheckpointInputsEvery, "how often a checkpointed instance's latest frames (joins, leaves, inputs) are shipped to the coordinator: at most that much play is lost with the executor")
	f.Int64Var(&cfg.BlobCacheMiB, "blob-cache-mib", agent.DefaultBlobCacheBytes>>20, "most MiB of modules and assets kept in DATA-DIR/executor; the least recently used that no instance uses go first (negative: no bound)")
	f.Int64Var(&cfg.CodeCacheMiB, "code-cache-mib", wasmhost.DefaultCodeCacheBytes>>20, "most MiB of compiled modules kept, in memory and in DATA-DIR/executor/compiled; the least recently used that no instance runs go first (negative: no bound)")
	f.BoolVar(&cfg.StartImages, "start-images", true, "start instances from their module's image taken after _initialize, mapped copy-on-write (false: every instance runs _initialize)")
	cfg.TLS.addFlags(f, "the players' endpoint (wss://)", false)
	cfg.CoordTLS.addFlags(f)
	setEnvName(cmd, "token", "RCC_EXECUTOR_TOKEN")
	setEnvName(cmd, "token-file", "RCC_EXECUTOR_TOKEN_FILE")
	return serveCmd(cmd, &cfg.Log, func() error {
		if _, ok := os.LookupEnv("RCC_TOKEN"); ok && cfg.Token == "" && cfg.TokenFile == "" {
			return errors.New("RCC_TOKEN is rccctl's token, not the executor's: give the executor token as --token, --token-file, RCC_EXECUTOR_TOKEN or RCC_EXECUTOR_TOKEN_FILE")
		}
		return cfg.validate()
	})
}

// runExecutor serves until ctx ends, then shuts down in order: drain, stop
// the instances (their players are told) and report them, close the
// servers, release the sandbox.
func runExecutor(ctx context.Context, cfg executorConfig, logOut io.Writer) error {
	log, err := cfg.Log.logger(logOut)
	if err != nil {
		return err
	}
	tok, err := cfg.token()
	if err != nil {
		return err
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.release()
	ctls, err := cfg.CoordTLS.config()
	if err != nil {
		return err
	}
	creds := auth.NewRenewableCredentials(tok, ctls != nil)
	c, err := client.DialConfig(client.Target{Addr: cfg.Coordinator, TLS: ctls, Options: append(agent.DialOptions(), grpc.WithPerRPCCredentials(creds))})
	if err != nil {
		return err
	}
	defer c.Close()
	onRenew := func(t auth.Token) {
		// The next start reads the renewed token.
		if cfg.TokenFile != "" {
			if err := writeSecret(cfg.TokenFile, string(t)+"\n"); err != nil {
				log.Warn("could not write the renewed token back", "token_file", cfg.TokenFile, "err", err)
			}
		}
	}
	se, err := startExecutor(ctx, cfg, c, renewal{creds, onRenew}, log)
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped before the coordinator could be reached")
			return nil
		}
		return err
	}
	log.Info("executor started", "executor", se.agent.ID(), "name", cfg.Name, "coordinator", cfg.Coordinator,
		"ws_addr", se.WSAddr(), "public_url", se.publicURL, "metrics_addr", se.MetricsAddr(), "data_dir", cfg.DataDir, "io_uring", se.IOUring())
	serveErr := serveUntil(ctx, log, map[string]<-chan error{"executor": se.Err()})
	se.shutdown(ctx, cfg.DrainTimeout)
	log.Info("executor stopped")
	return serveErr
}

// servingExecutor is an executor.Server driven by an agent: rccd executor
// and rccd dev run one.
type servingExecutor struct {
	*executor.Server
	log       *slog.Logger
	agent     *agent.Agent
	publicURL string
}

// publicURLOf is the players' base URL for an executor listening on addr:
// wss:// when it serves TLS.
func publicURLOf(addr string, tls bool) string {
	scheme := "ws://"
	if tls {
		scheme = "wss://"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = hostname()
	}
	return scheme + net.JoinHostPort(host, port)
}

// startExecutor listens, registers with the coordinator (waiting for it
// while it is unreachable) and serves.
func startExecutor(ctx context.Context, cfg executorConfig, c *client.Client, rn renewal, log *slog.Logger) (*servingExecutor, error) {
	labels, err := parseLabelList(cfg.Labels)
	if err != nil {
		return nil, err
	}
	wsTLS, err := cfg.TLS.config()
	if err != nil {
		return nil, err
	}
	srv, err := executor.Listen(executor.ServeConfig{WSAddr: cfg.WSAddr, MetricsAddr: cfg.MetricsAddr, TLS: wsTLS, SocketWriteBuffer: cfg.SocketWriteBuffer, IOUring: cfg.IOUring})
	if err != nil {
		return nil, err
	}
	se := &servingExecutor{Server: srv, log: log, publicURL: cfg.PublicURL}
	if se.publicURL == "" {
		se.publicURL = publicURLOf(srv.WSAddr(), srv.TLS())
	}
	dir := filepath.Join(cfg.DataDir, "executor")
	ag, err := agent.New(ctx, agent.Config{
		Client: c, Name: cfg.Name, WSURL: se.publicURL, Capacity: cfg.Capacity, Labels: labels, Version: buildinfo.Read().Short(),
		DataDir: dir, Logger: log, BlobCacheBytes: mib(cfg.BlobCacheMiB), Credentials: rn.creds, OnTokenRenewed: rn.onRenew, MigrateOnDrain: cfg.DrainMigrate,
		Executor: executor.Config{Logger: log, ReconnectGrace: cfg.ReconnectGrace, CheckpointInputsEvery: cfg.CheckpointInputsEvery,
			Sandbox: wasmhost.Config{CacheDir: filepath.Join(dir, "compiled"), CodeCacheBytes: mib(cfg.CodeCacheMiB),
				NoImages: !cfg.StartImages}},
	})
	if err != nil {
		_ = srv.Shutdown(ctx)
		return nil, err
	}
	se.agent = ag
	srv.Serve(ctx, ag.Executor(), ag.Run)
	return se, nil
}

// mib is n MiB in bytes; 0 and negative values keep their meaning
// (default, no bound).
func mib(n int64) int64 {
	if n <= 0 {
		return n
	}
	return n << 20
}

// shutdown drains for up to drainTimeout (a SIGINT or SIGTERM cuts the
// wait short), then shuts the server down (executor.Server.Shutdown)
// within executor.DefaultShutdownTimeout.
func (se *servingExecutor) shutdown(ctx context.Context, drainTimeout time.Duration) {
	if drainTimeout > 0 {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			select {
			case <-sig:
				se.log.Warn("second signal: not waiting for the instances")
				cancel()
			case <-dctx.Done():
			}
		}()
		se.log.Info("draining", "timeout", drainTimeout.String())
		if err := se.agent.Drain(dctx); err != nil {
			se.log.Warn("drain cut short", "err", err)
		}
		signal.Stop(sig)
		cancel()
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), executor.DefaultShutdownTimeout)
	defer cancel()
	if err := se.Shutdown(sctx); err != nil {
		se.log.Warn("shutdown", "err", err)
	}
}

// renewal is how an executor renews its token: the credentials its client
// sends, and what to do with each new token.
type renewal struct {
	creds   *auth.RenewableCredentials
	onRenew func(auth.Token)
}
