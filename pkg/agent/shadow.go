package agent

import (
	"context"
	"math"
	"time"

	"google.golang.org/grpc"

	"github.com/rcc-games/rcc/pkg/executor"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// shadow carries out a ShadowInstance order: it fetches the candidate
// version's module and assets, the executor runs the shadow, and the
// coordinator gets the report.
func (a *Agent) shadow(ctx context.Context, o *rccv1.ShadowInstance) {
	v := o.GetVersion()
	log := a.log.With("instance", o.InstanceId, "shadow", v.GetVersion())
	r := &rccv1.ReportShadowRequest{ExecutorId: a.id, RunId: o.RunId}
	spec, err := a.shadowSpec(ctx, o)
	if err == nil {
		var rep executor.ShadowReport
		if rep, err = a.ex.Shadow(ctx, o.InstanceId, spec); err == nil {
			r.Report = shadowReportProto(rep)
		}
	}
	if err != nil {
		r.Error = err.Error()
		log.Warn("shadow run not done", "err", err)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := a.c.Executors.ReportShadow(rctx, r, grpc.WaitForReady(true)); err != nil {
		log.Error("could not report the shadow run", "err", err)
	}
}

func (a *Agent) shadowSpec(ctx context.Context, o *rccv1.ShadowInstance) (executor.ShadowSpec, error) {
	v := o.GetVersion()
	module, err := a.blobs.get(ctx, v.GetModuleSha256())
	if err != nil {
		return executor.ShadowSpec{}, err
	}
	spec := executor.ShadowSpec{UpgradeSpec: upgradeSpec(v, module), Frames: int(o.Frames),
		For: time.Duration(min(o.DurationMs, math.MaxInt64/uint64(time.Millisecond))) * time.Millisecond}
	if sha := v.GetAssetsSha256(); sha != "" {
		if spec.Assets, err = a.blobs.assets(ctx, sha); err != nil {
			return executor.ShadowSpec{}, err
		}
	}
	return spec, nil
}

// shadowReportProto is the wire form of an executor's shadow report (the
// versions are the coordinator's to fill in).
func shadowReportProto(r executor.ShadowReport) *rccv1.ShadowReport {
	side := func(s executor.ShadowSide) *rccv1.ShadowSide {
		return &rccv1.ShadowSide{FuelP50: s.FuelP50, FuelP99: s.FuelP99,
			TickP50Ms: ms(s.TickP50), TickP99Ms: ms(s.TickP99)}
	}
	return &rccv1.ShadowReport{InstanceId: r.InstanceID, Start: r.Start, FromFrame: r.FromFrame,
		Frames: uint32(r.Frames), DiffFrames: uint32(r.DiffFrames), Differs: r.Differs, FirstDiffFrame: r.FirstDiffFrame,
		DiffOffset: uint32(r.DiffOffset), LiveBytes: uint32(r.LiveBytes), CandidateBytes: uint32(r.CandidateBytes),
		Live: side(r.Live), Candidate: side(r.Candidate), Ended: r.Ended, Failure: r.Failure,
		FailureReason: string(r.FailureReason), ElapsedMs: ms(r.Elapsed)}
}
