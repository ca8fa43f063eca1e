package wasmhost

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startPaths are the two ways an instance starts: from its module's image,
// and the usual way, running _initialize.
var startPaths = []struct {
	name string
	cfg  Config
}{
	{"start=initialize", Config{NoImages: true}},
	{"start=image", Config{}},
}

// BenchmarkInstantiateImage measures Instantiate both ways side by side:
// running _initialize then init, and from the image (mapping it, setting
// the globals) then init. Each op is one start, timed by itself. Three
// starts from the image:
//   - start=image: the instance is closed off the clock after each start,
//     so the next one starts in a reservation of the image's pool (the
//     memory the last one gave back, or one prepared ahead): a start after
//     a stop.
//   - start=image-mapped: no pool; each start maps the image anew and
//     takes the faults of init: a start when no reservation is ready.
//   - start=image-prepared: the instances stay open (closed at the end),
//     so none gives its memory back, and the benchmark waits off the clock
//     between starts until the pool has prepared its reservations: starts
//     that come no faster than the pool prepares. pooled/op is the share of
//     starts that found one.
func BenchmarkInstantiateImage(b *testing.B) {
	modules := map[string]func(testing.TB) []byte{
		"module=small": func(tb testing.TB) []byte { return readModule(tb, "recorder") },
		"module=arena": arenaBytes,
	}
	for _, mod := range []string{"module=small", "module=arena"} {
		paths := startPaths[:len(startPaths):len(startPaths)]
		for _, name := range []string{"start=image-mapped", "start=image-prepared"} {
			paths = append(paths, struct {
				name string
				cfg  Config
			}{name, Config{}})
		}
		for _, path := range paths {
			b.Run(mod+"/"+path.name, func(b *testing.B) {
				if path.name == "start=image-mapped" {
					defer func(n int) { imagePoolSize = n }(imagePoolSize)
					imagePoolSize = 0
				}
				keep := path.name == "start=image-prepared"
				var kept []*Instance
				pooled := 0
				ctx := context.Background()
				e := newEngine(b, path.cfg)
				m, err := e.Compile(ctx, modules[mod](b))
				if err != nil {
					b.Fatal(err)
				}
				cfg := InstanceConfig{Game: "bench", Seed: 1}
				if !path.cfg.NoImages {
					if err := m.PrepareImage(ctx, cfg); err != nil {
						b.Fatal(err)
					}
				}
				samples := make([]time.Duration, 0, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					inst, err := m.Instantiate(ctx, cfg)
					samples = append(samples, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					if inst.FromImage() == path.cfg.NoImages {
						b.Fatalf("FromImage %v with NoImages %v", inst.FromImage(), path.cfg.NoImages)
					}
					b.StopTimer()
					if inst.memory.pooled {
						pooled++
					}
					if keep {
						kept = append(kept, inst)
						for inst.memory.image != nil && inst.memory.image.preparingNow() {
							runtime.Gosched()
						}
					} else {
						inst.Close(ctx)
					}
					b.StartTimer()
				}
				b.StopTimer()
				for _, inst := range kept {
					inst.Close(ctx)
				}
				reportP50(b, samples)
				b.ReportMetric(float64(pooled)/float64(b.N), "pooled/op")
			})
		}
	}
}

// idleInstances is how many idle arena instances the memory benchmark
// starts in one process.
const idleInstances = 64

// idleRSSEnv, when set to a start path, makes TestIdleRSSProcess the
// memory benchmark's child process.
const idleRSSEnv = "RCC_IDLE_RSS_PATH"

// idleMemory is what the child process measures, per instance, in bytes.
type idleMemory struct {
	RSS, Anon, Shmem, PSS float64
	FromImage             int
}

// BenchmarkIdleRSS measures the memory of an idle arena instance both
// ways: each run (whatever b.N: -count gives several) runs a fresh
// process of this test binary that compiles arena, starts 64 instances
// that run one frame each with no player, and reports the growth of its
// memory divided by 64. RSS counts a page shared by several instances once
// per instance that maps it; PSS divides it among them, so it is the
// memory the instances cost.
func BenchmarkIdleRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skipf("reads /proc/self, which %s lacks", runtime.GOOS)
	}
	arenaBytes(b) // built before the children need it
	for _, path := range startPaths {
		b.Run(path.name, func(b *testing.B) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestIdleRSSProcess$", "-test.v")
			cmd.Env = append(os.Environ(), idleRSSEnv+"="+path.name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("child: %v\n%s", err, out)
			}
			var m idleMemory
			found := false
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "idle-memory "); ok {
					found = json.Unmarshal([]byte(rest), &m) == nil
				}
			}
			if !found {
				b.Fatalf("child printed no idle-memory line:\n%s", out)
			}
			if want := map[bool]int{true: 0, false: idleInstances}[path.cfg.NoImages]; m.FromImage != want {
				b.Fatalf("%d instances from the image, want %d", m.FromImage, want)
			}
			const mib = 1 << 20
			b.ReportMetric(m.RSS/mib, "rss-MiB/inst")
			b.ReportMetric(m.PSS/mib, "pss-MiB/inst")
			b.ReportMetric(m.Anon/mib, "anon-MiB/inst")
			b.ReportMetric(m.Shmem/mib, "shmem-MiB/inst")
		})
	}
}

