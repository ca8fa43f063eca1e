package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/lifecycle/lifecyclepb"
	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

type executorService struct {
	rccv1.UnimplementedExecutorServiceServer
	c  *Coordinator
	st executorStore
}

// callerName is the subject of the caller's token: for an executor token,
// the executor's name.
func callerName(ctx context.Context) string {
	if cl, ok := auth.ClaimsFromContext(ctx); ok {
		return cl.Subject
	}
	return ""
}

// checkExecutor refuses a call about executor id from a token issued to
// another executor: an executor token names its executor in its subject.
func (c *Coordinator) checkExecutor(ctx context.Context, id string) error {
	cl, ok := auth.ClaimsFromContext(ctx)
	if !ok || cl.Role != auth.RoleExecutor {
		return nil
	}
	name, ok := c.names.Load(id)
	if !ok {
		x, err := c.st.GetExecutor(ctx, id)
		if err != nil {
			return grpcError(err)
		}
		name = x.Name
		c.names.Store(id, x.Name)
	}
	if name != cl.Subject {
		return status.Errorf(codes.PermissionDenied, "the token of executor %q may not act for executor %q", cl.Subject, name)
	}
	return nil
}

func (s *executorService) Register(ctx context.Context, req *rccv1.RegisterExecutorRequest) (*rccv1.RegisterExecutorResponse, error) {
	c := s.c
	if req.Name == "" || req.WsUrl == "" {
		return nil, invalid("register: name and ws_url are required")
	}
	if err := checkRegistration(req); err != nil {
		return nil, err
	}
	if sub := callerName(ctx); sub != req.Name {
		return nil, status.Errorf(codes.PermissionDenied, "the token of executor %q may not register as %q (the token's subject is the executor's name)", sub, req.Name)
	}
	x, err := s.st.RegisterExecutor(ctx, store.Registration{Name: req.Name, WSURL: req.WsUrl, Capacity: req.Capacity,
		Labels: req.Labels, Version: req.Version}, c.now())
	if conflict := (*store.RegistrationConflict)(nil); errors.As(err, &conflict) {
		c.audit.registration(ctx, store.Executor{}, conflict)
		return nil, status.Error(codes.FailedPrecondition, conflict.Error())
	}
	if err != nil {
		return nil, grpcError(err)
	}
	c.names.Store(x.ID, x.Name)
	c.audit.registration(ctx, x, nil)
	c.log.Info("executor registered", "executor", x.ID, "name", x.Name, "ws_url", x.WSURL, "capacity", x.Capacity)
	c.executorChanged(ctx, x)
	// Pending instances may go to it now rather than at the next reap.
	_ = c.assignPending(ctx)
	return &rccv1.RegisterExecutorResponse{Executor: executorProto(x),
		HeartbeatIntervalMs: uint32(c.cfg.HeartbeatInterval / time.Millisecond),
		TicketPublicKey:     c.cfg.Issuer.PublicKey()}, nil
}

func (s *executorService) Heartbeat(ctx context.Context, req *rccv1.HeartbeatRequest) (*rccv1.HeartbeatResponse, error) {
	c := s.c
	if err := c.checkExecutor(ctx, req.ExecutorId); err != nil {
		if status.Code(err) == codes.NotFound {
			return &rccv1.HeartbeatResponse{State: rccv1.ExecutorState_EXECUTOR_STATE_LOST, Reregister: true}, nil
		}
		return nil, err
	}
	now := c.now()
	reports := make([]store.InstanceReport, 0, len(req.Instances))
	liveStats := map[string]*rccv1.InstanceStats{}
	for _, r := range req.Instances {
		reports = append(reports, reportFromProto(r))
		if r.Stats != nil {
			r.Stats.ReportedAt = tsOf(now)
			liveStats[r.InstanceId] = r.Stats
		}
	}
	x, ins, err := s.st.Heartbeat(ctx, req.ExecutorId, statsFromProto(req.Stats), reports, now)
	if errors.Is(err, store.ErrExecutorLost) || errors.Is(err, store.ErrNotFound) {
		return &rccv1.HeartbeatResponse{State: rccv1.ExecutorState_EXECUTOR_STATE_LOST, Reregister: true}, nil
	}
	if err != nil {
		return nil, grpcError(err)
	}
	// Whatever it runs that the store does not give it must stop.
	live := map[string]store.Instance{}
	for _, in := range ins {
		live[in.ID] = in
	}
	for _, r := range req.Instances {
		st := lifecyclepb.StateFromProto(r.State)
		if st.Ended() {
			continue
		}
		in, ok := live[r.InstanceId]
		switch {
		case !ok && c.migrations.underway(r.InstanceId):
			// A migration's target runs the instance before the source
			// reports the move.
		case !ok:
			c.streams.orderStop(x.ID, r.InstanceId, "not assigned to this executor")
		case in.State.Ended():
			c.streams.orderStop(x.ID, r.InstanceId, "instance is "+string(in.State))
		}
	}
	for _, in := range ins {
		switch {
		case in.State.Ended():
			c.instanceChanged(ctx, in)
		case c.hub.active():
			// Player counts and live figures for dashboards watching this
			// coordinator.
			p := instanceProto(in)
			p.Stats = liveStats[in.ID]
			c.hub.publish(&rccv1.WatchEvent{At: tsOf(now), Subject: &rccv1.WatchEvent_Instance{Instance: p}})
		}
	}
	// Live stats for dashboards, here and on the other coordinators.
	c.executorChanged(ctx, x)
	return &rccv1.HeartbeatResponse{State: executorStateToProto[x.State]}, nil
}

