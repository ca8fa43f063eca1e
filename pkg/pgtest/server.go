package pgtest

import (
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/testenv"
)

// Server is a private PostgreSQL cluster a test can stop and start, made by
// [Restartable]. Its methods fail the test on error, so call them from the
// test's goroutine.
type Server struct {
	t   testing.TB
	c   *cluster
	url string
}

// Restartable starts a private cluster for t alone, creates an empty
// database in it, and removes the cluster when t ends. It never uses the
// shared server, so stopping it disturbs no other test. It skips t, or
// fails it on CI, when no cluster can be started.
func Restartable(t testing.TB) *Server { return InNetns(t, "", "") }

// InNetns is Restartable with the server running in the network
// namespace netns (made by the test, ip netns add) and listening on its
// address ip, port 5432: URL names ip, for clients in other namespaces
// that reach it. With netns empty it is Restartable.
func InNetns(t testing.TB, netns, ip string) *Server {
	t.Helper()
	c, err := startClusterIn(netns, ip)
	if err != nil {
		unavailable(t, testenv.OnCI(), &unavailableError{reason: "cannot start a private cluster: " + err.Error()})
		return nil
	}
	t.Cleanup(func() {
		if err := c.destroy(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	s := &Server{t: t, c: c}
	// No drop: the whole cluster goes, even if the test leaves it stopped.
	s.url = createDatabase(t, c.url("postgres"), false)
	if netns != "" {
		name, err := DatabaseName(s.url)
		if err != nil {
			t.Fatal(err)
		}
		s.url = c.tcpURL(name)
	}
	return s
}

// URL returns the URL of the server's test database. It stays the same
// across Stop and Start.
func (s *Server) URL() string { return s.url }

// Stop shuts the server down (fast mode: open connections are closed) and
// returns when it no longer accepts connections. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	if !s.c.running() {
		return
	}
	if err := s.c.stop("fast"); err != nil {
		s.t.Fatalf("pgtest: stop server: %v", err)
	}
}

// Crash kills the server the way a machine failure would (immediate mode:
// no checkpoint, recovery on the next Start).
func (s *Server) Crash() {
	s.t.Helper()
	if !s.c.running() {
		return
	}
	if err := s.c.stop("immediate"); err != nil {
		s.t.Fatalf("pgtest: crash server: %v", err)
	}
}

// Start starts the stopped server on the same port and returns when it
// accepts connections to the test database. Starting a running server
// does nothing.
func (s *Server) Start() {
	s.t.Helper()
	if s.c.running() {
		return
	}
	if err := s.c.start(); err != nil {
		s.t.Fatalf("pgtest: start server: %v", err)
	}
	// pg_ctl returns once the postmaster accepts connections; make sure the
	// test database does too (after a crash it may still be recovering).
	var err error
	defer func() {
		if err != nil {
			s.t.Logf("pgtest: %s does not answer: %v", redact(s.url), err)
		}
	}()
	testenv.WaitFor(s.t, "the started server to accept connections to the test database", time.Minute, func() bool {
		err = ping(s.url)
		return err == nil
	})
}
