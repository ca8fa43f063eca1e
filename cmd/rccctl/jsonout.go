package main

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rcc-games/rcc/pkg/localrun"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// The JSON that --output json prints, one struct per shape (docs/cli.md):
// snake_case names, numbers as JSON numbers, states as the words the
// tables use, durations in milliseconds (_ms), sizes and memory in bytes
// (_bytes), times RFC 3339 in UTC (_at), arrays and maps never null. An
// absent optional object (stats before the first report) is null.

// jsonTime is an RFC 3339 time in UTC, null when unset.
type jsonTime = *time.Time

func tsJSON(ts *timestamppb.Timestamp) jsonTime {
	if ts == nil {
		return nil
	}
	t := ts.AsTime().UTC()
	return &t
}

func mapJSON(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func sliceJSON[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// instanceOut is an instance.
type instanceOut struct {
	ID             string            `json:"id"`
	Game           string            `json:"game"`
	Version        uint32            `json:"version"`
	State          string            `json:"state"`
	Reason         string            `json:"reason"`
	ExecutorID     string            `json:"executor_id"`
	WSURL          string            `json:"ws_url"`
	MaxPlayers     uint32            `json:"max_players"`
	Players        uint32            `json:"players"`
	Reserved       uint32            `json:"reserved"`
	Labels         map[string]string `json:"labels"`
	Params         map[string]any    `json:"params"`
	Seed           uint64            `json:"seed"`
	LeaseMs        int64             `json:"lease_ms"`
	LeaseLeftMs    int64             `json:"lease_left_ms"`
	LeaseExpiresAt jsonTime          `json:"lease_expires_at"`
	Respawn        bool              `json:"respawn"`
	RespawnedFrom  string            `json:"respawned_from"`
	Record         bool              `json:"record"`
	ModuleSHA256   string            `json:"module_sha256"`
	Stats          *instanceStatsOut `json:"stats"`
	CreatedAt      jsonTime          `json:"created_at"`
	UpdatedAt      jsonTime          `json:"updated_at"`
	// Checkpoints (docs/snapshots.md); left out when the instance has none.
	CheckpointEveryMs uint32 `json:"checkpoint_every_ms,omitempty"`
	CheckpointFrame   uint64 `json:"checkpoint_frame,omitempty"`
}

// instanceStatsOut are an instance's live figures.
type instanceStatsOut struct {
	TickP50Ms   float64  `json:"tick_p50_ms"`
	TickP99Ms   float64  `json:"tick_p99_ms"`
	MemoryBytes int64    `json:"memory_bytes"`
	FuelP50     int64    `json:"fuel_p50"`
	FuelMax     int64    `json:"fuel_max"`
	Frames      uint64   `json:"frames"`
	Overruns    uint64   `json:"overruns"`
	ReportedAt  jsonTime `json:"reported_at"`
}

func instanceJSON(in *rccv1.Instance, now time.Time) instanceOut {
	out := instanceOut{ID: in.Id, Game: in.Game, Version: in.Version, State: stateName(in.State), Reason: in.Reason,
		ExecutorID: in.ExecutorId, WSURL: in.WsUrl, MaxPlayers: in.MaxPlayers, Players: in.Players, Reserved: in.Reserved,
		Labels: mapJSON(in.Labels), Params: in.Params.AsMap(), Seed: in.Seed, LeaseMs: int64(in.LeaseSeconds) * 1000,
		LeaseExpiresAt: tsJSON(in.LeaseExpiresAt), Respawn: in.Respawn, RespawnedFrom: in.RespawnedFrom, Record: in.Record,
		ModuleSHA256: in.ModuleSha256, CreatedAt: tsJSON(in.CreatedAt), UpdatedAt: tsJSON(in.UpdatedAt),
		CheckpointEveryMs: in.CheckpointEveryMs, CheckpointFrame: in.CheckpointFrame}
	if in.LeaseExpiresAt != nil && !terminal(in.State) {
		out.LeaseLeftMs = max(in.LeaseExpiresAt.AsTime().Sub(now).Milliseconds(), 0)
	}
	if st := in.Stats; st != nil {
		out.Stats = &instanceStatsOut{TickP50Ms: st.TickP50Ms, TickP99Ms: st.TickP99Ms, MemoryBytes: st.MemoryBytes,
			FuelP50: st.FuelP50, FuelMax: st.FuelMax, Frames: st.Frames, Overruns: st.Overruns, ReportedAt: tsJSON(st.ReportedAt)}
	}
	return out
}

// terminal reports whether s is an end state.
func terminal(s rccv1.InstanceState) bool {
	switch s {
	case rccv1.InstanceState_INSTANCE_STATE_STOPPED, rccv1.InstanceState_INSTANCE_STATE_FAILED, rccv1.InstanceState_INSTANCE_STATE_LOST:
		return true
	}
	return false
}

func instancesJSON(ins []*rccv1.Instance, now time.Time) []instanceOut {
	out := make([]instanceOut, len(ins))
	for i, in := range ins {
		out[i] = instanceJSON(in, now)
	}
	return out
}

// executorOut is an executor.
type executorOut struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	State           string            `json:"state"`
	WSURL           string            `json:"ws_url"`
	Capacity        uint32            `json:"capacity"`
	Assigned        uint32            `json:"assigned"`
	Labels          map[string]string `json:"labels"`
	Version         string            `json:"version"`
	Stats           executorStatsOut  `json:"stats"`
	LastHeartbeatAt jsonTime          `json:"last_heartbeat_at"`
	RegisteredAt    jsonTime          `json:"registered_at"`
}

// executorStatsOut are an executor's live figures.
type executorStatsOut struct {
	Players     uint32  `json:"players"`
	Instances   uint32  `json:"instances"`
	TickP50Ms   float64 `json:"tick_p50_ms"`
	TickP99Ms   float64 `json:"tick_p99_ms"`
	MemoryBytes int64   `json:"memory_bytes"`
	FuelUsed    int64   `json:"fuel_used"`
}

func executorJSON(x *rccv1.Executor) executorOut {
	s := x.Stats
	return executorOut{ID: x.Id, Name: x.Name, State: executorStateName(x.State), WSURL: x.WsUrl, Capacity: x.Capacity,
		Assigned: x.Assigned, Labels: mapJSON(x.Labels), Version: x.Version,
		Stats: executorStatsOut{Players: s.GetPlayers(), Instances: s.GetInstances(), TickP50Ms: s.GetTickP50Ms(),
			TickP99Ms: s.GetTickP99Ms(), MemoryBytes: s.GetMemoryBytes(), FuelUsed: s.GetFuelUsed()},
		LastHeartbeatAt: tsJSON(x.LastHeartbeat), RegisteredAt: tsJSON(x.RegisteredAt)}
}

func executorsJSON(xs []*rccv1.Executor) []executorOut {
	out := make([]executorOut, len(xs))
	for i, x := range xs {
		out[i] = executorJSON(x)
	}
	return out
}

// gameOut is a game.
type gameOut struct {
	Name          string   `json:"name"`
	LatestVersion uint32   `json:"latest_version"`
	VersionCount  uint32   `json:"version_count"`
	UpdatedAt     jsonTime `json:"updated_at"`
}

func gameJSON(g *rccv1.Game) gameOut {
	return gameOut{Name: g.Name, LatestVersion: g.LatestVersion, VersionCount: g.VersionCount, UpdatedAt: tsJSON(g.UpdatedAt)}
}

// limitsOut are a version's sandbox budgets; 0 means the executor's default.
type limitsOut struct {
	InitFuel         uint64 `json:"init_fuel"`
	FrameFuel        uint64 `json:"frame_fuel"`
	MemoryLimitBytes uint64 `json:"memory_limit_bytes"`
}

// versionOut is a game version.
type versionOut struct {
	Game            string    `json:"game"`
	Version         uint32    `json:"version"`
	ModuleSHA256    string    `json:"module_sha256"`
	ModuleSizeBytes int64     `json:"module_size_bytes"`
	AssetsSHA256    string    `json:"assets_sha256"`
	AssetsSizeBytes int64     `json:"assets_size_bytes"`
	Description     string    `json:"description"`
	Limits          limitsOut `json:"limits"`
	CreatedAt       jsonTime  `json:"created_at"`
}

func versionJSON(v *rccv1.GameVersion) versionOut {
	l := v.GetLimits()
	return versionOut{Game: v.Game, Version: v.Version, ModuleSHA256: v.ModuleSha256, ModuleSizeBytes: v.ModuleSize,
		AssetsSHA256: v.AssetsSha256, AssetsSizeBytes: v.AssetsSize, Description: v.Description,
		Limits: limitsOut{InitFuel: l.GetInitFuel(), FrameFuel: l.GetFrameFuel(),
			MemoryLimitBytes: uint64(l.GetMemoryLimitPages()) * wasmPageBytes},
		CreatedAt: tsJSON(v.CreatedAt)}
}

func versionsJSON(vs []*rccv1.GameVersion) []versionOut {
	out := make([]versionOut, len(vs))
	for i, v := range vs {
		out[i] = versionJSON(v)
	}
	return out
}

// wasmPageBytes is the size of a WebAssembly memory page.
const wasmPageBytes = 64 << 10

// deployOut is the result of game deploy.
type deployOut struct {
	Version            versionOut `json:"version"`
	Unchanged          bool       `json:"unchanged"`
	ModuleDeduplicated bool       `json:"module_deduplicated"`
}

// joinOut is where a joining player connects.
type joinOut struct {
	URL             string   `json:"url"`
	WSURL           string   `json:"ws_url"`
	InstanceID      string   `json:"instance_id"`
	ExecutorID      string   `json:"executor_id"`
	Created         bool     `json:"created"`
	Ticket          string   `json:"ticket"`
	TicketExpiresAt jsonTime `json:"ticket_expires_at"`
}

// deployJSON is what game deploy prints under --output json.
func deployJSON(res *rccv1.UploadVersionResponse) deployOut {
	return deployOut{Version: versionJSON(res.Version), Unchanged: res.Unchanged, ModuleDeduplicated: res.ModuleDeduplicated}
}

func joinJSON(r *rccv1.JoinResponse) joinOut {
	play, _ := protocol.PlayURL(r.WsUrl, r.InstanceId, r.Ticket)
	return joinOut{URL: play, WSURL: r.WsUrl, InstanceID: r.InstanceId, ExecutorID: r.ExecutorId, Created: r.Created,
		Ticket: r.Ticket, TicketExpiresAt: tsJSON(r.TicketExpiresAt)}
}

// checkOut is the result of game check.
type checkOut struct {
	OK              bool               `json:"ok"`
	SizeBytes       int                `json:"size_bytes"`
	Imports         []string           `json:"imports"`
	Exports         []string           `json:"exports"`
	OptionalExports map[string]bool    `json:"optional_exports"`
	MemoryMinBytes  uint64             `json:"memory_min_bytes"`
	MemoryMaxBytes  uint64             `json:"memory_max_bytes"`
	Problems        []wasmhost.Problem `json:"problems"`
}

func checkJSON(r *wasmhost.Report) checkOut {
	opt := r.Optional
	if opt == nil {
		opt = map[string]bool{}
	}
	return checkOut{OK: r.OK(), SizeBytes: r.Size, Imports: sliceJSON(r.Imports), Exports: sliceJSON(r.Exports), OptionalExports: opt,
		MemoryMinBytes: uint64(r.MemoryMinPages) * wasmPageBytes, MemoryMaxBytes: uint64(r.MemoryMaxPages) * wasmPageBytes,
		Problems: sliceJSON(r.Problems)}
}

// runOut is the result of game run.
type runOut struct {
	OK              bool    `json:"ok"`
	Game            string  `json:"game"`
	ModuleSHA256    string  `json:"module_sha256"`
	Seed            uint64  `json:"seed"`
	Players         int     `json:"players"`
	Ticks           int     `json:"ticks"`
	StateSHA256     string  `json:"state_sha256"`
	StateBytes      int     `json:"state_bytes"`
	TickP50Ms       float64 `json:"tick_p50_ms"`
	TickP99Ms       float64 `json:"tick_p99_ms"`
	TickMaxMs       float64 `json:"tick_max_ms"`
	MemoryBytes     uint64  `json:"memory_bytes"`
	FuelInit        int64   `json:"fuel_init"`
	FuelP50         int64   `json:"fuel_p50"`
	FuelMax         int64   `json:"fuel_max"`
	LogLines        uint64  `json:"log_lines"`
	DroppedLogLines uint64  `json:"dropped_log_lines"`
	ExitReason      string  `json:"exit_reason"`
	Error           string  `json:"error"`
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

func gameRunJSON(r *localrun.Result) runOut {
	return runOut{OK: !r.Failed(), Game: r.Game, ModuleSHA256: r.ModuleSHA256, Seed: r.Seed, Players: r.Players, Ticks: r.Ticks,
		StateSHA256: r.StateSHA256, StateBytes: r.StateBytes, TickP50Ms: usToMs(r.TickP50us), TickP99Ms: usToMs(r.TickP99us),
		TickMaxMs: usToMs(r.TickMaxus), MemoryBytes: r.MemoryBytes, FuelInit: r.FuelInit, FuelP50: r.FuelP50, FuelMax: r.FuelMax,
		LogLines: r.LogLines, DroppedLogLines: r.DroppedLogLines, ExitReason: r.ExitReason, Error: r.Error}
}

// replayOut is the result of game replay.
type replayOut struct {
	OK             bool                  `json:"ok"`
	Game           string                `json:"game"`
	ModuleSHA256   string                `json:"module_sha256"`
	ModuleMatches  bool                  `json:"module_matches"`
	Frames         uint64                `json:"frames"`
	StateSHA256    string                `json:"state_sha256"`
	Checkpoints    []localrun.Checkpoint `json:"checkpoints"`
	Match          bool                  `json:"match"`
	DivergedAt     uint64                `json:"diverged_at"`
	ExpectedSHA256 string                `json:"expected_sha256"`
	GotSHA256      string                `json:"got_sha256"`
	ExitReason     string                `json:"exit_reason"`
	Error          string                `json:"error"`
	Restored       []uint64              `json:"restored,omitempty"`
}

func replayJSON(r *localrun.ReplayResult) replayOut {
	return replayOut{OK: r.Match && r.Error == "", Game: r.Game, ModuleSHA256: r.ModuleSHA256, ModuleMatches: r.ModuleMatches,
		Frames: r.Frames, StateSHA256: r.StateSHA256, Checkpoints: sliceJSON(r.Checkpoints), Match: r.Match,
		DivergedAt: r.DivergedAt, ExpectedSHA256: r.Expected, GotSHA256: r.Got, ExitReason: r.ExitReason, Error: r.Error,
		Restored: r.Restored}
}

// watchOut is one line of --watch under --output json: an instance as it
// is now, at the time of the change.
type watchOut struct {
	At       jsonTime    `json:"at"`
	Snapshot bool        `json:"snapshot"`
	Instance instanceOut `json:"instance"`
}