func (s *executorService) ReportInstance(ctx context.Context, req *rccv1.ReportInstanceRequest) (*rccv1.Instance, error) {
	if req.Report == nil {
		return nil, invalid("report is required")
	}
	if err := s.c.checkExecutor(ctx, req.ExecutorId); err != nil {
		return nil, err
	}
	in, err := s.st.ReportInstance(ctx, req.ExecutorId, reportFromProto(req.Report), s.c.now())
	if err != nil {
		return nil, grpcError(err)
	}
	s.c.log.Info("instance reported", "instance", in.ID, "state", in.State, "reason", in.Reason, "executor", req.ExecutorId)
	s.c.instanceChanged(ctx, in)
	return instanceProto(in), nil
}

func (s *executorService) Drain(ctx context.Context, req *rccv1.DrainExecutorRequest) (*rccv1.Executor, error) {
	// An executor may drain itself (before it shuts down), not others.
	if err := s.c.checkExecutor(ctx, req.Id); err != nil {
		return nil, err
	}
	x, err := s.st.DrainExecutor(ctx, req.Id)
	if err != nil {
		return nil, grpcError(err)
	}
	s.c.log.Info("executor draining", "executor", x.ID, "name", x.Name, "migrate", req.Migrate)
	s.c.executorChanged(ctx, x)
	if req.Migrate {
		moved, errs := s.c.migrateAll(ctx, s.st, x.ID)
		s.c.log.Info("instances moved off a draining executor", "executor", x.ID, "moved", moved, "not_moved", len(errs))
		if x, err = s.st.GetExecutor(ctx, x.ID); err != nil {
			return nil, grpcError(err)
		}
	}
	return executorProto(x), nil
}

