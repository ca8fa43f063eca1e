package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/lifecycle/lifecyclepb"
	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// maxLeaseSeconds bounds a lease: 30 days.
const maxLeaseSeconds = 30 * 24 * 3600

type instanceService struct {
	rccv1.UnimplementedInstanceServiceServer
	c  *Coordinator
	st instanceStore
}

func (c *Coordinator) spawnSpec(game string, version, maxPlayers, leaseSeconds uint32, labels map[string]string) (store.SpawnSpec, error) {
	if game == "" {
		return store.SpawnSpec{}, invalid("game is required")
	}
	if maxPlayers == 0 {
		maxPlayers = DefaultMaxPlayers
	}
	if leaseSeconds == 0 {
		leaseSeconds = DefaultLeaseSeconds
	}
	if leaseSeconds > maxLeaseSeconds {
		return store.SpawnSpec{}, invalid("lease of %d s is longer than the maximum %d s", leaseSeconds, maxLeaseSeconds)
	}
	if maxPlayers > 100000 {
		return store.SpawnSpec{}, invalid("max players %d is too large", maxPlayers)
	}
	if err := checkLabels("labels", labels); err != nil {
		return store.SpawnSpec{}, err
	}
	return store.SpawnSpec{Game: game, Version: version, MaxPlayers: maxPlayers, LeaseSeconds: leaseSeconds, Labels: labels}, nil
}

func (s *instanceService) Spawn(ctx context.Context, req *rccv1.SpawnRequest) (*rccv1.Instance, error) {
	c := s.c
	spec, err := c.spawnSpec(req.Game, req.Version, req.MaxPlayers, req.LeaseSeconds, req.Labels)
	if err != nil {
		return nil, err
	}
	if req.Seed != 0 {
		spec.Seed = req.Seed
	}
	spec.Respawn = req.Respawn
	spec.Record = req.Record
	if req.SnapshotHz > MaxSnapshotHz {
		return nil, invalid("snapshot_hz %d is above the maximum of %d", req.SnapshotHz, MaxSnapshotHz)
	}
	spec.SnapshotHz = req.SnapshotHz
	if spec.CheckpointEvery, err = checkpointEvery("checkpoint_every_ms", req.CheckpointEveryMs); err != nil {
		return nil, err
	}
	if spec.Params, err = paramsJSON(req.Params); err != nil {
		return nil, invalid("params: %v", err)
	}
	if err := checkParams(spec.Params); err != nil {
		return nil, err
	}
	in, err := s.st.Spawn(ctx, spec, c.placement())
	if err != nil {
		return nil, grpcError(err)
	}
	c.metrics.spawns.Inc()
	c.log.Info("instance spawned", "instance", in.ID, "game", in.Game, "version", in.Version, "state", in.State, "executor", in.ExecutorID)
	c.instanceChanged(ctx, in)
	return instanceProto(in), nil
}

func (s *instanceService) Get(ctx context.Context, req *rccv1.GetInstanceRequest) (*rccv1.Instance, error) {
	in, err := s.st.GetInstance(ctx, req.Id)
	if err != nil {
		return nil, grpcError(err)
	}
	return instanceProto(in), nil
}

func (s *instanceService) List(ctx context.Context, req *rccv1.ListInstancesRequest) (*rccv1.ListInstancesResponse, error) {
	if err := checkLabels("selector", req.Labels); err != nil {
		return nil, err
	}
	size, err := pageSize(req.PageSize, req.Limit)
	if err != nil {
		return nil, err
	}
	// One more than the page says whether there is a next one.
	f := store.InstanceFilter{Game: req.Game, ExecutorID: req.ExecutorId, Labels: req.Labels, Limit: size + 1}
	if f.After, err = decodePageToken(req.PageToken); err != nil {
		return nil, err
	}
	for _, st := range req.States {
		f.States = append(f.States, lifecyclepb.StateFromProto(st))
	}
	ins, err := s.st.ListInstances(ctx, f)
	if err != nil {
		return nil, grpcError(err)
	}
	out := &rccv1.ListInstancesResponse{}
	total := 0
	for k, in := range ins {
		p := instanceProto(in)
		n := proto.Size(p)
		if k == size || (k > 0 && total+n > MaxPageBytes) {
			last := ins[k-1]
			out.NextPageToken = encodePageToken(store.InstanceCursor{CreatedAt: last.CreatedAt, ID: last.ID})
			break
		}
		total += n
		out.Instances = append(out.Instances, p)
	}
	return out, nil
}

