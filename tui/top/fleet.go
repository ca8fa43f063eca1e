package top

import (
	"fmt"
	"time"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// historyLen is how many live reports an instance keeps for its sparklines
// (at the default 2 s heartbeat, four minutes).
const historyLen = 120

// eventsLen is how many lifecycle events an instance keeps.
const eventsLen = 50

// terminalKeep is how long a stopped, failed or lost instance stays in the
// table after it ended.
const terminalKeep = 10 * time.Minute

// sample is one live report of an instance.
type sample struct {
	tickP99 float64
	players float64
	memory  float64
}

// event is one line of an instance's lifecycle, derived from Watch updates.
type event struct {
	at   time.Time
	text string
	bad  bool
}

// instRow is what top knows of one instance.
type instRow struct {
	in *rccv1.Instance
	// seen is the connection generation whose snapshot (or changes) last
	// carried the instance.
	seen int
	// fps is frames per second, from its last two reports.
	fps    float64
	hist   []sample // oldest first, at most historyLen
	events []event  // oldest first, at most eventsLen
	// mark is the model's last rebuild that took the instance.
	mark int
}

// execRow is what top knows of one executor.
type execRow struct {
	x    *rccv1.Executor
	seen int
}

// versionKey names a game version, for its limits.
type versionKey struct {
	game    string
	version uint32
}

// fleet is the live picture assembled from the Watch stream.
type fleet struct {
	instances map[string]*instRow
	executors map[string]*execRow
	limits    map[versionKey]*rccv1.Limits
	// asked holds the versions whose limits were requested.
	asked map[versionKey]bool
	// gen counts connections; inSnapshot is true until the first change
	// after a connection's snapshot, when what the snapshot did not carry
	// is dropped.
	gen        int
	inSnapshot bool
	// mark counts the model's rebuilds (instRow.mark).
	mark int
}

func newFleet() *fleet {
	return &fleet{instances: map[string]*instRow{}, executors: map[string]*execRow{},
		limits: map[versionKey]*rccv1.Limits{}, asked: map[versionKey]bool{}}
}

// connected starts a new generation: the coming snapshot replaces what
// is known.
func (f *fleet) connected() {
	f.gen++
	f.inSnapshot = true
}

// apply merges one Watch event. It returns the game versions whose limits
// are not known yet.
func (f *fleet) apply(ev *rccv1.WatchEvent) (need []versionKey) {
	if !ev.Snapshot && f.inSnapshot {
		f.endSnapshot()
	}
	at := ev.GetAt().AsTime()
	switch s := ev.Subject.(type) {
	case *rccv1.WatchEvent_Instance:
		if s.Instance == nil {
			return nil
		}
		f.applyInstance(s.Instance, at)
		k := versionKey{s.Instance.Game, s.Instance.Version}
		if !f.asked[k] {
			f.asked[k] = true
			need = append(need, k)
		}
	case *rccv1.WatchEvent_Executor:
		if s.Executor == nil {
			return nil
		}
		r := f.executors[s.Executor.Id]
		if r == nil {
			r = &execRow{}
			f.executors[s.Executor.Id] = r
		}
		r.x, r.seen = s.Executor, f.gen
	}
	return need
}

// endSnapshot drops what the last snapshot did not carry: it ended or went
// away while top was disconnected.
func (f *fleet) endSnapshot() {
	f.inSnapshot = false
	for id, r := range f.executors {
		if r.seen != f.gen {
			delete(f.executors, id)
		}
	}
	for id, r := range f.instances {
		if r.seen != f.gen && !terminal(r.in.State) {
			delete(f.instances, id)
		}
	}
}

func (f *fleet) applyInstance(in *rccv1.Instance, at time.Time) {
	r := f.instances[in.Id]
	if r == nil {
		r = &instRow{}
		f.instances[in.Id] = r
		switch {
		case in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING:
			r.event(at, fmt.Sprintf("running on %s, %d of %d players", f.executorName(in.ExecutorId), in.Players, in.MaxPlayers), false)
		default:
			r.event(at, stateWord(in.State), terminal(in.State) && in.State != rccv1.InstanceState_INSTANCE_STATE_STOPPED)
		}
		if in.Reason != "" && terminal(in.State) {
			r.events[len(r.events)-1].text += ": " + in.Reason
		}
	} else {
		r.changes(r.in, in, at, f.executorName(in.ExecutorId))
	}
	prev := r.in
	if in.Stats == nil && prev != nil && prev.Stats != nil && !terminal(in.State) {
		// A change that is not a heartbeat carries no figures: keep the last.
		in.Stats = prev.Stats
	}
	if st := in.Stats; st != nil && (prev == nil || prev.Stats != st) {
		if prev != nil && prev.Stats != nil && st.Frames > prev.Stats.Frames {
			if dt := st.ReportedAt.AsTime().Sub(prev.Stats.ReportedAt.AsTime()).Seconds(); dt > 0 {
				r.fps = float64(st.Frames-prev.Stats.Frames) / dt
			}
		}
		r.hist = append(r.hist, sample{tickP99: st.TickP99Ms, players: float64(in.Players), memory: float64(st.MemoryBytes)})
		if len(r.hist) > historyLen {
			r.hist = r.hist[len(r.hist)-historyLen:]
		}
	}
	if terminal(in.State) {
		r.fps = 0
	}
	r.in, r.seen = in, f.gen
}

// changes records the lifecycle events between two views of an instance.
func (r *instRow) changes(old, in *rccv1.Instance, at time.Time, exec string) {
	if old.State != in.State {
		text := stateWord(in.State)
		switch in.State {
		case rccv1.InstanceState_INSTANCE_STATE_RUNNING:
			text = "started on " + exec
		case rccv1.InstanceState_INSTANCE_STATE_STARTING:
			text = "starting on " + exec
		}
		if in.Reason != "" && (terminal(in.State) || in.State == rccv1.InstanceState_INSTANCE_STATE_STOPPING) {
			text += ": " + in.Reason
		}
		bad := in.State == rccv1.InstanceState_INSTANCE_STATE_FAILED || in.State == rccv1.InstanceState_INSTANCE_STATE_LOST
		r.event(at, text, bad)
	}
	if old.Players != in.Players && !terminal(in.State) {
		verb := "joined"
		n := int(in.Players) - int(old.Players)
		if n < 0 {
			verb, n = "left", -n
		}
		r.event(at, fmt.Sprintf("%d player%s %s (%d of %d)", n, plural(n), verb, in.Players, in.MaxPlayers), false)
	}
	if !old.LeaseExpiresAt.AsTime().Equal(in.LeaseExpiresAt.AsTime()) && !terminal(in.State) && old.LeaseExpiresAt != nil {
		r.event(at, "lease renewed: "+shortDuration(in.LeaseExpiresAt.AsTime().Sub(at))+" left", false)
	}
}

func (r *instRow) event(at time.Time, text string, bad bool) {
	r.events = append(r.events, event{at: at, text: text, bad: bad})
	if len(r.events) > eventsLen {
		r.events = r.events[len(r.events)-eventsLen:]
	}
}

// addEnded adds instances that ended within terminalKeep before now and
// that top does not know: they ended before it connected.
func (f *fleet) addEnded(ins []*rccv1.Instance, now time.Time) {
	for _, in := range ins {
		if _, ok := f.instances[in.Id]; ok || !terminal(in.State) || now.Sub(in.UpdatedAt.AsTime()) > terminalKeep {
			continue
		}
		in.Stats = nil
		r := &instRow{in: in, seen: f.gen}
		text := stateWord(in.State)
		if in.Reason != "" {
			text += ": " + in.Reason
		}
		r.event(in.UpdatedAt.AsTime(), text, in.State != rccv1.InstanceState_INSTANCE_STATE_STOPPED)
		f.instances[in.Id] = r
	}
}

// prune drops instances that ended more than terminalKeep before now.
func (f *fleet) prune(now time.Time) {
	for id, r := range f.instances {
		if terminal(r.in.State) && now.Sub(r.in.UpdatedAt.AsTime()) > terminalKeep {
			delete(f.instances, id)
		}
	}
}

// executorName is an executor's name, or its id when unknown.
func (f *fleet) executorName(id string) string {
	if r := f.executors[id]; r != nil && r.x.Name != "" {
		return r.x.Name
	}
	return orDash(id)
}

func terminal(s rccv1.InstanceState) bool {
	switch s {
	case rccv1.InstanceState_INSTANCE_STATE_STOPPED, rccv1.InstanceState_INSTANCE_STATE_FAILED, rccv1.InstanceState_INSTANCE_STATE_LOST:
		return true
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
