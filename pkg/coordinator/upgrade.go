package coordinator

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// upgradeStore is what Upgrade reads.
type upgradeStore interface {
	GetInstance(ctx context.Context, id string) (store.Instance, error)
	GetVersion(ctx context.Context, game string, version uint32) (store.Version, error)
}

func (s *instanceService) Upgrade(ctx context.Context, req *rccv1.UpgradeInstanceRequest) (*rccv1.Instance, error) {
	var st upgradeStore = s.st
	in, err := st.GetInstance(ctx, req.Id)
	if err != nil {
		return nil, grpcError(err)
	}
	if in.State != store.StateRunning {
		return nil, status.Errorf(codes.FailedPrecondition, "instance %s is %s: only a running instance is upgraded", in.ID, in.State)
	}
	v, err := st.GetVersion(ctx, in.Game, req.Version)
	if err != nil {
		return nil, grpcError(err)
	}
	if v.Version == in.Version {
		return nil, status.Errorf(codes.FailedPrecondition, "instance %s runs version %d already", in.ID, v.Version)
	}
	s.c.log.Info("instance upgrade ordered", "instance", in.ID, "game", in.Game, "from", in.Version, "to", v.Version)
	up, err := s.c.order(ctx, in, "upgrade", &rccv1.Assignment{Kind: &rccv1.Assignment_Upgrade{Upgrade: &rccv1.UpgradeInstance{
		InstanceId: in.ID, Version: versionProto(v)}}})
	if err != nil {
		return nil, err
	}
	return instanceProto(up), nil
}

func (s *executorService) ReportUpgrade(ctx context.Context, req *rccv1.ReportUpgradeRequest) (*rccv1.Instance, error) {
	c := s.c
	if err := c.checkExecutor(ctx, req.ExecutorId); err != nil {
		return nil, err
	}
	if req.Error != "" {
		c.log.Warn("instance upgrade failed", "instance", req.InstanceId, "version", req.Version, "err", req.Error)
		c.migrations.finish(req.InstanceId, migrationResult{err: errors.New(req.Error), noUpgradePair: req.NoUpgradePair})
		in, err := s.st.GetInstance(ctx, req.InstanceId)
		if err != nil {
			return nil, grpcError(err)
		}
		return instanceProto(in), nil
	}
	in, err := s.st.UpgradeInstance(ctx, req.InstanceId, req.ExecutorId, req.Version, c.now())
	if err != nil {
		c.migrations.finish(req.InstanceId, migrationResult{err: err})
		return nil, grpcError(err)
	}
	c.log.Info("instance upgraded", "instance", in.ID, "version", in.Version, "frame", req.Frame, "paused_ms", req.PausedMs)
	c.instanceChanged(ctx, in)
	c.migrations.finish(in.ID, migrationResult{in: in})
	return instanceProto(in), nil
}
