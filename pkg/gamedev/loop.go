package gamedev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/gamebuild"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Config is what Run needs.
type Config struct {
	// Dir is the game's source directory; Game its name on the
	// coordinator (default Dir's base name).
	Dir, Game string
	// Build are the options of gamebuild.BuildWith.
	Build gamebuild.Options
	// Quiet is the watcher's debounce (0: DefaultQuiet).
	Quiet time.Duration
	// Spawn is the instance started when none of the game runs (its Game
	// is set by Run).
	Spawn *rccv1.SpawnRequest
	// CallTimeout bounds each call to the coordinator (0: 30 s); the
	// upgrades of a cycle get UpgradeTimeout, at least CallTimeout.
	CallTimeout time.Duration
	// RenewEvery renews the lease of the instances Run spawned (0: every
	// 10 minutes), so that they outlive their lease while the loop runs.
	RenewEvery time.Duration
	// StopOnExit stops the instances Run spawned when ctx ends; else they
	// go on running, their players connected.
	StopOnExit bool
	// Out receives one line per cycle, and the errors of a failed one in
	// full (compiler output, check problems).
	Out io.Writer
}

// Cycle is the outcome of one build, check, deploy and upgrade.
type Cycle struct {
	// Version is the version deployed (0 when the cycle failed before).
	Version   uint32
	Unchanged bool
	Build     time.Duration
	Check     time.Duration
	Deploy    time.Duration
	// Upgrade is how long the slowest upgrade (or restart) took.
	Upgrade  time.Duration
	Upgraded []Upgraded
	// Restarted are the instances stopped and spawned anew because the
	// game lacks the save_state/load_state pair, as "OLD→NEW" ids.
	Restarted []string
	// Err is the cycle's failure; the running instances are untouched
	// when it failed before the upgrade.
	Err error
}

// Loop is the author's loop of one game: Run drives it, tests call
// Cycle.
type Loop struct {
	cfg     Config
	c       *client.Client
	dir     string
	outDir  string
	spawned []string
	// noPair is set while the game's module lacks save_state or
	// load_state; saidNoPair once the author was told it cannot upgrade.
	noPair, saidNoPair bool
}

