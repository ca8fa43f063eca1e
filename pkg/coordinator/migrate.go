package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// migrateTimeout bounds a Migrate call: the source's preparation of the
// target (a module compile) and the move itself.
const migrateTimeout = time.Minute

// migrations are the live migrations and hot upgrades under way (one at a
// time per instance): the orders waiting for their executor's assignment
// stream, and the calls waiting for the executor's report. They live in
// this coordinator's memory: the executor's assignment stream must be on
// this coordinator (docs/operations.md).
type migrations struct {
	mu      sync.Mutex
	orders  map[string][]*rccv1.Assignment  // executor -> orders
	waiting map[string]chan migrationResult // instance -> its call
}

type migrationResult struct {
	in  store.Instance
	err error
	// noUpgradePair: err is an upgrade refused for want of the
	// save_state/load_state pair.
	noUpgradePair bool
}

// begin registers an order for executor about instance.
func (m *migrations) begin(executor, instance string, order *rccv1.Assignment) (chan migrationResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.waiting == nil {
		m.waiting, m.orders = map[string]chan migrationResult{}, map[string][]*rccv1.Assignment{}
	}
	if _, ok := m.waiting[instance]; ok {
		return nil, status.Errorf(codes.Aborted, "instance %s is being moved or upgraded already", instance)
	}
	ch := make(chan migrationResult, 1)
	m.waiting[instance] = ch
	m.orders[executor] = append(m.orders[executor], order)
	return ch, nil
}

// end forgets an order's call, and the order if not sent yet.
func (m *migrations) end(executor, instance string, order *rccv1.Assignment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.waiting, instance)
	kept := m.orders[executor][:0]
	for _, o := range m.orders[executor] {
		if o != order {
			kept = append(kept, o)
		}
	}
	m.orders[executor] = kept
}

func (m *migrations) take(executor string) []*rccv1.Assignment {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.orders[executor]
	delete(m.orders, executor)
	return out
}

// underway reports whether instance is being moved or upgraded: until the
// source reports the move, the target already runs it unassigned.
func (m *migrations) underway(instance string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.waiting[instance]
	return ok
}

func (m *migrations) finish(instance string, r migrationResult) {
	m.mu.Lock()
	ch := m.waiting[instance]
	delete(m.waiting, instance)
	m.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// sendMigrations sends the migration and upgrade orders for the stream's
// executor.
func (a *assigner) sendMigrations() error {
	for _, o := range a.c.migrations.take(a.executor) {
		if err := a.send(o); err != nil {
			return err
		}
	}
	return nil
}

// order sends an order to the executor of in and waits for its report;
// what names it in errors ("move", "upgrade").
func (c *Coordinator) order(ctx context.Context, in store.Instance, what string, order *rccv1.Assignment) (store.Instance, error) {
	done, err := c.migrations.begin(in.ExecutorID, in.ID, order)
	if err != nil {
		return in, err
	}
	defer c.migrations.end(in.ExecutorID, in.ID, order)
	c.streams.wake(in.ExecutorID, in.ID)
	t := time.NewTimer(migrateTimeout)
	defer t.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			st := status.Newf(codes.FailedPrecondition, "instance %s: no %s, it runs as before on %s: %v", in.ID, what, in.ExecutorID, r.err)
			if r.noUpgradePair {
				if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: rccv1.ReasonNoUpgradePair, Domain: rccv1.ErrorDomain}); err == nil {
					st = d
				}
			}
			return in, st.Err()
		}
		return r.in, nil
	case <-t.C:
		return in, status.Errorf(codes.DeadlineExceeded, "instance %s: its executor %s did not report the %s within %v", in.ID, in.ExecutorID, what, migrateTimeout)
	case <-ctx.Done():
		return in, status.FromContextError(ctx.Err()).Err()
	}
}

func (s *instanceService) Migrate(ctx context.Context, req *rccv1.MigrateInstanceRequest) (*rccv1.Instance, error) {
	in, err := s.st.GetInstance(ctx, req.Id)
	if err != nil {
		return nil, grpcError(err)
	}
	moved, err := s.c.migrate(ctx, s.st, in, req.ToExecutor)
	if err != nil {
		return nil, err
	}
	return instanceProto(moved), nil
}

// targetStore is what a migration reads to choose its target.
type targetStore interface {
	GetExecutor(ctx context.Context, id string) (store.Executor, error)
	ListExecutors(ctx context.Context) ([]store.Executor, error)
}

