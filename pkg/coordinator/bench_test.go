package coordinator_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// BenchmarkJoin measures Join over gRPC on loopback: concurrent callers on
// four connections, one executor, instances of 16 players (one join in 16
// creates an instance). It reports joins/s and latency percentiles.
func BenchmarkJoin(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store { return sqliteStore(b) }},
		{"postgres", func(b *testing.B) store.Store {
			s, err := store.Open(context.Background(), pgtest.New(b)+os.Getenv("RCC_BENCH_PG_PARAMS"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
	for _, be := range backends {
		for _, callers := range []int{8, 16, 64} {
			b.Run(fmt.Sprintf("%s/callers=%d", be.name, callers), func(b *testing.B) {
				benchJoin(b, be.open(b), callers)
			})
		}
	}
}

func benchJoin(b *testing.B, st store.Store, callers int) {
	benchJoinOver(b, st, callers, nil)
}

// benchJoinOver is benchJoin with the coordinator serving TLS with the dev
// certificates files, and the callers verifying it, when files is set.
func benchJoinOver(b *testing.B, st store.Store, callers int, files *certs.DevFiles) {
	// Heartbeats may queue behind the load: a liveness window of seconds.
	tune := func(cfg *coordinator.Config) {
		cfg.HeartbeatInterval, cfg.MissedHeartbeats, cfg.ResyncInterval = time.Second, 5, coordinator.DefaultResyncInterval
	}
	var sc coordinator.ServeConfig
	var cliTLS *tls.Config
	if files != nil {
		srvTLS, err := certs.ServerConfig(certs.ServerFiles{Cert: files.ServerCert, Key: files.ServerKey})
		if err != nil {
			b.Fatal(err)
		}
		if cliTLS, err = certs.ClientConfig(certs.ClientFiles{CA: files.CA}); err != nil {
			b.Fatal(err)
		}
		sc.ServerOptions = []grpc.ServerOption{grpc.Creds(credentials.NewTLS(srvTLS))}
	}
	e := startServing(b, st, newIssuer(b), tune, sc)
	if files != nil {
		// The harness's own clients speak TLS too.
		e.admin.Close()
		e.tls = cliTLS
		e.admin = e.dial(auth.RoleAdmin)
	}
	e.deploy("arena")
	e.executor("bench-executor", 0)
	conns := make([]*client.Client, 4)
	for k := range conns {
		conns[k] = e.dial(auth.RoleAdmin)
		defer conns[k].Close()
	}
	ctx := context.Background()
	// Warm up: connections, prepared statements, the first instance.
	for k := 0; k < 64; k++ {
		if _, err := conns[k%4].Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: fmt.Sprint("warm", k)}); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	lat := make([][]time.Duration, callers)
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	begin := time.Now()
	for w := 0; w < callers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := conns[w%len(conns)]
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				t0 := time.Now()
				_, err := c.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: fmt.Sprint("p", n)})
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "joins/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDeployArena uploads the arena example's module as a new version
// each time: ABI check, sha256, store.
func BenchmarkDeployArena(b *testing.B) {
	module := gamebuildtest.Arena(b)
	for _, be := range []string{"sqlite", "postgres"} {
		b.Run(be, func(b *testing.B) {
			var st store.Store
			if be == "sqlite" {
				st = sqliteStore(b)
			} else {
				s, err := store.Open(context.Background(), pgtest.New(b))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				st = s
			}
			e := start(b, st, newIssuer(b), nil)
			ctx := context.Background()
			b.SetBytes(int64(len(module)))
			b.ResetTimer()
			for k := 0; k < b.N; k++ {
				// A different trailing custom section makes each upload a new version.
				m := append(slices.Clip(module), 0, 6, 3, 'r', 'c', 'c', byte(k), byte(k>>8))
				if _, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "arena", Module: m}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
