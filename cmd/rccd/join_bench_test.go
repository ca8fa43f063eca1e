package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/protocol"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// BenchmarkJoinToFirstState measures what a player waits for when nothing
// of the game runs yet: Join on the coordinator (which creates an instance
// and assigns it), the WebSocket connection to the executor, the welcome,
// and the first state frame. Every op joins a game with no instance (each
// op deploys arena under a new name, outside the timer); the coordinator
// and the executor are real rccd processes on SQLite, on loopback, and the
// executor has arena's compiled code cached.
func BenchmarkJoinToFirstState(b *testing.B) {
	arena := arenaModule(b)
	c := newCluster(b, "sqlite://"+filepath.Join(b.TempDir(), "rcc.db"))
	c.executor("ex-bench")
	// Warm the executor's caches with one instance of the module.
	c.deploy("warm", arena)
	waitFirstState(b, c, "warm")

	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		game := fmt.Sprintf("cold%d", i)
		c.deploy(game, arena)
		b.StartTimer()
		samples = append(samples, waitFirstState(b, c, game))
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(samples[(len(samples)*99+99)/100-1].Microseconds())/1000, "p99-ms")
}

// waitFirstState joins game as a new player and returns the time until the
// first state frame arrives.
func waitFirstState(b *testing.B, c *cluster, game string) time.Duration {
	b.Helper()
	start := time.Now()
	j, err := c.admin.Instances.Join(context.Background(), &rccv1.JoinRequest{Game: game, PlayerId: "p-" + game})
	if err != nil {
		b.Fatalf("join %s: %v", game, err)
	}
	if !j.Created {
		b.Fatalf("join %s found a running instance; want one created", game)
	}
	url, err := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	if err != nil {
		b.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			b.Fatalf("%s: %v", game, err)
		}
		f, err := protocol.Decode(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := f.(*protocol.State); ok {
			return time.Since(start)
		}
	}
}
