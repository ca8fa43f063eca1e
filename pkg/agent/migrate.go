package agent

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"strconv"
	"time"

	"google.golang.org/grpc"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// migrate carries out a MigrateInstance order: the executor moves the
// instance to the target, and the coordinator is told how it went.
func (a *Agent) migrate(ctx context.Context, m *rccv1.MigrateInstance) {
	log := a.log.With("instance", m.InstanceId, "target", m.TargetExecutorId)
	r := &rccv1.ReportMigrationRequest{ExecutorId: a.id, InstanceId: m.InstanceId, TargetExecutorId: m.TargetExecutorId}
	var err error
	tok := a.executorToken()
	if tok == "" {
		err = errors.New("this executor has no token to present to the target")
	} else {
		var res executor.MigrateResult
		res, err = a.ex.Migrate(ctx, m.InstanceId, executor.MigrateTarget{URL: m.TargetWsUrl, Token: tok})
		r.Frame, r.PausedMs = res.Frame, float64(res.Paused.Microseconds())/1000
	}
	if err != nil {
		r.Error = err.Error()
		log.Warn("instance migration failed", "err", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := a.c.Executors.ReportMigration(rctx, r, grpc.WaitForReady(true)); err != nil {
		log.Error("could not report the migration", "err", err)
	}
}

// upgrade carries out an UpgradeInstance order: it fetches the version's
// module, the executor upgrades the instance, and the coordinator is told
// how it went.
func (a *Agent) upgrade(ctx context.Context, u *rccv1.UpgradeInstance) {
	v := u.GetVersion()
	log := a.log.With("instance", u.InstanceId, "version", v.GetVersion())
	r := &rccv1.ReportUpgradeRequest{ExecutorId: a.id, InstanceId: u.InstanceId, Version: v.GetVersion()}
	module, err := a.blobs.get(ctx, v.GetModuleSha256())
	if err == nil {
		spec := upgradeSpec(v, module)
		var res executor.UpgradeResult
		res, err = a.ex.Upgrade(ctx, u.InstanceId, spec)
		r.Frame, r.PausedMs = res.Frame, float64(res.Paused.Microseconds())/1000
	}
	if err != nil {
		r.Error = err.Error()
		r.NoUpgradePair = errors.Is(err, wasmhost.ErrNoUpgrade)
		log.Warn("instance upgrade failed", "err", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := a.c.Executors.ReportUpgrade(rctx, r, grpc.WaitForReady(true)); err != nil {
		log.Error("could not report the upgrade", "err", err)
	}
}

// executorToken is the executor token the agent calls the coordinator
// with: the renewed one when its credentials renew, else Config.Token.
func (a *Agent) executorToken() auth.Token {
	if a.cfg.Credentials != nil {
		tok, _ := a.cfg.Credentials.Token()
		return tok
	}
	return a.cfg.Token
}

// fetchAssets fetches the assets of an instance migrating here, as a
// start does, and keeps them from the cache's eviction while it runs.
func (a *Agent) fetchAssets(ctx context.Context, instance, sha string) (fs.FS, error) {
	a.recordUses(instance, sha)
	return a.blobs.assets(ctx, sha)
}

// upgradeSpec is the executor's spec of version v, another version of a
// running instance's game (an upgrade's, a shadow run's candidate).
func upgradeSpec(v *rccv1.GameVersion, module []byte) executor.UpgradeSpec {
	spec := executor.UpgradeSpec{Version: strconv.FormatUint(uint64(v.GetVersion()), 10), Module: module}
	if l := v.GetLimits(); l != nil {
		spec.InitFuel = int64(min(l.InitFuel, math.MaxInt64))
		spec.FrameFuel = int64(min(l.FrameFuel, math.MaxInt64))
		spec.MemoryLimitPages = l.MemoryLimitPages
	}
	return spec
}