// New prepares a loop for cfg against the coordinator of c. Close
// removes its build directory.
func New(c *client.Client, cfg Config) (*Loop, error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", cfg.Dir)
	}
	if _, err := gamebuild.Detect(dir); err != nil {
		return nil, err
	}
	if cfg.Game == "" {
		cfg.Game = filepath.Base(dir)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.RenewEvery <= 0 {
		cfg.RenewEvery = 10 * time.Minute
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Spawn == nil {
		cfg.Spawn = &rccv1.SpawnRequest{}
	}
	out, err := os.MkdirTemp("", "rcc-game-dev-")
	if err != nil {
		return nil, err
	}
	return &Loop{cfg: cfg, c: c, dir: dir, outDir: out}, nil
}

// Close removes the loop's build outputs.
func (l *Loop) Close() error { return os.RemoveAll(l.outDir) }

// Game is the game's name on the coordinator.
func (l *Loop) Game() string { return l.cfg.Game }

// Spawned lists the instances the loop started.
func (l *Loop) Spawned() []string { return slices.Clone(l.spawned) }

// Run deploys the current sources, spawns an instance when none of the
// game runs, then rebuilds, deploys and upgrades on every change under
// the directory until ctx ends. A failed cycle is printed and the loop
// goes on; Run returns nil when ctx ends, an error only when it cannot
// go on (the watcher fails, the first instance does not start).
func Run(ctx context.Context, c *client.Client, cfg Config) error {
	l, err := New(c, cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	// The coordinator must answer (and take the token) before the loop
	// starts: a typo in --addr is not a failed cycle to retry on save.
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	_, err = l.live(cctx)
	cancel()
	if err != nil {
		return err
	}
	w, err := Watch(l.dir, cfg.Quiet)
	if err != nil {
		return fmt.Errorf("watch %s: %w", l.dir, err)
	}
	defer w.Close()
	out := l.cfg.Out
	fmt.Fprintf(out, "watching %s for changes to game %s (Ctrl-C ends)\n", l.dir, l.cfg.Game)
	defer l.exit()
	// The first instance is spawned after the first good cycle: sources
	// that do not build at start wait for their fix.
	needInstance := true
	cycle := func() error {
		if cy := l.Cycle(ctx); cy.Err == nil && needInstance {
			if err := l.ensureInstance(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			needInstance = false
		}
		return nil
	}
	if err := cycle(); err != nil {
		return err
	}
	renew := time.NewTicker(l.cfg.RenewEvery)
	defer renew.Stop()
	changes := make(chan error, 1)
	next := func() {
		go func() {
			_, err := w.Next(ctx)
			changes <- err
		}()
	}
	next()
	for {
		select {
		case <-renew.C:
			l.renew(ctx)
		case err := <-changes:
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return fmt.Errorf("watch %s: %w", l.dir, err)
			}
			if err := cycle(); err != nil {
				return err
			}
			next()
		}
	}
}

// Cycle builds, checks and deploys the sources, then upgrades every
// running instance of the game to the new version (or restarts it when
// the game lacks the save_state/load_state pair), and prints the outcome.
func (l *Loop) Cycle(ctx context.Context) Cycle {
	cy := l.cycle(ctx)
	l.print(cy)
	return cy
}

func (l *Loop) cycle(ctx context.Context) (cy Cycle) {
	out := filepath.Join(l.outDir, l.cfg.Game+".wasm")
	start := time.Now()
	err := gamebuild.BuildWith(ctx, l.dir, out, l.cfg.Build)
	cy.Build = time.Since(start)
	if err != nil {
		cy.Err = fmt.Errorf("build failed: %w", err)
		return cy
	}
	start = time.Now()
	wasm, err := os.ReadFile(out)
	if err != nil {
		cy.Err = err
		return cy
	}
	report := wasmhost.Check(wasm, 0)
	cy.Check = time.Since(start)
	if !report.OK() {
		var b strings.Builder
		fmt.Fprintf(&b, "check failed: %d problem(s):", len(report.Problems))
		for _, p := range report.Problems {
			fmt.Fprintf(&b, "\n  - %s: %s", p.Code, p.Message)
		}
		cy.Err = errors.New(b.String())
		return cy
	}
	l.noPair = !slices.Contains(report.Exports, "save_state") || !slices.Contains(report.Exports, "load_state")
	if l.noPair {
		l.sayNoPair("exports no save_state/load_state pair")
	}
	start = time.Now()
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	res, err := l.c.Deploy(cctx, client.DeployRequest{Game: l.cfg.Game, Module: wasm})
	cancel()
	cy.Deploy = time.Since(start)
	if err != nil {
		cy.Err = fmt.Errorf("deploy failed: %w", callErr(err))
		return cy
	}
	cy.Version, cy.Unchanged = res.Version.Version, res.Unchanged
	start = time.Now()
	cctx, cancel = context.WithTimeout(ctx, max(l.cfg.CallTimeout, UpgradeTimeout))
	defer cancel()
	if l.noPair {
		// A restart waits for its new instance as long as the loop runs
		// (see spawnAndWait), not only UpgradeTimeout.
		cy.Restarted, cy.Err = l.restartAll(ctx, cy.Version)
		cy.Upgrade = time.Since(start)
		return cy
	}
	ups, err := UpgradeRunning(cctx, l.c, l.cfg.Game, cy.Version)
	cy.Upgrade = time.Since(start)
	cy.Upgraded = ups
	if err != nil {
		cy.Err = err
		return cy
	}
	var failed []error
	for _, u := range ups {
		if errors.Is(u.Err, ErrNoUpgradePair) {
			// A version does not save its state: restart this one.
			why := u.Err.Error()
			if _, after, ok := strings.Cut(why, wasmhost.ErrNoUpgrade.Error()+": "); ok {
				why = after
			}
			l.sayNoPair("does not save its state for a hot upgrade (" + why + ")")
			if in, err := l.restart(ctx, u.Instance); err != nil {
				failed = append(failed, fmt.Errorf("restart %s: %w", u.ID, err))
			} else {
				cy.Restarted = append(cy.Restarted, u.ID+"→"+in.Id)
			}
			continue
		}
		if u.Err != nil {
			failed = append(failed, fmt.Errorf("upgrade of %s from version %d failed, it goes on with version %d: %w", u.ID, u.From, u.From, u.Err))
		}
	}
	cy.Err = errors.Join(failed...)
	return cy
}

// sayNoPair says, once, that the game cannot be hot-upgraded and why.
func (l *Loop) sayNoPair(why string) {
	if l.saidNoPair {
		return
	}
	l.saidNoPair = true
	fmt.Fprintf(l.cfg.Out, "note: %s %s; save_state/load_state (docs/abi.md, \"Hot upgrade\"; sdk.Upgradable in Go) keep the players in the game, without them each change restarts its instances: players reconnect and the game starts over\n", l.cfg.Game, why)
}

// print writes the cycle's line, or its failure in full.
func (l *Loop) print(cy Cycle) {
	w := l.cfg.Out
	ts := time.Now().Format("15:04:05")
	if cy.Err != nil {
		fmt.Fprintf(w, "%s %s: %v\n", ts, l.cfg.Game, cy.Err)
		fmt.Fprintf(w, "%s %s: the running game is left as it was; fix and save to try again\n", ts, l.cfg.Game)
		return
	}
	what := fmt.Sprintf("version %d", cy.Version)
	if cy.Unchanged {
		what += " (unchanged)"
	}
	var done []string
	for _, u := range cy.Upgraded {
		if u.Err == nil {
			done = append(done, u.ID)
		}
	}
	action := fmt.Sprintf("upgrade %v (%d instance(s)%s)", ms(cy.Upgrade), len(done), idList(done))
	switch {
	case len(cy.Restarted) > 0:
		action = fmt.Sprintf("restart %v (%d instance(s)%s)", ms(cy.Upgrade), len(cy.Restarted), idList(cy.Restarted))
	case len(cy.Upgraded) == 0:
		action = "no running instance to upgrade"
	}
	fmt.Fprintf(w, "%s %s %s: build %v, check %v, deploy %v, %s\n", ts, l.cfg.Game, what, ms(cy.Build), ms(cy.Check), ms(cy.Deploy), action)
}

func idList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ": " + strings.Join(ids, " ")
}

func ms(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// live lists the instances of the game that run or are about to.
func (l *Loop) live(ctx context.Context) ([]*rccv1.Instance, error) {
	return l.c.ListInstances(ctx, &rccv1.ListInstancesRequest{Game: l.cfg.Game, States: []rccv1.InstanceState{
		rccv1.InstanceState_INSTANCE_STATE_PENDING, rccv1.InstanceState_INSTANCE_STATE_STARTING, rccv1.InstanceState_INSTANCE_STATE_RUNNING}})
}

// ensureInstance spawns an instance when none of the game runs or is
// about to, and waits for it to run.
func (l *Loop) ensureInstance(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	ins, err := l.live(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("list the instances of %s: %w", l.cfg.Game, callErr(err))
	}
	if len(ins) > 0 {
		for _, in := range ins {
			fmt.Fprintf(l.cfg.Out, "instance %s of %s is %s at version %d\n", in.Id, l.cfg.Game, stateWord(in.State), in.Version)
		}
		return nil
	}
	req := cloneSpawn(l.cfg.Spawn)
	req.Game = l.cfg.Game
	in, err := l.spawnAndWait(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(l.cfg.Out, "spawned instance %s of %s at version %d; play it: rcc-view %s (or rccctl join %s)\n",
		in.Id, l.cfg.Game, in.Version, l.cfg.Game, l.cfg.Game)
	return nil
}

func cloneSpawn(s *rccv1.SpawnRequest) *rccv1.SpawnRequest {
	return &rccv1.SpawnRequest{Game: s.Game, MaxPlayers: s.MaxPlayers, LeaseSeconds: s.LeaseSeconds, Labels: s.Labels,
		Params: s.Params, Seed: s.Seed, Respawn: s.Respawn, Record: s.Record, SnapshotHz: s.SnapshotHz}
}

// StartingNote is how often spawnAndWait says that an instance is still
// starting.
const StartingNote = 15 * time.Second

// spawnAndWait spawns req and waits until the instance runs, fails or
// stops, or ctx (the loop's) ends: a slow start (the executor compiling a
// large module, a loaded machine) is waited for, said every StartingNote,
// not taken for a failure. Each call to the coordinator gets CallTimeout.
func (l *Loop) spawnAndWait(ctx context.Context, req *rccv1.SpawnRequest) (*rccv1.Instance, error) {
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	in, err := l.c.Instances.Spawn(cctx, req)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", req.Game, callErr(err))
	}
	l.spawned = append(l.spawned, in.Id)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	start, said := time.Now(), time.Duration(0)
	for {
		switch in.State {
		case rccv1.InstanceState_INSTANCE_STATE_RUNNING:
			return in, nil
		case rccv1.InstanceState_INSTANCE_STATE_FAILED, rccv1.InstanceState_INSTANCE_STATE_STOPPED,
			rccv1.InstanceState_INSTANCE_STATE_STOPPING, rccv1.InstanceState_INSTANCE_STATE_LOST:
			return nil, fmt.Errorf("instance %s of %s is %s: %s", in.Id, req.Game, stateWord(in.State), in.Reason)
		}
		if waited := time.Since(start); waited-said >= StartingNote {
			said = waited
			fmt.Fprintf(l.cfg.Out, "instance %s of %s is still %s after %v; waiting for it (rccctl instance get %s)\n",
				in.Id, req.Game, stateWord(in.State), waited.Round(time.Second), in.Id)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("instance %s of %s is still %s: %w", in.Id, req.Game, stateWord(in.State), ctx.Err())
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
		next, err := l.c.Instances.Get(cctx, &rccv1.GetInstanceRequest{Id: in.Id})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, callErr(err)
			}
			// A slow or unreachable coordinator: ask again.
			continue
		}
		in = next
	}
}

// restartAll restarts every running instance of the game that does not
// run version.
func (l *Loop) restartAll(ctx context.Context, version uint32) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	ins, err := l.c.ListInstances(cctx, &rccv1.ListInstancesRequest{Game: l.cfg.Game,
		States: []rccv1.InstanceState{rccv1.InstanceState_INSTANCE_STATE_RUNNING}})
	cancel()
	if err != nil {
		return nil, callErr(err)
	}
	var ids []string
	var errs []error
	for _, in := range ins {
		if in.Version == version {
			continue
		}
		next, err := l.restart(ctx, in)
		if err != nil {
			errs = append(errs, fmt.Errorf("restart %s: %w", in.Id, err))
			continue
		}
		ids = append(ids, in.Id+"→"+next.Id)
	}
	return ids, errors.Join(errs...)
}

