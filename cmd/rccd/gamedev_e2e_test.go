package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// arenaFloor is the floor colour in games/arena/game.go, the line the
// game dev tests edit to change what players see.
const arenaFloor = "Color:    world.Color{R: 150, G: 156, B: 140, A: 255},"

// copyArena copies games/arena's sources into a module of their own
// (requiring this repository through a replace), as an author's game
// directory outside the repository would be, and returns it.
func copyArena(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "arena")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "games", "arena", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mod := fmt.Sprintf("module example.com/arena\n\ngo 1.26.0\n\nrequire github.com/rcc-games/rcc v0.0.0\n\nreplace github.com/rcc-games/rcc => %s\n", root)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "game.go")); err != nil || !strings.Contains(string(b), arenaFloor) {
		t.Fatalf("games/arena/game.go no longer has the floor colour line %q (%v)", arenaFloor, err)
	}
	return dir
}

// editFile replaces old with new in path, failing when old is not there.
func editFile(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func floorLine(c world.Color) string {
	return fmt.Sprintf("Color:    world.Color{R: %d, G: %d, B: %d, A: 255},", c.R, c.G, c.B)
}

// devEnv is rccd dev running for a test, and what its rccctl needs.
type devEnv struct {
	rccd *proc
	env  []string
	c    *client.Client
}

func startDev(t testing.TB) *devEnv {
	t.Helper()
	cfgHome := t.TempDir()
	data := filepath.Join(t.TempDir(), "data")
	env := []string{"XDG_CONFIG_HOME=" + cfgHome, "RCC_ADDR=", "RCC_TOKEN=", "RCC_CONTEXT="}
	p := startProc(t, "rccd dev", env, "dev", "--data-dir", data, "--grpc-addr", "127.0.0.1:0", "--ws-addr", "127.0.0.1:0",
		"--metrics-addr", "127.0.0.1:0", "--coordinator-metrics-addr", "127.0.0.1:0")
	testenv.WaitFor(t, "rccd dev to print its addresses", 30*time.Second, func() bool { return strings.Contains(p.out.String(), "try:") })
	creds, err := client.LoadCredentials(filepath.Join(cfgHome, "rcc", "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	target, err := creds.Target(false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.DialConfig(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &devEnv{rccd: p, env: env, c: c}
}

// gameDev is rccctl game dev running as a child process.
type gameDev struct {
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	err  error
}

func startGameDev(t testing.TB, d *devEnv, args ...string) *gameDev {
	t.Helper()
	g := &gameDev{cmd: exec.Command(ctlBinary(t), append([]string{"game", "dev"}, args...)...), done: make(chan struct{})}
	g.cmd.Env = append(os.Environ(), d.env...)
	g.cmd.Stdout, g.cmd.Stderr = &g.out, &g.out
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.interrupt(t)
		if t.Failed() {
			t.Logf("--- rccctl game dev output ---\n%s", g.out.String())
		}
	})
	return g
}

// interrupt ends game dev as Ctrl-C does.
func (g *gameDev) interrupt(t testing.TB) {
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-g.done:
	case <-time.After(20 * time.Second):
		t.Errorf("rccctl game dev did not end on SIGINT")
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// waitOutput waits for game dev's output to match re and returns the
// first match after offset from.
func (g *gameDev) waitOutput(t testing.TB, what string, from int, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	var m []string
	testenv.WaitFor(t, what, timeout, func() bool {
		out := g.out.String()
		if from > len(out) {
			return false
		}
		if m = re.FindStringSubmatch(out[from:]); m != nil {
			return true
		}
		select {
		case <-g.done:
			// game dev ended: what it has not printed it never will.
			if out = g.out.String(); from <= len(out) {
				if m = re.FindStringSubmatch(out[from:]); m != nil {
					return true
				}
			}
			t.Fatalf("rccctl game dev exited (%v) before %s", g.err, what)
		default:
		}
		return false
	})
	return m
}

// floorWatcher records, for a player, when each floor colour was first
// seen.
type floorWatcher struct {
	mu     sync.Mutex
	first  map[world.Color]time.Time
	last   world.Color
	frame  uint64
	inGame bool
}

func (f *floorWatcher) onEvent(player string) func(play.Event) {
	return func(e play.Event) {
		if e.Kind != play.EventState || e.Snapshot == nil {
			return
		}
		floor := e.Snapshot.Entity(1)
		if floor == nil {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.first[floor.Color]; !ok {
			f.first[floor.Color] = e.At
		}
		f.last, f.frame = floor.Color, e.Frame
		f.inGame = e.Snapshot.Player(player) != nil
	}
}

func (f *floorWatcher) seen(c world.Color) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.first[c]
	return at, ok
}

func (f *floorWatcher) now() (world.Color, uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.frame, f.inGame
}

var cycleLine = regexp.MustCompile(`(?m)^\S+ arena version (\d+): build (\S+), check (\S+), deploy (\S+), upgrade (\S+) \(1 instance\(s\): (\S+)\)$`)

// TestE2EGameDev is the author's loop against a real rccd dev: rccctl
// game dev on a copy of arena deploys it and spawns an instance; a player
// joins; an edit of the floor's colour reaches the player as a hot
// upgrade (same session, no reconnect, new version); a syntax error is
// printed with the compiler's message and changes nothing; the fix
// upgrades again; Ctrl-C leaves the instance running.
func TestE2EGameDev(t *testing.T) {
	d := startDev(t)
	dir := copyArena(t)
	g := startGameDev(t, d, dir, "--debounce", "100ms")
	g.waitOutput(t, "game dev to spawn an instance", 0, regexp.MustCompile(`spawned instance (\S+) of arena at version 1`), 3*time.Minute)

	ctx := context.Background()
	fw := &floorWatcher{first: map[world.Color]time.Time{}}
	s, err := play.Join(ctx, d.c, play.JoinRequest{Game: "arena", Player: "alice"}, play.Config{OnEvent: fw.onEvent("alice")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v1Floor := world.Color{R: 150, G: 156, B: 140, A: 255}
	testenv.WaitFor(t, "alice to see arena's floor", 30*time.Second, func() bool { _, ok := fw.seen(v1Floor); return ok })
	id := s.Stats().Welcome.InstanceID

	green := world.Color{R: 20, G: 200, B: 60, A: 255}
	mark := len(g.out.String())
	editFile(t, filepath.Join(dir, "game.go"), arenaFloor, floorLine(green))
	m := g.waitOutput(t, "the edit to be deployed and upgraded", mark, cycleLine, 3*time.Minute)
	if m[1] != "2" || m[6] != id {
		t.Fatalf("cycle line %q: want version 2 and instance %s", m[0], id)
	}
	testenv.WaitFor(t, "alice to see the green floor", 30*time.Second, func() bool { _, ok := fw.seen(green); return ok })
	in, err := d.c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id})
	if err != nil || in.Version != 2 || in.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
		t.Fatalf("instance after the edit: %v %v", in, err)
	}
	if st := s.Stats(); st.Connects != 1 || st.Reconnects != 0 {
		t.Fatalf("alice connected %d times, reconnected %d: want one session", st.Connects, st.Reconnects)
	}
	// The executor told her session of the new version (version_changed).
	testenv.WaitFor(t, "alice's session to report version 2", 10*time.Second, func() bool { return s.Stats().GameVersion == "2" })

	// A syntax error: printed with the compiler's message, the game goes
	// on with version 2.
	mark = len(g.out.String())
	editFile(t, filepath.Join(dir, "game.go"), floorLine(green), floorLine(green)+" {{")
	g.waitOutput(t, "the build error to be printed", mark, regexp.MustCompile(`(?s)build failed.*game\.go:\d+:\d+: syntax error.*left as it was`), 60*time.Second)
	_, frame, _ := fw.now()
	testenv.WaitFor(t, "alice's states to go on", 10*time.Second, func() bool { c, f, ok := fw.now(); return f > frame+30 && c == green && ok })
	if in, err := d.c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id}); err != nil || in.Version != 2 {
		t.Fatalf("instance after the broken edit: %v %v", in, err)
	}
	if vs, err := d.c.ListVersions(ctx, "arena"); err != nil || len(vs) != 2 {
		t.Fatalf("versions after the broken edit: %d %v; want 2", len(vs), err)
	}

	// The fix, with another colour: version 3, the same session.
	red := world.Color{R: 200, G: 40, B: 40, A: 255}
	mark = len(g.out.String())
	editFile(t, filepath.Join(dir, "game.go"), floorLine(green)+" {{", floorLine(red))
	m = g.waitOutput(t, "the fix to be deployed and upgraded", mark, cycleLine, 3*time.Minute)
	if m[1] != "3" || m[6] != id {
		t.Fatalf("cycle line %q: want version 3 and instance %s", m[0], id)
	}
	testenv.WaitFor(t, "alice to see the red floor", 30*time.Second, func() bool { _, ok := fw.seen(red); return ok })
	if st := s.Stats(); st.Connects != 1 || st.Reconnects != 0 {
		t.Fatalf("alice connected %d times, reconnected %d: want one session", st.Connects, st.Reconnects)
	}
	testenv.WaitFor(t, "alice's session to report version 3", 10*time.Second, func() bool { return s.Stats().GameVersion == "3" })
	if st := s.Stats(); st.VersionChanges != 2 || st.Welcome.GameVersion != "1" {
		t.Errorf("alice's session: %d version changes, welcome of version %q; want 2 on the first welcome's 1", st.VersionChanges, st.Welcome.GameVersion)
	}
	if _, _, ok := fw.now(); !ok {
		t.Fatal("alice is no longer among the players")
	}

	mark = len(g.out.String())
	g.interrupt(t)
	if g.err != nil {
		t.Fatalf("game dev ended with %v\n%s", g.err, g.out.String())
	}
	out := g.out.String()[mark:]
	if !strings.Contains(out, "left running: "+id) {
		t.Errorf("game dev's last words lack %q:\n%s", "left running: "+id, out)
	}
	if in, err := d.c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id}); err != nil || in.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
		t.Fatalf("instance after Ctrl-C: %v %v; want running", in, err)
	}
}