// TestIdleRSSProcess is BenchmarkIdleRSS's child process; run otherwise, it
// does nothing.
func TestIdleRSSProcess(t *testing.T) {
	path := os.Getenv(idleRSSEnv)
	if path == "" {
		return
	}
	var cfg Config
	for _, p := range startPaths {
		if p.name == path {
			cfg = p.cfg
		}
	}
	ctx := context.Background()
	e := newEngine(t, cfg)
	m, err := e.Compile(ctx, arenaBytes(t))
	if err != nil {
		t.Fatal(err)
	}
	icfg := InstanceConfig{Game: "arena", MaxPlayers: 8}
	// A first instance, closed: the image is taken, the code's pages are
	// touched, the Go heap has grown for a start.
	first := instantiate(t, m, icfg)
	if _, err := first.Frame(ctx, nil); err != nil {
		t.Fatal(err)
	}
	first.Close(ctx)
	if !cfg.NoImages {
		if err := m.PrepareImage(ctx, icfg); err != nil {
			t.Fatal(err)
		}
	}
	before := readMemory(t)
	var insts []*Instance
	fromImage := 0
	for k := range idleInstances {
		icfg.InstanceID, icfg.Seed = strconv.Itoa(k), uint64(k)
		inst := instantiate(t, m, icfg)
		if _, err := inst.Frame(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if inst.FromImage() {
			fromImage++
		}
		insts = append(insts, inst)
	}
	after := readMemory(t)
	per := func(a, b float64) float64 { return (b - a) / idleInstances }
	line, _ := json.Marshal(idleMemory{RSS: per(before.RSS, after.RSS), Anon: per(before.Anon, after.Anon),
		Shmem: per(before.Shmem, after.Shmem), PSS: per(before.PSS, after.PSS), FromImage: fromImage})
	fmt.Printf("idle-memory %s\n", line)
	runtime.KeepAlive(insts)
}

// readMemory reads the process's memory after a garbage collection, in
// bytes.
func readMemory(t *testing.T) idleMemory {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	var m idleMemory
	fields := map[string]*float64{"VmRSS:": &m.RSS, "RssAnon:": &m.Anon, "RssShmem:": &m.Shmem}
	readKB(t, "/proc/self/status", fields)
	readKB(t, "/proc/self/smaps_rollup", map[string]*float64{"Pss:": &m.PSS})
	return m
}

func readKB(t *testing.T, file string, fields map[string]*float64) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			if p, ok := fields[f[0]]; ok {
				kb, _ := strconv.ParseFloat(f[1], 64)
				*p = kb * 1024
			}
		}
	}
}