// restart stops in and spawns its like on the game's latest version.
func (l *Loop) restart(ctx context.Context, in *rccv1.Instance) (*rccv1.Instance, error) {
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	_, err := l.c.Instances.Stop(cctx, &rccv1.StopInstanceRequest{Id: in.Id, Reason: "restarted by rccctl game dev for a new version"})
	cancel()
	if err != nil {
		return nil, callErr(err)
	}
	l.spawned = slices.DeleteFunc(l.spawned, func(id string) bool { return id == in.Id })
	return l.spawnAndWait(ctx, &rccv1.SpawnRequest{Game: in.Game, MaxPlayers: in.MaxPlayers, LeaseSeconds: in.LeaseSeconds,
		Labels: in.Labels, Params: in.Params, Respawn: in.Respawn, Record: in.Record, SnapshotHz: in.SnapshotHz})
}

// renew renews the leases of the instances the loop spawned.
func (l *Loop) renew(ctx context.Context) {
	for _, id := range l.spawned {
		cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
		if _, err := l.c.Instances.RenewLease(cctx, &rccv1.RenewLeaseRequest{Id: id}); err != nil {
			fmt.Fprintf(l.cfg.Out, "renew the lease of %s: %v\n", id, callErr(err))
		}
		cancel()
	}
}

// exit stops the spawned instances when asked to, else says they run on.
func (l *Loop) exit() {
	if len(l.spawned) == 0 {
		return
	}
	if !l.cfg.StopOnExit {
		fmt.Fprintf(l.cfg.Out, "left running: %s (rccctl instance stop %s)\n", strings.Join(l.spawned, " "), strings.Join(l.spawned, " "))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.CallTimeout)
	defer cancel()
	for _, id := range l.spawned {
		if _, err := l.c.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: id, Reason: "rccctl game dev ended"}); err != nil {
			fmt.Fprintf(l.cfg.Out, "stop %s: %v\n", id, callErr(err))
			continue
		}
		fmt.Fprintf(l.cfg.Out, "stopped %s\n", id)
	}
}