// BenchmarkGameDevEditToPlay measures the author's loop on arena: from
// writing a changed game.go to the first state of the new version at a
// connected player, over b.N edits (run with -benchtime=7x: docs/BENCHMARKS.md,
// "Edit to play"). It reports the median and the median of each step that
// game dev prints.
func BenchmarkGameDevEditToPlay(b *testing.B) {
	d := startDev(b)
	dir := copyArena(b)
	g := startGameDev(b, d, dir, "--debounce", "100ms")
	g.waitOutput(b, "game dev to spawn an instance", 0, regexp.MustCompile(`spawned instance (\S+) of arena`), 3*time.Minute)
	fw := &floorWatcher{first: map[world.Color]time.Time{}}
	s, err := play.Join(context.Background(), d.c, play.JoinRequest{Game: "arena", Player: "bench"}, play.Config{OnEvent: fw.onEvent("bench")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	prev := world.Color{R: 150, G: 156, B: 140, A: 255}
	testenv.WaitFor(b, "the first state", 30*time.Second, func() bool { _, ok := fw.seen(prev); return ok })
	var total, build, check, deploy, upgrade []time.Duration
	b.ResetTimer()
	for i := range b.N {
		next := world.Color{R: uint8(10 + i), G: uint8(100 + i), B: 200, A: 255}
		mark := len(g.out.String())
		start := time.Now()
		editFile(b, filepath.Join(dir, "game.go"), floorLine(prev), floorLine(next))
		testenv.WaitFor(b, "the new floor", 3*time.Minute, func() bool { _, ok := fw.seen(next); return ok })
		at, _ := fw.seen(next)
		total = append(total, at.Sub(start))
		m := g.waitOutput(b, "the cycle line", mark, cycleLine, 3*time.Minute)
		for j, dst := range []*[]time.Duration{&build, &check, &deploy, &upgrade} {
			v, err := time.ParseDuration(m[2+j])
			if err != nil {
				b.Fatalf("cycle line %q: %v", m[0], err)
			}
			*dst = append(*dst, v)
		}
		prev = next
	}
	b.StopTimer()
	if st := s.Stats(); st.Reconnects != 0 {
		b.Errorf("the player reconnected %d times", st.Reconnects)
	}
	med := func(ds []time.Duration) time.Duration {
		ds = slices.Clone(ds)
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	b.ReportMetric(float64(med(total).Milliseconds()), "edit-to-play-ms")
	b.Logf("edit to play over %d edits: median %v (all %v); build %v, check %v, deploy %v, upgrade call %v (medians)",
		b.N, med(total), total, med(build), med(check), med(deploy), med(upgrade))
}

// TestE2EDeployUpgradeRunning: game deploy --upgrade-running moves the
// running instances of a game to the deployed version, each reported,
// and exits 1 naming the reason when the new version cannot take over
// (it lacks load_state), the instances going on with their version.
func TestE2EDeployUpgradeRunning(t *testing.T) {
	d := startDev(t)
	ctx := context.Background()
	dir := t.TempDir()
	v1, v2 := filepath.Join(dir, "v1.wasm"), filepath.Join(dir, "v2.wasm")
	if err := os.WriteFile(v1, arenaModule(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v2, gamebuildtest.ArenaVariant(t, "arena_double_points"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctl := func(wantOK bool, args ...string) string {
		t.Helper()
		out, err := rccctl(t, d.env, args...)
		if (err == nil) != wantOK {
			t.Fatalf("rccctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := ctl(true, "game", "deploy", v1, "--name", "arena", "--upgrade-running"); !strings.Contains(out, "no running instance to upgrade") {
		t.Fatalf("deploy with nothing running: %s", out)
	}
	var ids []string
	for range 2 {
		in, err := d.c.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.Id)
	}
	for _, id := range ids {
		testenv.WaitFor(t, id+" running", time.Minute, func() bool {
			in, err := d.c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id})
			return err == nil && in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING
		})
	}
	out := ctl(true, "game", "deploy", v2, "--name", "arena", "--upgrade-running")
	for _, id := range ids {
		if !strings.Contains(out, id+" upgraded from version 1 to 2") {
			t.Errorf("deploy --upgrade-running lacks %s's upgrade:\n%s", id, out)
		}
		if in, err := d.c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id}); err != nil || in.Version != 2 {
			t.Errorf("%s after the upgrade: %v %v", id, in, err)
		}
	}

	// A version without save_state/load_state cannot take over.
	out = ctl(false, "game", "deploy", "../../pkg/coordinator/testdata/minimal.wasm", "--name", "arena", "--upgrade-running", "--output", "json")
	var res struct {
		Version  struct{ Version uint32 } `json:"version"`
		Upgrades []struct {
			ID, Error string
			OK        bool
			Version   uint32
		} `json:"upgrades"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("deploy --output json: %v\n%s", err, out)
	}
	if res.Version.Version != 3 || len(res.Upgrades) != 2 {
		t.Fatalf("deploy of version 3: %s", out)
	}
	for _, u := range res.Upgrades {
		if u.OK || u.Version != 2 || !strings.Contains(u.Error, "load_state") {
			t.Errorf("upgrade of %s to a version without load_state: %+v", u.ID, u)
		}
	}
	for _, id := range ids {
		if in, err := d.c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id}); err != nil || in.Version != 2 || in.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
			t.Errorf("%s after the refused upgrade: %v %v; want running version 2", id, in, err)
		}
	}
}

// tickerGame is a game without save_state/load_state: its state is its
// generation's name and the frame number.
const tickerGame = `package main

import (
	"fmt"

	"github.com/rcc-games/rcc/pkg/sdk"
)

func main() {}

func init() { sdk.Register(&game{}) }

type game struct{ frame uint64 }

func (g *game) Init(sdk.Config) error        { return nil }
func (g *game) Join(string)                  {}
func (g *game) Leave(string)                 {}
func (g *game) Input(string, []byte)         {}
func (g *game) Tick(float32)                 { g.frame++ }
func (g *game) State(dst []byte) ([]byte, error) {
	return fmt.Appendf(dst, "gen-1 %d", g.frame), nil
}
`

// TestE2EGameDevRestartsWithoutUpgrade: a game without the
// save_state/load_state pair is said so once, and each change restarts its
// instance on the new version instead of upgrading it.
func TestE2EGameDevRestartsWithoutUpgrade(t *testing.T) {
	d := startDev(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ticker")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mod := fmt.Sprintf("module example.com/ticker\n\ngo 1.26.0\n\nrequire github.com/rcc-games/rcc v0.0.0\n\nreplace github.com/rcc-games/rcc => %s\n", root)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(tickerGame), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGameDev(t, d, dir, "--debounce", "100ms", "--stop-on-exit")
	first := g.waitOutput(t, "game dev to spawn an instance", 0, regexp.MustCompile(`spawned instance (\S+) of ticker at version 1`), 3*time.Minute)[1]
	ctx := context.Background()
	state := func(wantGen string) {
		t.Helper()
		s, err := play.Join(ctx, d.c, play.JoinRequest{Game: "ticker", Player: "p"}, play.Config{RawStates: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testenv.WaitFor(t, "a state of "+wantGen, 30*time.Second, func() bool {
			_, b := s.LastState(nil)
			return strings.HasPrefix(string(b), wantGen+" ")
		})
	}
	state("gen-1")
	restarted := regexp.MustCompile(`(?m)^\S+ ticker version (\d+): build \S+, check \S+, deploy \S+, restart \S+ \(1 instance\(s\): (\S+)→(\S+)\)$`)
	prev := first
	for gen := 2; gen <= 3; gen++ {
		mark := len(g.out.String())
		editFile(t, src, fmt.Sprintf("gen-%d", gen-1), fmt.Sprintf("gen-%d", gen))
		m := g.waitOutput(t, "the restart", mark, restarted, 3*time.Minute)
		if m[1] != fmt.Sprint(gen) || m[2] != prev || m[3] == prev {
			t.Fatalf("cycle line %q: want version %d on a new instance", m[0], gen)
		}
		if in, err := d.c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: prev}); err != nil || in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING {
			t.Fatalf("the instance before the restart: %v %v; want it stopped", in, err)
		}
		state(fmt.Sprintf("gen-%d", gen))
		prev = m[3]
	}
	if n := strings.Count(g.out.String(), "does not save its state for a hot upgrade"); n != 1 {
		t.Errorf("the missing pair was said %d times, want once:\n%s", n, g.out.String())
	}
	g.interrupt(t)
	if !strings.Contains(g.out.String(), "stopped "+prev) {
		t.Errorf("--stop-on-exit did not stop %s:\n%s", prev, g.out.String())
	}
	testenv.WaitFor(t, prev+" stopped", 30*time.Second, func() bool {
		in, err := d.c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: prev})
		return err == nil && in.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING
	})
}
