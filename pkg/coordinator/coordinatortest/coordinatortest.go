package coordinatortest

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/store"
)

// Server is a coordinator serving gRPC on 127.0.0.1 until its test ends.
type Server struct {
	t      testing.TB
	Addr   string
	Issuer *auth.Issuer
	Store  coordinator.Store
	// Coordinator is the coordinator served, and Running its server, for
	// tests of what they do (Shutdown, CloseStreams).
	Coordinator *coordinator.Coordinator
	Running     *coordinator.Server
}

// Start serves a coordinator configured by cfg. When cfg.Store is nil it
// opens a fresh SQLite database in the test's temporary directory (closed
// at the end); when cfg.Issuer is nil it signs with a new key.
func Start(t testing.TB, cfg coordinator.Config) *Server {
	t.Helper()
	return StartServing(t, cfg, coordinator.ServeConfig{})
}

// StartServing is Start with sc's server options (TLS credentials, for
// one); it always listens on 127.0.0.1, on a port of its own.
func StartServing(t testing.TB, cfg coordinator.Config, sc coordinator.ServeConfig) *Server {
	t.Helper()
	if cfg.Store == nil {
		st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	}
	if cfg.Issuer == nil {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Issuer, err = auth.NewIssuer(key, auth.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := coordinator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc.GRPCAddr = "127.0.0.1:0"
	srv, err := c.Serve(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &Server{t: t, Addr: srv.GRPCAddr(), Issuer: cfg.Issuer, Store: cfg.Store, Coordinator: c, Running: srv}
}

// Token makes a token of role for subject, valid for an hour.
func (s *Server) Token(role auth.Role, subject string) auth.Token {
	s.t.Helper()
	tok, _, err := s.Issuer.RoleToken(role, subject, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// Dial connects a client with a token of role for subject; it is closed
// when the test ends.
func (s *Server) Dial(role auth.Role, subject string, opts ...grpc.DialOption) *client.Client {
	s.t.Helper()
	c, err := client.Dial(s.Addr, client.Token(s.Token(role, subject)), opts...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}
