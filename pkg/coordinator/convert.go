package coordinator

import (
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/lifecycle/lifecyclepb"
	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func tsOf(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

var executorStateToProto = map[store.ExecutorState]rccv1.ExecutorState{
	store.ExecutorActive:   rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE,
	store.ExecutorDraining: rccv1.ExecutorState_EXECUTOR_STATE_DRAINING,
	store.ExecutorLost:     rccv1.ExecutorState_EXECUTOR_STATE_LOST,
}

func paramsProto(js string) *structpb.Struct {
	if js == "" {
		return nil
	}
	s := &structpb.Struct{}
	if protojson.Unmarshal([]byte(js), s) != nil {
		return nil
	}
	return s
}

func paramsJSON(s *structpb.Struct) (string, error) {
	if s == nil || len(s.Fields) == 0 {
		return "", nil
	}
	b, err := protojson.Marshal(s)
	return string(b), err
}

func instanceProto(in store.Instance) *rccv1.Instance {
	return &rccv1.Instance{
		Id: in.ID, Game: in.Game, Version: in.Version, State: lifecyclepb.StateToProto(in.State), ExecutorId: in.ExecutorID,
		WsUrl: in.WSURL, MaxPlayers: in.MaxPlayers, Players: in.Players, Reserved: in.Reserved, Labels: in.Labels,
		Params: paramsProto(in.Params), Seed: in.Seed, LeaseSeconds: in.LeaseSeconds, LeaseExpiresAt: tsOf(in.LeaseExpiresAt),
		Respawn: in.Respawn, RespawnedFrom: in.RespawnedFrom, Record: in.Record, SnapshotHz: in.SnapshotHz, Reason: string(in.Reason), CreatedAt: tsOf(in.CreatedAt),
		UpdatedAt: tsOf(in.UpdatedAt), ModuleSha256: in.ModuleSHA256, Stats: instanceStatsProto(in.Stats),
		CheckpointEveryMs: uint32(in.CheckpointEvery.Milliseconds()), CheckpointFrame: in.CheckpointFrame,
	}
}

func instanceStatsProto(st *store.InstanceStats) *rccv1.InstanceStats {
	if st == nil {
		return nil
	}
	return &rccv1.InstanceStats{
		TickP50Ms: st.TickP50ms, TickP99Ms: st.TickP99ms, MemoryBytes: st.MemoryBytes,
		FuelP50: st.FuelP50, FuelMax: st.FuelMax, Frames: st.Frames, Overruns: st.Overruns,
		ReportedAt: tsOf(st.ReportedAt),
	}
}

// instanceStatsFromProto takes an executor's figures; the store sets when
// they were reported.
func instanceStatsFromProto(st *rccv1.InstanceStats) *store.InstanceStats {
	if st == nil {
		return nil
	}
	return &store.InstanceStats{
		TickP50ms: st.GetTickP50Ms(), TickP99ms: st.GetTickP99Ms(), MemoryBytes: st.GetMemoryBytes(),
		FuelP50: st.GetFuelP50(), FuelMax: st.GetFuelMax(), Frames: st.GetFrames(), Overruns: st.GetOverruns(),
	}
}

func versionProto(v store.Version) *rccv1.GameVersion {
	return &rccv1.GameVersion{
		Game: v.Game, Version: v.Version, ModuleSha256: v.ModuleSHA256, ModuleSize: v.ModuleSize,
		AssetsSha256: v.AssetsSHA256, AssetsSize: v.AssetsSize, Description: v.Description, CreatedAt: tsOf(v.CreatedAt),
		Limits: &rccv1.Limits{InitFuel: v.Limits.InitFuel, FrameFuel: v.Limits.FrameFuel, MemoryLimitPages: v.Limits.MemoryLimitPages,
			SnapshotHz: v.Limits.SnapshotHz, CheckpointEveryMs: uint32(v.Limits.CheckpointEvery.Milliseconds())},
	}
}

func executorProto(x store.Executor) *rccv1.Executor {
	return &rccv1.Executor{
		Id: x.ID, Name: x.Name, WsUrl: x.WSURL, State: executorStateToProto[x.State], Capacity: x.Capacity, Labels: x.Labels,
		Stats: &rccv1.ExecutorStats{
			Players: x.Stats.Players, Instances: x.Stats.Instances, TickP50Ms: x.Stats.TickP50ms, TickP99Ms: x.Stats.TickP99ms,
			MemoryBytes: x.Stats.MemoryBytes, FuelUsed: x.Stats.FuelUsed,
		},
		LastHeartbeat: tsOf(x.LastHeartbeat), RegisteredAt: tsOf(x.RegisteredAt), Assigned: x.Assigned, Version: x.Version,
	}
}

func statsFromProto(s *rccv1.ExecutorStats) store.ExecutorStats {
	if s == nil {
		return store.ExecutorStats{}
	}
	return store.ExecutorStats{Players: s.Players, Instances: s.Instances, TickP50ms: s.TickP50Ms, TickP99ms: s.TickP99Ms,
		MemoryBytes: s.MemoryBytes, FuelUsed: s.FuelUsed}
}

func reportFromProto(r *rccv1.InstanceReport) store.InstanceReport {
	return store.InstanceReport{InstanceID: r.GetInstanceId(), State: lifecyclepb.StateFromProto(r.GetState()), Players: r.GetPlayers(),
		Reason: lifecycle.Reason(truncate(r.GetReason(), MaxReasonBytes)), JoinedPlayers: r.GetJoinedPlayers(), Stats: instanceStatsFromProto(r.GetStats())}
}
