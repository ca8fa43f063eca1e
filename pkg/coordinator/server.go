package coordinator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc"
)

// ServeConfig says where a coordinator serves.
type ServeConfig struct {
	// GRPCAddr is the gRPC listen address, host:port (port 0 picks one).
	GRPCAddr string
	// MetricsAddr is the HTTP address of /metrics, /healthz and the
	// token keys' JWKS (JWKSPath); none when empty.
	MetricsAddr string
	// Gatherer is what /metrics serves: the registry given to
	// Config.Registerer, with whatever else the process collects. An empty
	// registry when nil.
	Gatherer prometheus.Gatherer
	// ServerOptions are added to the gRPC server's options.
	ServerOptions []grpc.ServerOption
	// MaxConnections is how many gRPC connections are held at once
	// (DefaultMaxConnections when 0); more wait to be accepted.
	MaxConnections int
}

// Server is a coordinator serving gRPC (and, optionally, its metrics) with
// its background work running. Start one with Serve, stop it with
// Shutdown or Close.
type Server struct {
	c                     *Coordinator
	grpc                  *grpc.Server
	http                  *http.Server
	grpcAddr, metricsAddr string
	errc                  chan error
	stopRun               context.CancelFunc
	runDone               chan struct{}
}

// Serve listens on cfg's addresses, serves the coordinator's gRPC services
// (NewServer) and, when cfg.MetricsAddr is set, /metrics and /healthz
// (SERVING while the store answers), and starts Run. It returns once
// listening; a server that fails later is reported on Err. The store stays
// the caller's: close it after Shutdown.
func (c *Coordinator) Serve(ctx context.Context, cfg ServeConfig) (*Server, error) {
	srv, err := c.NewServer(cfg.ServerOptions...)
	if err != nil {
		return nil, fmt.Errorf("serve coordinator: %w", err)
	}
	if err := c.LoadRevocations(ctx); err != nil {
		return nil, fmt.Errorf("serve coordinator: %w", err)
	}
	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on the gRPC address: %w", err)
	}
	maxConns := cfg.MaxConnections
	if maxConns <= 0 {
		maxConns = DefaultMaxConnections
	}
	lis = netutil.LimitListener(lis, maxConns)
	s := &Server{c: c, grpc: srv, grpcAddr: lis.Addr().String(), errc: make(chan error, 2), runDone: make(chan struct{})}
	var httpLis net.Listener
	if cfg.MetricsAddr != "" {
		if httpLis, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			lis.Close()
			return nil, fmt.Errorf("listen on the metrics address: %w", err)
		}
		g := cfg.Gatherer
		if g == nil {
			g = prometheus.NewRegistry()
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET "+JWKSPath, c.serveJWKS)
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
			if err := c.st.Ping(r.Context()); err != nil {
				http.Error(w, "store unavailable", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		s.metricsAddr = httpLis.Addr().String()
	}

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	s.stopRun = stopRun
	go func() { defer close(s.runDone); _ = c.Run(runCtx) }()
	go func() {
		if err := srv.Serve(lis); err != nil {
			s.errc <- fmt.Errorf("gRPC: %w", err)
		}
	}()
	if s.http != nil {
		go func() {
			if err := s.http.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
				s.errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}
	return s, nil
}

// GRPCAddr is the address the gRPC server listens on.
func (s *Server) GRPCAddr() string { return s.grpcAddr }

// MetricsAddr is the address of /metrics and /healthz, "" when none.
func (s *Server) MetricsAddr() string { return s.metricsAddr }

// Err reports a server that stopped serving by itself.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops in order: the background work (so that no executor is
// declared lost while it cannot reach this coordinator), then the
// assignment and watch streams at once (executors reconnect, to another
// coordinator when there are several), then it stops taking calls and lets
// the running ones finish until ctx ends, when it closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopRun()
	<-s.runDone
	s.c.CloseStreams()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	select {
	case <-stopped:
	case <-ctx.Done():
		s.c.log.Warn("calls still running at the shutdown deadline: closing them")
		s.grpc.Stop()
		<-stopped
		err = fmt.Errorf("shut down coordinator: %w", ctx.Err())
	}
	return err
}

// Close stops at once: the background work, then every call and
// connection.
func (s *Server) Close() {
	s.stopRun()
	<-s.runDone
	s.c.CloseStreams()
	s.grpc.Stop()
	if s.http != nil {
		_ = s.http.Close()
	}
}
