package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rcc-games/rcc/pkg/lifecycle"
)

// Errors returned by every backend; compare with errors.Is.
var (
	// ErrNotFound: no such game, version, blob, instance or executor.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object exists already or is in a state that forbids
	// the change.
	ErrConflict = errors.New("conflict")
	// ErrNoExecutor: no live executor can take a new instance.
	ErrNoExecutor = errors.New("no live executor with capacity")
	// ErrExecutorLost: the executor was declared lost and must register again.
	ErrExecutorLost = errors.New("executor lost")
	// ErrUnavailable: the database cannot be reached; the call may succeed
	// when retried.
	ErrUnavailable = errors.New("store unavailable")
	// ErrResuming: Join found no room but a matching instance that is
	// resuming from its checkpoint after its executor was lost; the call
	// succeeds when retried once it runs again.
	ErrResuming = errors.New("resuming from its checkpoint on another executor; try again")
)

// InstanceState is the lifecycle state of an instance: lifecycle.State,
// the type the executor reports too. Ended (or Terminal) tells an end
// state.
type InstanceState = lifecycle.State

// Instance states, as the store spells them.
const (
	StatePending  = lifecycle.Pending
	StateStarting = lifecycle.Starting
	StateRunning  = lifecycle.Running
	StateStopping = lifecycle.Stopping
	StateStopped  = lifecycle.Stopped
	StateFailed   = lifecycle.Failed
	StateLost     = lifecycle.Lost
)

// ExecutorState is the state of an executor.
type ExecutorState string

// Executor states.
const (
	ExecutorActive   ExecutorState = "active"
	ExecutorDraining ExecutorState = "draining"
	ExecutorLost     ExecutorState = "lost"
)

// Game summarises a game's versions.
type Game struct {
	Name          string
	LatestVersion uint32
	VersionCount  uint32
	UpdatedAt     time.Time
}

// Limits are a version's sandbox budgets, set at deploy. A zero field
// means the executor's default. The store keeps them as given; the
// coordinator checks their ranges.
type Limits struct {
	InitFuel         uint64 // fuel for _initialize and init together
	FrameFuel        uint64 // fuel for each frame
	MemoryLimitPages uint32 // linear memory cap, in 64 KiB pages
	// SnapshotHz is how many states a second the players get (0: every
	// tick); not a sandbox budget, but set at deploy with them.
	SnapshotHz uint32
	// CheckpointEvery is the default checkpoint interval of the version's
	// instances (0: none); a spawn may set its own.
	CheckpointEvery time.Duration
}

// Version is one deployed module of a game.
type Version struct {
	Game         string
	Version      uint32
	ModuleSHA256 string
	ModuleSize   int64
	AssetsSHA256 string
	AssetsSize   int64
	Description  string
	Limits       Limits
	CreatedAt    time.Time
}

// NewVersion describes a version to create; the blobs must be stored first.
type NewVersion struct {
	Game         string
	ModuleSHA256 string
	AssetsSHA256 string
	Description  string
	Limits       Limits
	Now          time.Time
}

// Instance is one running copy of a game version.
type Instance struct {
	ID             string
	Game           string
	Version        uint32
	ModuleSHA256   string
	State          InstanceState
	ExecutorID     string
	WSURL          string // the executor's, filled on reads
	MaxPlayers     uint32
	Players        uint32
	Reserved       uint32
	Labels         map[string]string
	Params         string // JSON object, "" when none
	Seed           uint64
	LeaseSeconds   uint32
	LeaseExpiresAt time.Time
	Respawn        bool
	RespawnedFrom  string
	// Record asks the executor to record the instance's input log.
	Record bool
	// SnapshotHz is the spawn's snapshot rate, 0 for the version's.
	SnapshotHz uint32
	// CheckpointEvery is how often the executor ships a checkpoint of the
	// instance (0: never); CheckpointFrame the frame of the newest one
	// stored (0: none), filled on reads.
	CheckpointEvery time.Duration
	CheckpointFrame uint64
	Reason          lifecycle.Reason
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Stats are the live figures of the executor's last heartbeat that
	// reported them; nil when there are none. Filled by GetInstance and
	// ListInstances only.
	Stats *InstanceStats
}

// InstanceStats are one instance's live figures, reported by its executor
// with each heartbeat. The store keeps the latest of each executor's
// instances beside the executor (not in the instance rows, which a
// heartbeat writes only when they change).
type InstanceStats struct {
	TickP50ms   float64 `json:"tick_p50_ms"`
	TickP99ms   float64 `json:"tick_p99_ms"`
	MemoryBytes int64   `json:"memory_bytes"`
	FuelP50     int64   `json:"fuel_p50"`
	FuelMax     int64   `json:"fuel_max"`
	Frames      uint64  `json:"frames"`
	Overruns    uint64  `json:"overruns"`
	// ReportedAt is the time of the heartbeat, set by Heartbeat.
	ReportedAt time.Time `json:"reported_at"`
}

