package coordinator

import (
	"context"
	"io"
	"time"

	"github.com/rcc-games/rcc/pkg/store"
)

// The coordinator's services each declare the part of the store they use;
// Store, what Config takes, is their union. store.Open's result has it.

// gameStore is what the game service uses: blobs and versions.
type gameStore interface {
	PutBlob(ctx context.Context, data []byte, now time.Time) (sha string, existed bool, err error)
	PutBlobFrom(ctx context.Context, sha string, size int64, r io.Reader, now time.Time) (existed bool, err error)
	ReadBlob(ctx context.Context, sha string, fn func(size int64, chunk []byte) error) error
	CreateVersion(ctx context.Context, v store.NewVersion) (ver store.Version, unchanged bool, err error)
	GetVersion(ctx context.Context, game string, version uint32) (store.Version, error)
	ListGames(ctx context.Context) ([]store.Game, error)
	ListVersions(ctx context.Context, game string) ([]store.Version, error)
	DeleteGame(ctx context.Context, game string, version uint32) ([]store.Version, error)
}

// instanceStore is what the instance service uses: instances, joins and
// their logs.
type instanceStore interface {
	Spawn(ctx context.Context, spec store.SpawnSpec, p store.Placement) (store.Instance, error)
	GetInstance(ctx context.Context, id string) (store.Instance, error)
	ListInstances(ctx context.Context, f store.InstanceFilter) ([]store.Instance, error)
	StopInstance(ctx context.Context, id, reason string, now time.Time) (store.Instance, error)
	RenewLease(ctx context.Context, id string, seconds uint32, now time.Time) (store.Instance, error)
	Join(ctx context.Context, q store.JoinQuery) (store.JoinResult, error)
	ListLogs(ctx context.Context, instanceID string, q store.LogQuery) ([]store.LogEntry, error)
	// For Migrate's choice of a target and Upgrade's version.
	GetVersion(ctx context.Context, game string, version uint32) (store.Version, error)
	GetExecutor(ctx context.Context, id string) (store.Executor, error)
	ListExecutors(ctx context.Context) ([]store.Executor, error)
}

// executorStore is what the executor service uses: executors, their
// reports and logs, and the instances and versions it assigns them.
type executorStore interface {
	RegisterExecutor(ctx context.Context, r store.Registration, now time.Time) (store.Executor, error)
	Heartbeat(ctx context.Context, id string, stats store.ExecutorStats, reports []store.InstanceReport, now time.Time) (store.Executor, []store.Instance, error)
	ReportInstance(ctx context.Context, executorID string, r store.InstanceReport, now time.Time) (store.Instance, error)
	MoveInstance(ctx context.Context, id, from, to string, now time.Time) (store.Instance, error)
	UpgradeInstance(ctx context.Context, id, executor string, version uint32, now time.Time) (store.Instance, error)
	DrainExecutor(ctx context.Context, id string) (store.Executor, error)
	UndrainExecutor(ctx context.Context, id string) (store.Executor, error)
	GetExecutor(ctx context.Context, id string) (store.Executor, error)
	ListExecutors(ctx context.Context) ([]store.Executor, error)
	AppendLogs(ctx context.Context, executorID string, batches []store.LogBatch, keep int, now time.Time) (refused []string, err error)
	// assignerStore: what an assignment stream reads.
	assignerStore
	// checkpointStore: the checkpoints executors ship.
	checkpointStore
}

// assignerStore is what an assignment stream reads.
type assignerStore interface {
	GetVersion(ctx context.Context, game string, version uint32) (store.Version, error)
	GetInstance(ctx context.Context, id string) (store.Instance, error)
	ListInstances(ctx context.Context, f store.InstanceFilter) ([]store.Instance, error)
}

// watchStore is what the watch service reads for its snapshot.
type watchStore interface {
	ListExecutors(ctx context.Context) ([]store.Executor, error)
	ListInstances(ctx context.Context, f store.InstanceFilter) ([]store.Instance, error)
}

// reaperStore is what the Coordinator itself uses: the periodic reaping
// and placement, the reads that resync the other coordinators' changes,
// and the health check.
type reaperStore interface {
	AssignPending(ctx context.Context, p store.Placement) ([]store.Instance, error)
	ExpireLeases(ctx context.Context, now time.Time) ([]store.Instance, error)
	ExpireStops(ctx context.Context, before, now time.Time) ([]store.Instance, error)
	ExpireExecutors(ctx context.Context, p store.Placement) (store.ExpiredExecutors, error)
	ReleaseSeats(ctx context.Context, now time.Time) (int, error)
	PurgeInstances(ctx context.Context, before time.Time) (int, error)
	GetInstance(ctx context.Context, id string) (store.Instance, error)
	GetExecutor(ctx context.Context, id string) (store.Executor, error)
	ListInstances(ctx context.Context, f store.InstanceFilter) ([]store.Instance, error)
	Ping(ctx context.Context) error
}

// revocationStore is the deny-list of revoked tokens the auth checks read.
type revocationStore interface {
	ListRevoked(ctx context.Context, now time.Time) ([]store.Revocation, error)
}

// counter is what the state metrics read.
type counter interface {
	Counts(ctx context.Context) (instances map[store.InstanceState]int, executors map[store.ExecutorState]int, err error)
}

// Store is what a Coordinator needs of its store: the union of what its
// services use. A store.Store has it; a store that also offers
// Notify and Listen (store.Postgres) carries changes between
// coordinators.
type Store interface {
	gameStore
	instanceStore
	executorStore
	watchStore
	reaperStore
	revocationStore
	counter
}

// A store.Store serves a Coordinator.
var _ Store = store.Store(nil)