// migrate moves a running instance to executor to (or the one
// migrationTarget picks) and returns it on its new executor; its errors
// are gRPC statuses.
func (c *Coordinator) migrate(ctx context.Context, st targetStore, in store.Instance, to string) (store.Instance, error) {
	if in.State != store.StateRunning {
		return in, status.Errorf(codes.FailedPrecondition, "instance %s is %s: only a running instance moves", in.ID, in.State)
	}
	target, err := c.migrationTarget(ctx, st, in, to)
	if err != nil {
		return in, err
	}
	c.log.Info("instance migration ordered", "instance", in.ID, "from", in.ExecutorID, "to", target.ID)
	return c.order(ctx, in, "move", &rccv1.Assignment{Kind: &rccv1.Assignment_Migrate{Migrate: &rccv1.MigrateInstance{
		InstanceId: in.ID, TargetExecutorId: target.ID, TargetWsUrl: target.WSURL}}})
}

// migrateAll moves every running instance of executor elsewhere, one at a
// time, and returns how many moved and the errors of the others.
func (c *Coordinator) migrateAll(ctx context.Context, st interface {
	targetStore
	ListInstances(ctx context.Context, f store.InstanceFilter) ([]store.Instance, error)
}, executor string) (moved int, errs []error) {
	ins, err := st.ListInstances(ctx, store.InstanceFilter{ExecutorID: executor, States: []store.InstanceState{store.StateRunning}})
	if err != nil {
		return 0, []error{grpcError(err)}
	}
	for _, in := range ins {
		if _, err := c.migrate(ctx, st, in, ""); err != nil {
			c.log.Warn("instance not moved off a draining executor", "instance", in.ID, "executor", executor, "err", err)
			errs = append(errs, err)
			continue
		}
		moved++
	}
	return moved, errs
}

// migrationTarget checks the requested target, or picks the live active
// executor other than the source with room and the fewest instances.
func (c *Coordinator) migrationTarget(ctx context.Context, st targetStore, in store.Instance, want string) (store.Executor, error) {
	live := c.placement().LiveSince
	usable := func(x store.Executor) error {
		switch {
		case x.ID == in.ExecutorID:
			return fmt.Errorf("executor %s runs the instance already", x.ID)
		case x.State != store.ExecutorActive:
			return fmt.Errorf("executor %s is %s", x.ID, x.State)
		case x.LastHeartbeat.Before(live):
			return fmt.Errorf("executor %s has not sent a heartbeat since %s", x.ID, x.LastHeartbeat.Format(time.RFC3339))
		case x.Capacity > 0 && x.Assigned >= x.Capacity:
			return fmt.Errorf("executor %s is full (%d of %d)", x.ID, x.Assigned, x.Capacity)
		}
		return nil
	}
	if want != "" {
		x, err := st.GetExecutor(ctx, want)
		if err != nil {
			return store.Executor{}, grpcError(err)
		}
		if err := usable(x); err != nil {
			return store.Executor{}, status.Errorf(codes.FailedPrecondition, "cannot move instance %s there: %v", in.ID, err)
		}
		return x, nil
	}
	xs, err := st.ListExecutors(ctx)
	if err != nil {
		return store.Executor{}, grpcError(err)
	}
	var best *store.Executor
	for i, x := range xs {
		if usable(x) == nil && (best == nil || x.Assigned < best.Assigned) {
			best = &xs[i]
		}
	}
	if best == nil {
		return store.Executor{}, status.Errorf(codes.FailedPrecondition, "no other live executor with room to move instance %s to", in.ID)
	}
	return *best, nil
}

func (s *executorService) ReportMigration(ctx context.Context, req *rccv1.ReportMigrationRequest) (*rccv1.Instance, error) {
	c := s.c
	if err := c.checkExecutor(ctx, req.ExecutorId); err != nil {
		return nil, err
	}
	if req.Error != "" {
		c.log.Warn("instance migration failed", "instance", req.InstanceId, "from", req.ExecutorId, "to", req.TargetExecutorId, "err", req.Error)
		c.migrations.finish(req.InstanceId, migrationResult{err: errors.New(req.Error)})
		in, err := s.st.GetInstance(ctx, req.InstanceId)
		if err != nil {
			return nil, grpcError(err)
		}
		return instanceProto(in), nil
	}
	in, err := s.st.MoveInstance(ctx, req.InstanceId, req.ExecutorId, req.TargetExecutorId, c.now())
	if err != nil {
		c.migrations.finish(req.InstanceId, migrationResult{err: err})
		return nil, grpcError(err)
	}
	c.log.Info("instance migrated", "instance", in.ID, "from", req.ExecutorId, "to", in.ExecutorID,
		"frame", req.Frame, "paused_ms", req.PausedMs)
	c.instanceChanged(ctx, in)
	c.streams.wake(req.ExecutorId, in.ID)
	c.migrations.finish(in.ID, migrationResult{in: in})
	return instanceProto(in), nil
}
