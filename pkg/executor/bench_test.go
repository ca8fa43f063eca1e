//go:build unix

package executor

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScheduler runs many instances at 60 Hz with no players; one op
// is one second of wall time. It reports the share of frames that overran
// (ended after the next was due), the frames run against the frames due,
// the CPU used (in cores) and the frame duration percentiles.
func BenchmarkScheduler(b *testing.B) {
	cases := []struct {
		module string
		n      int
	}{
		{"recorder", 1000},
		{"recorder", 2000},
		{"recorder", 5000},
		{"recorder", 10000},
		{"arena", 50},
		{"arena", 1000},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("module=%s/instances=%d", c.module, c.n), func(b *testing.B) {
			var wasm []byte
			if c.module == "arena" {
				wasm = arenaModule(b)
			} else {
				wasm = testModule(b, c.module)
			}
			ctx := context.Background()
			ex, err := New(ctx, Config{
				ID:      testExecutorID,
				Sandbox: wasmhost.Config{CacheDir: cacheDir},
				Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			defer ex.Close(ctx)
			for i := range c.n {
				if err := ex.Start(ctx, InstanceSpec{ID: fmt.Sprint("i", i), Game: c.module, Module: wasm, Seed: uint64(i)}); err != nil {
					b.Fatal(err)
				}
			}
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- ex.Run(runCtx) }()
			defer func() { cancel(); <-done }()
			time.Sleep(500 * time.Millisecond) // warm up: spread the instances on their grids

			s0, cpu0, t0 := ex.Stats(), cpuTime(), time.Now()
			b.ResetTimer()
			for range b.N {
				time.Sleep(time.Second) // one op is a second of wall time at the instances' 60 Hz
			}
			b.StopTimer()
			s1, cpu1, wall := ex.Stats(), cpuTime(), time.Since(t0)
			frames := float64(s1.Frames - s0.Frames)
			due := float64(c.n) * 60 * wall.Seconds()
			b.ReportMetric(float64(s1.Overruns-s0.Overruns)/frames, "overrun-ratio")
			b.ReportMetric(frames/due, "frames/due")
			b.ReportMetric(frames/wall.Seconds(), "frames/s")
			b.ReportMetric((cpu1-cpu0).Seconds()/wall.Seconds(), "cpu-cores")
			b.ReportMetric(float64(s1.TickP50.Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(s1.TickP99.Nanoseconds())/1e3, "p99-µs")
		})
	}
}

// BenchmarkBroadcast fans state frames out to N WebSocket clients on
// loopback, each reading in its own goroutine, through the same path as a
// tick (one shared buffer, each client's queue, its writer). One op is one
// frame delivered to every client. The sender waits while a client is
// more than half its queue behind, so nothing is dropped and the rate
// measured is the sustained one.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1, 16, 128} {
		for _, size := range []int{256, 4096} {
			b.Run(fmt.Sprintf("clients=%d/state=%dB", n, size), func(b *testing.B) {
				benchBroadcast(b, n, [][]byte{make([]byte, size)}, false)
			})
		}
	}
}

// BenchmarkBroadcastArena is BenchmarkBroadcast with real arena states
// (16 players moving, pkg/protocol/testdata/arena-states.bin) to 16
// clients, full and on deltas: the cost per client of each encoding, and
// (B/delivered) the bytes each client gets per state. With corked, the
// clients are served through a corkListener, as Listen serves them: what
// waits in a queue goes out in one write.
func BenchmarkBroadcastArena(b *testing.B) {
	states := arenaStates(b)
	for _, delta := range []bool{false, true} {
		b.Run(fmt.Sprintf("clients=16/delta=%v", delta), func(b *testing.B) { benchBroadcast(b, 16, states, delta) })
		b.Run(fmt.Sprintf("clients=16/delta=%v/corked", delta), func(b *testing.B) { benchBroadcast(b, 16, states, delta, corked) })
	}
}

// arenaStates reads the arena states pkg/protocol's tests use.
func arenaStates(t testing.TB) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "protocol", "testdata", "arena-states.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(data) >= 4 {
		n := int(binary.LittleEndian.Uint32(data))
		out, data = append(out, data[4:4+n]), data[4+n:]
	}
	return out
}

func benchBroadcast(b *testing.B, n int, states [][]byte, delta bool, opts ...harnessOption) {
	const queue = 64
	h := newHarness(b, append([]harnessOption{func(c *Config, _ *httptestServer) {
		c.ClientQueue, c.SlowClientFrames = queue, 1<<30
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}}, opts...)...)
	h.start(InstanceSpec{ID: "rec", Game: "recorder", Module: testModule(b, "recorder")})
	// No h.run: the benchmark plays the scheduler's part.
	received := make([]atomic.Int64, n)
	var wg sync.WaitGroup
	for i := range n {
		u := h.url("rec", h.ticket(fmt.Sprint("p", i), "rec"))
		if delta {
			u += "&delta=zstd"
		}
		c := h.dialURL(u, nil)
		if _, ok := c.next().(*protocol.Welcome); !ok {
			b.Fatal("no welcome")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				typ, r, err := c.conn.NextReader()
				if err != nil {
					return
				}
				if typ == websocket.BinaryMessage {
					var t [1]byte
					if _, err := io.ReadFull(r, t[:]); err == nil && (t[0] == byte(protocol.TypeState) || t[0] == byte(protocol.TypeDelta)) {
						received[i].Add(1)
					}
				}
			}
		}()
	}
	in := h.ex.lookup("rec")
	testenv.WaitFor(b, "every client connected", 10*time.Second, func() bool { return len(*in.sessions.Load()) == n })
	slowest := func() int64 {
		m := received[0].Load()
		for i := range received {
			m = min(m, received[i].Load())
		}
		return m
	}

	b.SetBytes(int64(len(states[0]) * n))
	sent0, _ := metricValue(h.scrape(), "rcc_executor_sent_bytes_total")
	var prev *broadcast
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := range b.N {
		for int64(i)-slowest() > queue/2 {
			time.Sleep(20 * time.Microsecond) // back-pressure: let the slowest client catch up
		}
		bc := newBroadcast(uint64(i+1), states[i%len(states)], prev)
		prev = bc
		for _, s := range *in.sessions.Load() {
			s.sendState(bc)
		}
	}
	testenv.WaitFor(b, "the clients to read every frame", 10*time.Second, func() bool { return slowest() >= int64(b.N) })
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)*float64(n)/elapsed.Seconds(), "delivered/s")
	// CPU time (the process's, the clients' reading included) per state
	// delivered: steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N)/float64(n), "cpu-µs/delivered")
	fams := h.scrape()
	sent, _ := metricValue(fams, "rcc_executor_sent_bytes_total")
	b.ReportMetric((sent-sent0)/float64(b.N)/float64(n), "B/delivered")
	if v, _ := metricValue(fams, "rcc_executor_state_frames_dropped_total"); v != 0 {
		b.Errorf("%v frames dropped", v)
	}
	h.close()
	wg.Wait()
}

// BenchmarkLogRingAdd measures the cost of one guest line reaching its
// instance's log ring (the sandbox has already cut and rate-limited it).
func BenchmarkLogRingAdd(b *testing.B) {
	r := newLogRing(DefaultLogEntries)
	line := "frame 1234: the player alice picked up an orb worth 10 points"
	b.ReportAllocs()
	for i := range b.N {
		r.add(LogEntry{Time: time.Now(), Frame: uint64(i), Stream: LogStdout, Text: line})
	}
}