func (s *executorService) List(ctx context.Context, req *rccv1.ListExecutorsRequest) (*rccv1.ListExecutorsResponse, error) {
	size, err := pageSize(req.PageSize, 0)
	if err != nil {
		return nil, err
	}
	xs, err := s.st.ListExecutors(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	out := &rccv1.ListExecutorsResponse{}
	for _, x := range xs {
		out.Executors = append(out.Executors, executorProto(x))
	}
	out.Executors, out.NextPageToken, err = listPage(out.Executors, (*rccv1.Executor).GetId, protoSize[*rccv1.Executor], size, req.PageToken)
	return out, err
}

// Assignments streams Start and Stop orders: on connect every instance the
// store assigns to the executor, then each change when woken, and a full
// resynchronisation every ResyncInterval. A store outage pauses the stream;
// it does not end it.
func (s *executorService) Assignments(req *rccv1.AssignmentsRequest, stream rccv1.ExecutorService_AssignmentsServer) error {
	ctx, end, result := s.c.streamContext(stream.Context())
	defer end()
	return result(s.assignments(ctx, req, stream))
}

func (s *executorService) assignments(ctx context.Context, req *rccv1.AssignmentsRequest, stream rccv1.ExecutorService_AssignmentsServer) error {
	c := s.c
	if ctx.Err() != nil {
		return nil // ended already: closing, or the caller left
	}
	id := req.ExecutorId
	if _, err := s.st.GetExecutor(ctx, id); err != nil {
		return grpcError(err)
	}
	if err := c.checkExecutor(ctx, id); err != nil {
		return err
	}
	sub := c.streams.subscribe(id)
	defer c.streams.unsubscribe(id, sub)
	c.metrics.streams.Inc()
	defer c.metrics.streams.Dec()
	c.log.Info("assignment stream opened", "executor", id)
	defer c.log.Info("assignment stream closed", "executor", id)

	a := &assigner{c: c, st: s.st, stream: stream, executor: id, started: map[string]bool{}, stopped: map[string]bool{},
		versions: map[string]*rccv1.GameVersion{}}
	t := time.NewTicker(c.cfg.ResyncInterval)
	defer t.Stop()
	full := true
	for {
		var err error
		if full {
			err = a.resync(ctx)
		} else {
			ids, all := c.streams.take(sub)
			if all {
				err = a.resync(ctx)
			} else {
				err = a.update(ctx, ids)
			}
		}
		if err != nil {
			if status.Code(err) != codes.Unavailable && !errors.Is(err, store.ErrUnavailable) {
				return err
			}
			c.log.Warn("assignment stream paused: store unavailable", "executor", id, "err", err)
		}
		full = false
		select {
		case <-ctx.Done():
			return nil
		case <-sub.ch:
		case <-t.C:
			full = true
		}
	}
}

// assigner is the state of one assignment stream: what it told the executor.
type assigner struct {
	c        *Coordinator
	st       assignerStore
	stream   rccv1.ExecutorService_AssignmentsServer
	executor string
	started  map[string]bool // instances it was told to start
	stopped  map[string]bool // and to stop
	versions map[string]*rccv1.GameVersion
}

func (a *assigner) send(m *rccv1.Assignment) error { return a.stream.Send(m) }

func (a *assigner) stop(id, reason string) error {
	if a.stopped[id] {
		return nil
	}
	if err := a.send(&rccv1.Assignment{Kind: &rccv1.Assignment_Stop{Stop: &rccv1.StopInstance{InstanceId: id, Reason: reason}}}); err != nil {
		return err
	}
	a.stopped[id] = true
	return nil
}

func (a *assigner) orders() error {
	for inst, reason := range a.c.streams.takeStops(a.executor) {
		delete(a.stopped, inst)
		if err := a.stop(inst, reason); err != nil {
			return err
		}
	}
	return a.sendMigrations()
}

// apply brings the executor in line with one instance as the store has it.
func (a *assigner) apply(ctx context.Context, in store.Instance) error {
	switch {
	case in.ExecutorID != a.executor || in.State.Ended():
		if a.started[in.ID] {
			reason := string(in.Reason)
			if reason == "" {
				reason = "instance is " + string(in.State)
			}
			if err := a.stop(in.ID, reason); err != nil {
				return err
			}
			delete(a.started, in.ID)
			delete(a.stopped, in.ID)
		}
	case in.State == store.StateStopping:
		if err := a.stop(in.ID, string(in.Reason)); err != nil {
			return err
		}
	case !a.started[in.ID]:
		key := fmt.Sprintf("%s@%d", in.Game, in.Version)
		v := a.versions[key]
		if v == nil {
			sv, err := a.st.GetVersion(ctx, in.Game, in.Version)
			if err != nil {
				return grpcError(err)
			}
			v = versionProto(sv)
			a.versions[key] = v
		}
		start := &rccv1.StartInstance{Instance: instanceProto(in), Version: v}
		if in.CheckpointFrame > 0 {
			// Resumed from it (checkpoints.go); the executor fetches it.
			start.Checkpoint = &rccv1.CheckpointInfo{Frame: in.CheckpointFrame}
		}
		if err := a.send(&rccv1.Assignment{Kind: &rccv1.Assignment_Start{Start: start}}); err != nil {
			return err
		}
		a.started[in.ID] = true
	}
	return nil
}

// update handles the instances that changed.
func (a *assigner) update(ctx context.Context, ids []string) error {
	if err := a.orders(); err != nil {
		return err
	}
	for _, id := range ids {
		in, err := a.st.GetInstance(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return grpcError(err)
		}
		if err := a.apply(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

// resync compares everything the store assigns to the executor with what
// it was told.
func (a *assigner) resync(ctx context.Context) error {
	if err := a.orders(); err != nil {
		return err
	}
	ins, err := a.st.ListInstances(ctx, store.InstanceFilter{ExecutorID: a.executor,
		States: []store.InstanceState{store.StateStarting, store.StateRunning, store.StateStopping}})
	if err != nil {
		return grpcError(err)
	}
	current := map[string]bool{}
	for _, in := range ins {
		current[in.ID] = true
		if err := a.apply(ctx, in); err != nil {
			return err
		}
	}
	// Started earlier and now finished (lease over, lost, stopped elsewhere).
	for inst := range a.started {
		if current[inst] {
			continue
		}
		if err := a.stop(inst, "instance ended"); err != nil {
			return err
		}
		delete(a.started, inst)
		delete(a.stopped, inst)
	}
	return nil
}

func (s *executorService) Undrain(ctx context.Context, req *rccv1.UndrainExecutorRequest) (*rccv1.Executor, error) {
	if req.Id == "" {
		return nil, invalid("undrain: executor id is empty")
	}
	c := s.c
	x, err := s.st.UndrainExecutor(ctx, req.Id)
	if err != nil {
		return nil, grpcError(err)
	}
	c.log.Info("executor undrained", "executor", x.ID, "name", x.Name)
	c.executorChanged(ctx, x)
	// Pending instances may go to it now rather than at the next reap.
	_ = c.assignPending(ctx)
	return executorProto(x), nil
}
