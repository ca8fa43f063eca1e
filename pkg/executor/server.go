package executor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultShutdownTimeout is how long a stopping Server lets its HTTP
// servers finish.
const DefaultShutdownTimeout = 5 * time.Second

// ServeConfig says where an executor serves.
type ServeConfig struct {
	// WSAddr is the listen address of the players' WebSocket endpoint
	// (Handler), host:port (port 0 picks one).
	WSAddr string
	// MetricsAddr is the HTTP address of /metrics (MetricsHandler) and
	// /healthz; none when empty.
	MetricsAddr string
	// SocketWriteBuffer, when positive, is the kernel send buffer of each
	// player's connection in bytes (SO_SNDBUF). The kernel's default grows
	// to megabytes per connection: a smaller one bounds the memory a
	// stalled player holds and makes the executor drop its oldest states
	// (and then close it as too slow) sooner.
	SocketWriteBuffer int
	// TLS, when set, makes the players' endpoint serve TLS (wss://); the
	// metrics stay plain HTTP.
	TLS *tls.Config
	// IOUring, when set (Linux only, experimental), sends the players'
	// plaintext connections' writes through one io_uring: the writes
	// waiting at once go out as one batch of sends in one system call
	// instead of one write each. With TLS it is not used.
	IOUring bool
}

// Server is an executor's players' endpoint and metrics, with its
// background work. Listen opens the sockets first, so that the public
// address is known before the executor exists (an agent registers with
// it); Serve then serves an Executor on them.
type Server struct {
	ws, metrics         net.Listener
	wsAddr, metricsAddr string
	ex                  *Executor
	wsSrv, metricsSrv   *http.Server
	errc                chan error
	stopRun             context.CancelFunc
	runDone             chan struct{}
	tls                 bool
	ring                *sendRing
}

// Listen opens the listeners of cfg.
func Listen(cfg ServeConfig) (*Server, error) {
	ws, err := net.Listen("tcp", cfg.WSAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on the players' address: %w", err)
	}
	// Players' connections coalesce each burst of queued messages into
	// one write (below TLS, when it is on, only the send buffer applies).
	s := &Server{wsAddr: ws.Addr().String(), errc: make(chan error, 3), tls: cfg.TLS != nil}
	cl := corkListener{Listener: ws, sndbuf: cfg.SocketWriteBuffer}
	if cfg.IOUring && cfg.TLS == nil {
		if cl.ring, err = newSendRing(); err != nil {
			ws.Close()
			return nil, fmt.Errorf("io_uring: %w", err)
		}
		s.ring = cl.ring
	}
	ws = cl
	if cfg.TLS != nil {
		ws = tls.NewListener(ws, cfg.TLS)
	}
	s.ws = ws
	if cfg.MetricsAddr != "" {
		if s.metrics, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ws.Close()
			return nil, fmt.Errorf("listen on the metrics address: %w", err)
		}
		s.metricsAddr = s.metrics.Addr().String()
	}
	return s, nil
}

// WSAddr is the address the players' endpoint listens on.
func (s *Server) WSAddr() string { return s.wsAddr }

// TLS reports whether the players' endpoint serves TLS (wss://).
func (s *Server) TLS() bool { return s.tls }

// IOUring reports whether the players' writes go through io_uring
// (ServeConfig.IOUring, and no TLS).
func (s *Server) IOUring() bool { return s.ring != nil }

// MetricsAddr is the address of /metrics and /healthz, "" when none.
func (s *Server) MetricsAddr() string { return s.metricsAddr }

// Err reports a server or the background work failing by itself.
func (s *Server) Err() <-chan error { return s.errc }

// Serve serves ex on the listeners and runs run beside them until
// Shutdown: ex.Run when run is nil, an agent's Run (which runs the
// executor's) when it drives ex for a coordinator. Call it once.
func (s *Server) Serve(ctx context.Context, ex *Executor, run func(context.Context) error) {
	if run == nil {
		run = ex.Run
	}
	s.ex = ex
	s.wsSrv = &http.Server{Handler: ex.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.wsSrv.Serve(s.ws); !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("players' endpoint: %w", err)
		}
	}()
	if s.metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", ex.MetricsHandler())
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		s.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := s.metricsSrv.Serve(s.metrics); !errors.Is(err, http.ErrServerClosed) {
				s.errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	s.stopRun, s.runDone = stopRun, make(chan struct{})
	go func() {
		defer close(s.runDone)
		if err := run(runCtx); err != nil {
			s.errc <- err
		}
	}()
}

// Shutdown stops in order: the background work, waited for (an agent
// reports its instances' end to the coordinator), then the HTTP servers,
// given until ctx ends, then the executor (Close: its instances stop and
// their players are told). Before Serve it only closes the listeners.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ex == nil {
		s.ws.Close()
		if s.metrics != nil {
			s.metrics.Close()
		}
		if s.ring != nil {
			s.ring.close()
		}
		return nil
	}
	s.stopRun()
	<-s.runDone
	err := s.wsSrv.Shutdown(ctx)
	if s.metricsSrv != nil {
		err = errors.Join(err, s.metricsSrv.Shutdown(ctx))
	}
	if cerr := s.ex.Close(ctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if s.ring != nil {
		// Writes still under way after this go straight to their sockets.
		s.ring.close()
	}
	if err != nil {
		return fmt.Errorf("shut down executor: %w", err)
	}
	return nil
}