// InstanceFilter selects instances in ListInstances; zero fields match all.
type InstanceFilter struct {
	Game       string
	States     []InstanceState
	ExecutorID string
	Labels     map[string]string
	Limit      int
	// After, when set, starts the list after this instance in the list's
	// order (newest first): the next page of a paginated list.
	After *InstanceCursor
}

// InstanceCursor is a position in ListInstances' order: an instance's
// creation time and id.
type InstanceCursor struct {
	CreatedAt time.Time
	ID        string
}

// ExecutorStats are an executor's live figures.
type ExecutorStats struct {
	Players     uint32  `json:"players"`
	Instances   uint32  `json:"instances"`
	TickP50ms   float64 `json:"tick_p50_ms"`
	TickP99ms   float64 `json:"tick_p99_ms"`
	MemoryBytes int64   `json:"memory_bytes"`
	FuelUsed    int64   `json:"fuel_used"`
}

// Executor is a data-plane process that runs instances.
type Executor struct {
	ID            string
	Name          string
	WSURL         string
	State         ExecutorState
	Capacity      uint32
	Labels        map[string]string
	Stats         ExecutorStats
	Version       string
	LastHeartbeat time.Time
	RegisteredAt  time.Time
	Assigned      uint32 // starting, running or stopping instances, filled on reads
	// MovedFrom is set by RegisterExecutor alone: the URL the executor had
	// before this registration moved it elsewhere ("" when it did not move).
	MovedFrom string
}

// Registration is what an executor announces.
type Registration struct {
	NewID    string // used when the name is new
	Name     string
	WSURL    string
	Capacity uint32
	Labels   map[string]string
	Version  string
}

// InstanceReport is an executor's view of one of its instances.
type InstanceReport struct {
	InstanceID string
	State      InstanceState // running, stopped or failed; "" keeps the state
	Players    uint32
	Reason     lifecycle.Reason
	// JoinedPlayers connected since the last report; their seats are released.
	JoinedPlayers []string
	// Stats are the instance's live figures; Heartbeat keeps them, nil
	// means none.
	Stats *InstanceStats
}

// Placement says which executors may take a new instance.
type Placement struct {
	Now time.Time
	// LiveSince: executors whose last heartbeat is older are not live.
	LiveSince time.Time
}

// SpawnSpec describes a new instance. An empty ID gets a new one; a zero
// Seed a random one.
type SpawnSpec struct {
	ID            string
	Game          string
	Version       uint32 // 0: latest
	MaxPlayers    uint32
	LeaseSeconds  uint32
	Labels        map[string]string
	Params        string
	Seed          uint64
	Respawn       bool
	RespawnedFrom string
	// Record asks the executor to record the instance's input log; a
	// respawned instance records too.
	Record bool
	// SnapshotHz is the spawn's snapshot rate (0: the version's); a
	// respawned instance keeps it.
	SnapshotHz uint32
	// CheckpointEvery is the checkpoint interval (0: the version's
	// default, Limits.CheckpointEvery).
	CheckpointEvery time.Duration
}

// JoinQuery asks for a seat in an instance of a game.
type JoinQuery struct {
	Game     string
	Version  uint32 // 0: latest
	PlayerID string
	Labels   map[string]string
	// SeatID names the reservation (the ticket's jti).
	SeatID      string
	SeatExpires time.Time
	// NewInstance describes the instance to create when none has room.
	NewInstance SpawnSpec
	Placement
}

// JoinResult is where a joining player goes.
type JoinResult struct {
	Instance Instance
	Created  bool
}

// ExpiredExecutors is what ExpireExecutors changed.
type ExpiredExecutors struct {
	Executors []Executor
	Lost      []Instance // instances marked lost
	Respawned []Instance // their replacements
	// Resumed are the instances with a checkpoint, placed on another live
	// executor (starting), which resumes them from it, or pending when
	// none can take them (AssignPending places them later); they are not
	// in Lost.
	Resumed []Instance
}