func (s *instanceService) Stop(ctx context.Context, req *rccv1.StopInstanceRequest) (*rccv1.Instance, error) {
	if err := checkText("reason", req.Reason, MaxReasonBytes); err != nil {
		return nil, err
	}
	reason := req.Reason
	if reason == "" {
		reason = "stopped by operator"
	}
	in, err := s.st.StopInstance(ctx, req.Id, reason, s.c.now())
	if err != nil {
		return nil, grpcError(err)
	}
	s.c.log.Info("instance stop requested", "instance", in.ID, "state", in.State, "reason", reason)
	s.c.instanceChanged(ctx, in)
	return instanceProto(in), nil
}

func (s *instanceService) RenewLease(ctx context.Context, req *rccv1.RenewLeaseRequest) (*rccv1.Instance, error) {
	if req.LeaseSeconds > maxLeaseSeconds {
		return nil, invalid("lease of %d s is longer than the maximum %d s", req.LeaseSeconds, maxLeaseSeconds)
	}
	in, err := s.st.RenewLease(ctx, req.Id, req.LeaseSeconds, s.c.now())
	if err != nil {
		return nil, grpcError(err)
	}
	return instanceProto(in), nil
}

func (s *instanceService) Join(ctx context.Context, req *rccv1.JoinRequest) (*rccv1.JoinResponse, error) {
	c := s.c
	start := time.Now()
	if err := c.playerJoin(ctx, req); err != nil {
		return nil, err
	}
	if err := checkPlayerID(req.PlayerId); err != nil {
		return nil, err
	}
	spec, err := c.spawnSpec(req.Game, req.Version, req.MaxPlayers, req.LeaseSeconds, req.Labels)
	if err != nil {
		return nil, err
	}
	p := c.placement()
	res, err := s.st.Join(ctx, store.JoinQuery{Game: req.Game, Version: req.Version, PlayerID: req.PlayerId, Labels: req.Labels,
		SeatID: store.NewID("s-"), SeatExpires: p.Now.Add(c.cfg.TicketTTL), NewInstance: spec, Placement: p})
	if errors.Is(err, store.ErrNoExecutor) {
		c.metrics.joins.WithLabelValues("error").Inc()
		return nil, status.Errorf(codes.Unavailable, "join %s: no live executor can take a new instance (start or undrain an executor)", req.Game)
	}
	if err != nil {
		c.metrics.joins.WithLabelValues("error").Inc()
		return nil, grpcError(err)
	}
	in := res.Instance
	tok, tk, err := c.cfg.Issuer.Ticket(auth.TicketRequest{PlayerID: req.PlayerId, InstanceID: in.ID, ExecutorID: in.ExecutorID, TTL: c.cfg.TicketTTL})
	if err != nil {
		return nil, status.Error(codes.Internal, fmt.Sprintf("join: %v", err))
	}
	if res.Created {
		c.metrics.joins.WithLabelValues("created").Inc()
		c.log.Info("instance created by join", "instance", in.ID, "game", in.Game, "executor", in.ExecutorID)
		c.instanceChanged(ctx, in)
	} else {
		c.metrics.joins.WithLabelValues("existing").Inc()
	}
	c.metrics.joinSeconds.Observe(time.Since(start).Seconds())
	return &rccv1.JoinResponse{InstanceId: in.ID, ExecutorId: in.ExecutorID, WsUrl: in.WSURL, Ticket: string(tok),
		TicketExpiresAt: tsOf(tk.ExpiresAt), Created: res.Created}, nil
}
