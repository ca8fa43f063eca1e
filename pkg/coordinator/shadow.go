package coordinator

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Shadow runs (docs/snapshots.md, "Shadow runs"): the coordinator sends a
// ShadowInstance order to the instance's executor on its assignment
// stream, as for a migration, and the Shadow call waits for the
// executor's ReportShadow (a detached call returns at once and the wait
// goes on without it; the executor logs the outcome in the instance's
// log). A run does not hold the instance's migration slot: the instance
// may move or be upgraded meanwhile, which ends the run.

// maxShadowFor bounds a shadow run (the executor's bound,
// executor.MaxShadowFor).
const maxShadowFor = 10 * time.Minute

// shadowRuns are the Shadow calls waiting for their executor's report, by
// run id.
type shadowRuns struct {
	mu      sync.Mutex
	waiting map[string]chan *rccv1.ReportShadowRequest
}

func (r *shadowRuns) begin(id string) chan *rccv1.ReportShadowRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting == nil {
		r.waiting = map[string]chan *rccv1.ReportShadowRequest{}
	}
	ch := make(chan *rccv1.ReportShadowRequest, 1)
	r.waiting[id] = ch
	return ch
}

func (r *shadowRuns) end(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiting, id)
}

func (r *shadowRuns) finish(req *rccv1.ReportShadowRequest) bool {
	r.mu.Lock()
	ch := r.waiting[req.RunId]
	delete(r.waiting, req.RunId)
	r.mu.Unlock()
	if ch != nil {
		ch <- req
	}
	return ch != nil
}

// push queues an order for executor's assignment stream, outside the
// one-per-instance slot of migrations and upgrades.
func (m *migrations) push(executor string, order *rccv1.Assignment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.orders == nil {
		m.waiting, m.orders = map[string]chan migrationResult{}, map[string][]*rccv1.Assignment{}
	}
	m.orders[executor] = append(m.orders[executor], order)
}

// drop forgets an order pushed and not sent yet.
func (m *migrations) drop(executor string, order *rccv1.Assignment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.orders[executor][:0]
	for _, o := range m.orders[executor] {
		if o != order {
			kept = append(kept, o)
		}
	}
	m.orders[executor] = kept
}

// shadowStore is what Shadow reads.
type shadowStore interface {
	GetInstance(ctx context.Context, id string) (store.Instance, error)
	GetVersion(ctx context.Context, game string, version uint32) (store.Version, error)
}

func (s *instanceService) Shadow(ctx context.Context, req *rccv1.ShadowInstanceRequest) (*rccv1.ShadowReport, error) {
	var st shadowStore = s.st
	c := s.c
	in, err := st.GetInstance(ctx, req.Id)
	if err != nil {
		return nil, grpcError(err)
	}
	if in.State != store.StateRunning {
		return nil, status.Errorf(codes.FailedPrecondition, "instance %s is %s: only a running instance is shadowed", in.ID, in.State)
	}
	d := time.Duration(req.DurationMs) * time.Millisecond
	if d > maxShadowFor {
		return nil, status.Errorf(codes.InvalidArgument, "a shadow run lasts at most %v", maxShadowFor)
	}
	v, err := st.GetVersion(ctx, in.Game, req.Version)
	if err != nil {
		return nil, grpcError(err)
	}
	// The run's own length (its frames at half the usual 60 Hz, or its
	// duration), and a minute for the candidate's fetch, compile and start.
	wait := d
	if req.Frames > 0 || d == 0 {
		frames := max(req.Frames, 600)
		wait = max(wait, time.Duration(frames)*time.Second/30)
	}
	wait = min(wait, maxShadowFor) + migrateTimeout

	if req.Detach {
		// The call returns now; the wait for the report goes on here,
		// bounded by wait, and the executor logs the outcome in the
		// instance's log.
		go func() {
			rep, err := s.awaitShadow(context.WithoutCancel(ctx), in, v, req, wait)
			if err != nil {
				c.log.Warn("detached shadow run", "instance", in.ID, "candidate", v.Version, "err", err)
				return
			}
			c.log.Info("detached shadow run ended", "instance", in.ID, "candidate", v.Version, "ended", rep.Ended,
				"differs", rep.Differs, "failure", rep.Failure)
		}()
		return &rccv1.ShadowReport{InstanceId: in.ID, LiveVersion: in.Version, Version: v.Version, Detached: true}, nil
	}
	return s.awaitShadow(ctx, in, v, req, wait)
}

// awaitShadow orders the shadow run of in with candidate v from its
// executor and waits up to wait for the report.
func (s *instanceService) awaitShadow(ctx context.Context, in store.Instance, v store.Version, req *rccv1.ShadowInstanceRequest, wait time.Duration) (*rccv1.ShadowReport, error) {
	c := s.c
	runID := rand.Text()
	order := &rccv1.Assignment{Kind: &rccv1.Assignment_Shadow{Shadow: &rccv1.ShadowInstance{
		InstanceId: in.ID, Version: versionProto(v), Frames: req.Frames, DurationMs: req.DurationMs, RunId: runID}}}
	done := c.shadows.begin(runID)
	defer c.shadows.end(runID)
	c.migrations.push(in.ExecutorID, order)
	defer c.migrations.drop(in.ExecutorID, order)
	c.log.Info("instance shadow run ordered", "instance", in.ID, "game", in.Game, "live", in.Version, "candidate", v.Version,
		"frames", req.Frames, "duration_ms", req.DurationMs, "detached", req.Detach)
	c.streams.wake(in.ExecutorID, in.ID)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case r := <-done:
		if r.Error != "" {
			return nil, status.Errorf(codes.FailedPrecondition, "instance %s: no shadow run: %s", in.ID, r.Error)
		}
		rep := r.Report
		if rep == nil {
			rep = &rccv1.ShadowReport{}
		}
		rep.InstanceId, rep.LiveVersion, rep.Version = in.ID, in.Version, v.Version
		return rep, nil
	case <-t.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "instance %s: its executor %s did not report the shadow run within %v", in.ID, in.ExecutorID, wait)
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (s *executorService) ReportShadow(ctx context.Context, req *rccv1.ReportShadowRequest) (*rccv1.ReportShadowResponse, error) {
	c := s.c
	if err := c.checkExecutor(ctx, req.ExecutorId); err != nil {
		return nil, err
	}
	if rep := req.GetReport(); rep != nil {
		c.log.Info("instance shadow run ended", "instance", rep.InstanceId, "ended", rep.Ended, "frames", rep.Frames,
			"differs", rep.Differs, "first_diff_frame", rep.FirstDiffFrame, "failure", rep.Failure)
	}
	if !c.shadows.finish(req) {
		c.log.Info("shadow run reported with no call waiting", "run", req.RunId, "executor", req.ExecutorId)
	}
	return &rccv1.ReportShadowResponse{}, nil
}
