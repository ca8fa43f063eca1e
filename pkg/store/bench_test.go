package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/store"
)

// BenchmarkJoin measures Store.Join alone (no gRPC, no tickets) from
// parallel goroutines: 16-player instances on one live executor.
func BenchmarkJoin(b *testing.B) {
	for _, be := range []string{"sqlite", "postgres"} {
		b.Run(be, func(b *testing.B) {
			ctx := context.Background()
			url := "sqlite://" + b.TempDir() + "/rcc.db"
			if be == "postgres" {
				url = pgtest.New(b)
			}
			s, err := store.Open(ctx, url)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			sha, _, _ := s.PutBlob(ctx, []byte("module"), now)
			if _, _, err := s.CreateVersion(ctx, store.NewVersion{Game: "arena", ModuleSHA256: sha, Now: now}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.RegisterExecutor(ctx, store.Registration{Name: "x", WSURL: "ws://x"}, now.Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := n.Add(1)
					_, err := s.Join(ctx, store.JoinQuery{Game: "arena", PlayerID: fmt.Sprint("p", k), SeatID: fmt.Sprint("s", k),
						SeatExpires: now.Add(time.Minute), Placement: store.Placement{Now: now, LiveSince: now},
						NewInstance: store.SpawnSpec{ID: fmt.Sprint("i-", k), Game: "arena", MaxPlayers: 16, LeaseSeconds: 60}})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "joins/s")
		})
	}
}

// BenchmarkAppendLogs measures Store.AppendLogs as an agent's push of a
// busy executor makes it: one call appends 10 lines of 80 bytes to each of
// 100 instances, each log trimmed to 1000 entries.
func BenchmarkAppendLogs(b *testing.B) {
	for _, be := range []string{"sqlite", "postgres"} {
		b.Run(be, func(b *testing.B) {
			ctx := context.Background()
			url := "sqlite://" + b.TempDir() + "/rcc.db"
			if be == "postgres" {
				url = pgtest.New(b)
			}
			s, err := store.Open(ctx, url)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			sha, _, _ := s.PutBlob(ctx, []byte("module"), now)
			if _, _, err := s.CreateVersion(ctx, store.NewVersion{Game: "arena", ModuleSHA256: sha, Now: now}); err != nil {
				b.Fatal(err)
			}
			x, err := s.RegisterExecutor(ctx, store.Registration{Name: "x", WSURL: "ws://x"}, now)
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]string, 100)
			for k := range ids {
				in, err := s.Spawn(ctx, store.SpawnSpec{Game: "arena", MaxPlayers: 4, LeaseSeconds: 600},
					store.Placement{Now: now, LiveSince: now.Add(-time.Minute)})
				if err != nil || in.ExecutorID != x.ID {
					b.Fatalf("spawn: %v on %q", err, in.ExecutorID)
				}
				ids[k] = in.ID
			}
			lines := make([]store.LogEntry, 10)
			for k := range lines {
				lines[k] = store.LogEntry{Time: now, Frame: uint64(k), Stream: store.LogStdout,
					Text: fmt.Sprintf("%-80s", fmt.Sprint("line ", k))}
			}
			batches := make([]store.LogBatch, len(ids))
			for k, id := range ids {
				batches[k] = store.LogBatch{InstanceID: id, Entries: lines}
			}
			b.ResetTimer()
			for range b.N {
				if refused, err := s.AppendLogs(ctx, x.ID, batches, 1000, now); err != nil || len(refused) > 0 {
					b.Fatal(err, refused)
				}
			}
			b.ReportMetric(float64(b.N*len(ids)*len(lines))/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
