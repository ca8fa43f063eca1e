package coordinator_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestMessageLimits: a call without a valid token is refused whatever its
// size; an authenticated message over its method's limit is refused with
// RESOURCE_EXHAUSTED naming the limit, while the upload stream takes its
// megabyte chunks.
func TestMessageLimits(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	huge := map[string]string{"big": strings.Repeat("v", 3_900_000)}

	anon, err := client.Dial(e.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	forged, err := client.Dial(e.addr, "eyJhbGciOiJFZERTQSJ9.e30.c2ln")
	if err != nil {
		t.Fatal(err)
	}
	defer forged.Close()
	for name, c := range map[string]*client.Client{"no token": anon, "forged token": forged} {
		if _, err := c.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: huge}); code(err) != codes.Unauthenticated {
			t.Fatalf("%s, 3.9 MB spawn: %v, want Unauthenticated", name, err)
		}
		if _, err := c.Deploy(ctx, client.DeployRequest{Game: "anon", Module: make([]byte, 3<<20)}); code(err) != codes.Unauthenticated {
			t.Fatalf("%s, upload: %v, want Unauthenticated", name, err)
		}
	}

	_, err = e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: huge})
	if code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "over the method's limit of 262144 bytes") {
		t.Fatalf("3.9 MB spawn: %v, want ResourceExhausted naming the limit", err)
	}
	// Uploads go in 1 MiB chunks: a module of several takes them.
	module := append([]byte{}, minimalWasm...)
	if _, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "assets", Module: module, Assets: tarOf(t, map[string]int{"big.bin": 3 << 20})}); err != nil {
		t.Fatalf("deploy with 3 MiB of assets: %v", err)
	}
	if coordinator.MaxMessageBytes >= coordinator.MaxRecvMessageBytes {
		t.Fatal("the per-method limit is no smaller than the server's")
	}
}

// TestTransportLimits: the server announces its caps on streams and
// metadata, and disconnects a client that pings faster than the
// keepalive policy allows (a raw HTTP/2 client: gRPC's own clients never
// ping that fast).
func TestTransportLimits(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	settings := map[http2.SettingID]uint32{}
	pinged := false
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read frame (settings %v): %v", settings, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			_ = f.ForeachSetting(func(s http2.Setting) error { settings[s.ID] = s.Val; return nil })
			if err := fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			if got := settings[http2.SettingMaxConcurrentStreams]; got != coordinator.MaxConcurrentStreams {
				t.Fatalf("max concurrent streams = %d, want %d", got, coordinator.MaxConcurrentStreams)
			}
			if got := settings[http2.SettingMaxHeaderListSize]; got != coordinator.MaxHeaderBytes {
				t.Fatalf("max header list size = %d, want %d", got, coordinator.MaxHeaderBytes)
			}
			if !pinged {
				pinged = true
				for k := range 5 {
					if err := fr.WritePing(false, [8]byte{byte(k)}); err != nil {
						t.Fatal(err)
					}
				}
			}
		case *http2.GoAwayFrame:
			if f.ErrCode != http2.ErrCodeEnhanceYourCalm || !strings.Contains(string(f.DebugData()), "too_many_pings") {
				t.Fatalf("goaway %v %q, want ENHANCE_YOUR_CALM too_many_pings", f.ErrCode, f.DebugData())
			}
			return
		}
	}
}

// TestMaxConnections: connections past the cap wait to be accepted; one
// closing lets the next in.
func TestMaxConnections(t *testing.T) {
	is := newIssuer(t)
	cfg := coordinator.Config{Store: sqliteStore(t), Issuer: is}
	fastConfig(&cfg)
	c, err := coordinator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := c.Serve(context.Background(), coordinator.ServeConfig{GRPCAddr: "127.0.0.1:0", MaxConnections: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	held := make([]*client.Client, 2)
	tok, _, err := is.RoleToken(auth.RoleAdmin, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	call := func(cl *client.Client, d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := cl.Games.ListGames(ctx, &rccv1.ListGamesRequest{})
		return err
	}
	for k := range held {
		if held[k], err = client.Dial(srv.GRPCAddr(), client.Token(tok)); err != nil {
			t.Fatal(err)
		}
		defer held[k].Close()
		if err := call(held[k], 10*time.Second); err != nil {
			t.Fatalf("connection %d: %v", k, err)
		}
	}
	third, err := client.Dial(srv.GRPCAddr(), client.Token(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if err := call(third, 500*time.Millisecond); code(err) != codes.DeadlineExceeded && code(err) != codes.Unavailable {
		t.Fatalf("a third connection's call: %v, want it kept waiting", err)
	}
	held[0].Close()
	if err := call(third, 20*time.Second); err != nil {
		t.Fatalf("the third connection after the first closed: %v", err)
	}
}