// Store is the coordinator's state. Methods that change time-dependent
// state take the time from the caller, so tests control the clock.
type Store interface {
	// PutBlob stores bytes by sha256 and returns it; existed is true when
	// they were stored already.
	PutBlob(ctx context.Context, data []byte, now time.Time) (sha string, existed bool, err error)
	// GetBlob returns stored bytes.
	GetBlob(ctx context.Context, sha string) ([]byte, error)
	// PutBlobFrom stores the size bytes of r, whose sha256 is sha, in
	// pieces of BlobChunkBytes, so that a large blob is never held whole
	// in memory; it fails, storing nothing, when r's bytes are not those.
	// existed is true when the blob was already stored (r is not read).
	PutBlobFrom(ctx context.Context, sha string, size int64, r io.Reader, now time.Time) (existed bool, err error)
	// ReadBlob calls fn with a stored blob's size and its bytes in order,
	// a piece at a time (the whole blob at once when it was stored by
	// PutBlob); an error of fn ends the read and is returned.
	ReadBlob(ctx context.Context, sha string, fn func(size int64, chunk []byte) error) error
	// CreateVersion adds the next version of a game. When the module,
	// assets and limits equal the latest version's, it returns that version
	// and unchanged = true.
	CreateVersion(ctx context.Context, v NewVersion) (ver Version, unchanged bool, err error)
	// GetVersion returns a version; 0 means the latest.
	GetVersion(ctx context.Context, game string, version uint32) (Version, error)
	// ListGames lists games by name.
	ListGames(ctx context.Context) ([]Game, error)
	// ListVersions lists a game's versions, oldest first.
	ListVersions(ctx context.Context, game string) ([]Version, error)
	// DeleteGame removes one version of a game, or with version 0 every
	// version (the game itself), and returns what it removed. ErrNotFound
	// when there is no such game or version; ErrConflict, removing
	// nothing, while a live instance (pending, starting, running or
	// stopping) runs a version it would remove. Ended instances keep their
	// rows; the module and assets bytes stay stored (content-addressed,
	// another version may share them). Removing the latest version makes
	// the next deploy reuse its number.
	DeleteGame(ctx context.Context, game string, version uint32) ([]Version, error)

	// Spawn creates an instance, assigned to the live executor with the
	// fewest instances, or pending when there is none.
	Spawn(ctx context.Context, spec SpawnSpec, p Placement) (Instance, error)
	// GetInstance returns an instance.
	GetInstance(ctx context.Context, id string) (Instance, error)
	// ListInstances lists instances, newest first.
	ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, error)
	// StopInstance stops a pending instance at once and moves an assigned
	// one to stopping. Stopping a finished instance returns it unchanged.
	StopInstance(ctx context.Context, id, reason string, now time.Time) (Instance, error)
	// RenewLease sets the lease to end seconds after now (0: the
	// instance's own lease_seconds). ErrConflict if the instance is done.
	RenewLease(ctx context.Context, id string, seconds uint32, now time.Time) (Instance, error)
	// Join reserves a seat in the fullest matching instance with room, or
	// creates an instance on a live executor. ErrNoExecutor when neither;
	// ErrResuming, creating none, while a matching instance with a
	// checkpoint waits for its lost executor to be replaced.
	Join(ctx context.Context, q JoinQuery) (JoinResult, error)
	// ReportInstance applies an executor's report on one of its instances.
	ReportInstance(ctx context.Context, executorID string, r InstanceReport, now time.Time) (Instance, error)
	// MoveInstance assigns a running instance of executor from to executor
	// to, after a live migration. ErrConflict unless the instance is
	// running on from; ErrNotFound for an unknown instance or target.
	MoveInstance(ctx context.Context, id, from, to string, now time.Time) (Instance, error)
	// UpgradeInstance records that a running instance of executor runs
	// version of its game now, after a hot upgrade. ErrConflict unless the
	// instance is running on executor; ErrNotFound for an unknown instance
	// or version.
	UpgradeInstance(ctx context.Context, id, executor string, version uint32, now time.Time) (Instance, error)

	// RegisterExecutor creates or re-activates an executor by name. A
	// live (active or draining) executor registering again at the same URL
	// keeps its id; at another URL it is refused with a
	// *RegistrationConflict (ErrConflict) until it has been declared lost.
	RegisterExecutor(ctx context.Context, r Registration, now time.Time) (Executor, error)
	// Heartbeat records an executor's liveness and stats and applies its
	// reports. The reports' Stats replace the ones of the executor's
	// previous heartbeat, with ReportedAt set to now. ErrExecutorLost when
	// it was declared lost.
	Heartbeat(ctx context.Context, id string, stats ExecutorStats, reports []InstanceReport, now time.Time) (Executor, []Instance, error)
	// DrainExecutor stops placing instances on an executor.
	DrainExecutor(ctx context.Context, id string) (Executor, error)
	// UndrainExecutor places instances on a draining executor again; an
	// active one stays as it is. ErrConflict when it is lost (it must
	// register again).
	UndrainExecutor(ctx context.Context, id string) (Executor, error)
	// GetExecutor returns an executor.
	GetExecutor(ctx context.Context, id string) (Executor, error)
	// ListExecutors lists executors by name.
	ListExecutors(ctx context.Context) ([]Executor, error)

	// AssignPending places pending instances on live executors.
	AssignPending(ctx context.Context, p Placement) ([]Instance, error)
	// ExpireLeases ends instances whose lease is over: pending ones stop,
	// assigned ones move to stopping.
	ExpireLeases(ctx context.Context, now time.Time) ([]Instance, error)
	// ExpireStops ends instances in stopping since before before (their
	// executor never confirmed the stop): they become stopped.
	ExpireStops(ctx context.Context, before, now time.Time) ([]Instance, error)
	// ExpireExecutors declares lost the executors silent since p.LiveSince,
	// marks their instances lost and respawns those that allow it.
	ExpireExecutors(ctx context.Context, p Placement) (ExpiredExecutors, error)
	// SaveCheckpoint records the newest checkpoint of an instance running
	// (or starting) on cp.ExecutorID, whose snapshot blob is stored
	// already, replacing the previous one: the inputs logged up to its
	// frame are dropped, and the previous snapshot's blob too when nothing
	// else uses it. ErrConflict unless the instance is assigned to that
	// executor; ErrNotFound for an unknown instance.
	SaveCheckpoint(ctx context.Context, cp Checkpoint) (Checkpoint, error)
	// AppendCheckpointInputs stores frames an instance ran after its
	// checkpoint (again for the same first frame: replaced), under the
	// same conditions as SaveCheckpoint.
	AppendCheckpointInputs(ctx context.Context, instanceID, executorID string, in CheckpointInputs) error
	// GetCheckpoint returns an instance's checkpoint and the inputs stored
	// after its frame, oldest first. ErrNotFound when it has none.
	GetCheckpoint(ctx context.Context, instanceID string) (Checkpoint, []CheckpointInputs, error)
	// ReleaseSeats frees seat reservations that expired before now.
	ReleaseSeats(ctx context.Context, now time.Time) (int, error)

	// AppendLogs appends each batch's entries to its instance's log,
	// numbering them after the log's last entry (Seq, from 1, never
	// reused), and trims each log to its last keep entries, all in one
	// transaction. Texts are made valid UTF-8 without NUL bytes and cut to
	// 4 KiB; a zero Time becomes now. It returns the instances whose
	// entries it did not store: unknown, or not assigned to executorID (an
	// ended instance stays assigned to the executor that ran it).
	AppendLogs(ctx context.Context, executorID string, batches []LogBatch, keep int, now time.Time) (refused []string, err error)
	// ListLogs returns the kept entries of an instance's log that q
	// selects, oldest first (never nil). ErrNotFound for an unknown
	// instance.
	ListLogs(ctx context.Context, instanceID string, q LogQuery) ([]LogEntry, error)

	// PurgeInstances deletes stopped, failed and lost instances last
	// changed before before, with their logs, and returns how many.
	PurgeInstances(ctx context.Context, before time.Time) (int, error)

	// Counts returns how many instances are in each state and executors in
	// each state.
	Counts(ctx context.Context) (instances map[InstanceState]int, executors map[ExecutorState]int, err error)

	// RevokeToken adds a token to the deny-list (again: no change) and
	// forgets the revocations whose tokens have expired.
	RevokeToken(ctx context.Context, r Revocation) error
	// ListRevoked returns the revocations of tokens unexpired at now,
	// oldest first (never nil).
	ListRevoked(ctx context.Context, now time.Time) ([]Revocation, error)

	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Open opens the store named by url: "postgres://…" (or "postgresql://…")
// or "sqlite://PATH" ("sqlite://:memory:" for a private in-memory one), and
// applies the migrations.
func Open(ctx context.Context, url string) (Store, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return OpenPostgres(ctx, url)
	case strings.HasPrefix(url, "sqlite://"):
		return OpenSQLite(ctx, strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "sqlite:"):
		return OpenSQLite(ctx, strings.TrimPrefix(url, "sqlite:"))
	}
	return nil, fmt.Errorf("open store: unsupported database URL %q (want postgres://… or sqlite://PATH)", redactURL(url))
}

// redactURL hides a password in a URL for messages.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	creds := u[scheme+3 : at]
	if i := strings.Index(creds, ":"); i >= 0 {
		return u[:scheme+3] + creds[:i] + ":REDACTED" + u[at:]
	}
	return u
}
