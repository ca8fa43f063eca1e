package executor

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// TestServer: Listen and Serve put the players' endpoint and /metrics and
// /healthz on their addresses with the scheduler running; Shutdown stops
// them in order, the players told executor_shutdown.
func TestServer(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := auth.NewIssuer(priv, auth.Options{})
	verifier, _ := auth.NewVerifier(pub, auth.Options{})
	srv, err := Listen(ServeConfig{WSAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ex, err := New(ctx, Config{ID: testExecutorID, Verifier: verifier, Sandbox: wasmhost.Config{CacheDir: cacheDir},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(ctx, ex, nil)
	if err := ex.Start(ctx, InstanceSpec{ID: "i-1", Game: "recorder", Module: testModule(t, "recorder"), MaxPlayers: 4}); err != nil {
		t.Fatal(err)
	}

	get := func(path string) (int, string) {
		t.Helper()
		return testenv.HTTPGet(t, "http://"+srv.MetricsAddr()+path)
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q, want 200 ok", code, body)
	}

	tok, _, err := issuer.Ticket(auth.TicketRequest{PlayerID: "p1", InstanceID: "i-1", ExecutorID: testExecutorID})
	if err != nil {
		t.Fatal(err)
	}
	u, err := protocol.PlayURL("ws://"+srv.WSAddr(), "i-1", string(tok))
	if err != nil {
		t.Fatal(err)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial the players' endpoint: %v", err)
	}
	resp.Body.Close()
	defer conn.Close()
	c := &client{t: t, conn: conn}
	if _, ok := c.next().(*protocol.Welcome); !ok {
		t.Fatal("first frame is not a welcome")
	}
	for { // the scheduler ticks: a state comes
		if _, ok := c.next().(*protocol.State); ok {
			break
		}
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "player_count 1") {
		t.Errorf("/metrics: %d, no player_count 1 in:\n%s", code, body)
	}

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	closed := make(chan string, 1)
	go func() { closed <- c.expectClose(protocol.CloseExecutorShutdown, 10*time.Second) }()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	<-closed
	for _, addr := range []string{srv.WSAddr(), srv.MetricsAddr()} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Shutdown", addr)
		}
	}
}

// TestServerListenError: an address that cannot be listened on is an
// error naming it, and the other listener is released; Shutdown before
// Serve releases both.
func TestServerListenError(t *testing.T) {
	if _, err := Listen(ServeConfig{WSAddr: "127.0.0.1:0", MetricsAddr: "256.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "metrics address") {
		t.Fatalf("Listen with a bad metrics address: %v, want an error naming it", err)
	}
	srv, err := Listen(ServeConfig{WSAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", srv.WSAddr())
	if err != nil {
		t.Fatalf("the address is still taken after Shutdown before Serve: %v", err)
	}
	l.Close()
}
