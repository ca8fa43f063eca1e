package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"time"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Defaults of Config.
const (
	DefaultClientQueue      = 8
	DefaultSlowClientFrames = 120
	DefaultWriteTimeout     = 5 * time.Second
	DefaultPingInterval     = 15 * time.Second
	DefaultReconnectGrace   = 30 * time.Second
	DefaultStartWait        = 10 * time.Second
	DefaultMaxPendingEvents = 4096
	DefaultEndedRetention   = 10 * time.Minute
	closeGrace              = time.Second
)

// Config configures an Executor.
type Config struct {
	// ID is this executor's id: join tickets must name it. Required.
	ID string
	// Verifier checks join tickets. Required to accept players.
	Verifier *auth.Verifier
	// Engine runs the games. When nil, New creates one from Sandbox and
	// Close closes it.
	Engine  *wasmhost.Engine
	Sandbox wasmhost.Config
	// Logger receives JSON-ready structured logs; slog.Default() if nil.
	Logger *slog.Logger
	// Workers is the number of goroutines running frames (default
	// GOMAXPROCS, at least 2).
	Workers int
	// ClientQueue is how many state frames wait for a slow client before
	// the oldest is dropped (default 8).
	ClientQueue int
	// SlowClientFrames is how many state frames may be dropped for a
	// client in a row, with none written, before it is closed as too slow
	// (default 120, two seconds at 60 Hz).
	SlowClientFrames int
	// WriteTimeout bounds each write to a client (default 5 s); a client
	// that takes longer is closed as too slow.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings each client (default
	// 15 s); a client silent for two intervals plus WriteTimeout is closed.
	PingInterval time.Duration
	// MaxInputBytes, InputRate and InputBurst limit each player's inputs:
	// the payload size, and a token bucket of InputRate inputs per second
	// holding up to InputBurst. Defaults: protocol.MaxInputBytes,
	// protocol.DefaultInputRate and protocol.DefaultInputBurst. A player
	// who has more inputs dropped within one second than InputRate is
	// closed with protocol.CloseInputRate.
	MaxInputBytes int
	InputRate     int
	InputBurst    int
	// ReconnectGrace is how long a player whose connection dropped stays
	// in the game, keeping the avatar, before the game gets its leave
	// (default 30 s; negative: leave at once). A client that closes first
	// with 1000 (normal closure) leaves at once either way.
	ReconnectGrace time.Duration
	// MaxPendingEvents caps the events queued for one instance's next
	// frame; inputs beyond it are dropped and counted (default 4096).
	MaxPendingEvents int
	// StartWait is how long a player with a valid ticket waits for an
	// instance this executor has not started yet (Join can hand out a
	// ticket before the assignment arrives) before being refused with
	// protocol.CloseInstanceNotFound (default 10 s; negative: no wait).
	StartWait time.Duration
	// EndedRetention is how long an ended instance stays listed by
	// Instances (default 10 minutes).
	EndedRetention time.Duration
	// LogEntries is how many entries of its log (guest lines and
	// lifecycle events, see Logs) each instance keeps, the oldest
	// overwritten first (default DefaultLogEntries).
	LogEntries int
	// ReplayDir is where CreateReplay puts input logs and where GET
	// /replays/{instance} finds them: instance id + ReplayExt. Empty: no
	// input log is served.
	ReplayDir string
	// KeyframeInterval is how many Delta frames a client on deltas gets
	// at most between two keyframes (default DefaultKeyframeInterval).
	// Keyframes are also sent when a client holds no state yet and after
	// a state it missed.
	KeyframeInterval int
	// OnChange, when set, is called with an instance's status each time
	// its state changes (starting, running, stopping, stopped, failed).
	// It runs on the executor's goroutines and must not block.
	OnChange func(InstanceStatus)
	// FetchAssets, when set, returns the assets archive of sha256 (a
	// game version's assets) as a read-only file system, for instance
	// moving here: a migration's target fetches them as a spawn does,
	// before the move. Without it, instances with assets cannot move here.
	FetchAssets func(ctx context.Context, instanceID, sha256 string) (fs.FS, error)
	// Checkpoints receives the checkpoints of the instances whose spec
	// asks for them (InstanceSpec.CheckpointEvery; checkpoint.go): without
	// it, no instance is checkpointed.
	Checkpoints CheckpointSink
	// CheckpointInputsEvery is how often the frames run since the last
	// shipment go to Checkpoints (default DefaultCheckpointInputsEvery, at
	// most the instance's checkpoint interval): what a lost executor loses
	// is at most that much play, plus the shipment's own time.
	CheckpointInputsEvery time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.ID == "" {
		return c, errors.New("executor id is empty")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Workers <= 0 {
		c.Workers = max(2, runtime.GOMAXPROCS(0))
	}
	if c.ClientQueue <= 0 {
		c.ClientQueue = DefaultClientQueue
	}
	if c.SlowClientFrames <= 0 {
		c.SlowClientFrames = DefaultSlowClientFrames
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.MaxInputBytes <= 0 || c.MaxInputBytes > protocol.MaxInputBytes {
		c.MaxInputBytes = protocol.MaxInputBytes
	}
	if c.InputRate <= 0 {
		c.InputRate = protocol.DefaultInputRate
	}
	if c.InputBurst <= 0 {
		c.InputBurst = protocol.DefaultInputBurst
	}
	if c.ReconnectGrace == 0 {
		c.ReconnectGrace = DefaultReconnectGrace
	}
	if c.MaxPendingEvents <= 0 {
		c.MaxPendingEvents = DefaultMaxPendingEvents
	}
	if c.StartWait == 0 {
		c.StartWait = DefaultStartWait
	}
	if c.EndedRetention <= 0 {
		c.EndedRetention = DefaultEndedRetention
	}
	if c.LogEntries <= 0 {
		c.LogEntries = DefaultLogEntries
	}
	if c.KeyframeInterval <= 0 {
		c.KeyframeInterval = DefaultKeyframeInterval
	}
	return c, nil
}

// InstanceSpec is what an instance runs: the coordinator's StartInstance
// assignment, with the module's bytes fetched.
type InstanceSpec struct {
	// ID is the instance id, unique on the executor. Required.
	ID string
	// Game and Version name the game version; they reach the guest's init
	// and the logs.
	Game    string
	Version string
	// Module is the game's wasm. Compiled code is cached by content, so
	// starting many instances of one version compiles it once.
	Module []byte
	// Seed, MaxPlayers (0: no limit), TickHz (default 60) and Params (a
	// JSON object, default {}) configure the instance.
	Seed       uint64
	MaxPlayers int
	TickHz     int
	Params     json.RawMessage
	// SnapshotHz is how many states a second the players get (at most
	// TickHz; at or above it, every tick): inputs still reach the guest at
	// every tick, and the states sent are spread evenly over the ticks.
	// When 0, players on deltas get DefaultSnapshotHz and players on
	// State frames every tick.
	SnapshotHz int
	// Assets, when set, are mounted read-only at /assets.
	Assets fs.FS
	// AssetsSHA256 is the sha256 of the assets' archive, by which a
	// migration's target fetches them (Config.FetchAssets); an instance
	// with Assets and without it cannot migrate.
	AssetsSHA256 string
	// MemoryLimitPages lowers the sandbox's memory cap for this instance.
	MemoryLimitPages uint32
	// FrameFuel, when set, is this instance's fuel budget per frame
	// instead of the sandbox's default.
	FrameFuel int64
	// InitFuel, when set, is this instance's fuel budget for _initialize
	// and init together instead of the sandbox's default.
	InitFuel int64
	// Record, when set, receives the instance's input log (pkg/replay,
	// docs/replay.md): a header from this spec, then every frame's events
	// in the order given to the guest and the hash of its state bytes. It is
	// buffered, flushed every 60 frames and when the instance ends, and
	// closed then when it is an io.Closer (also when Start fails). A write
	// error stops the recording, not the instance.
	Record io.Writer
	// CheckpointEvery, when set and Config.Checkpoints is, is how often a
	// snapshot of the instance is taken at a frame boundary and shipped to
	// Config.Checkpoints, with the frames run after it (checkpoint.go).
	CheckpointEvery time.Duration
	// Resume, when set, starts the instance from a checkpoint instead of
	// from init: the snapshot is restored and the frames logged after it
	// are run again, as fast as they go, before it runs live.
	Resume *Resume
}

func (s InstanceSpec) validate() error {
	switch {
	case s.ID == "":
		return fmt.Errorf("%w: empty instance id", ErrInvalidSpec)
	case len(s.ID) > protocol.MaxStringBytes:
		return fmt.Errorf("%w: instance id of %d bytes, limit %d", ErrInvalidSpec, len(s.ID), protocol.MaxStringBytes)
	case len(s.Module) == 0:
		return fmt.Errorf("%w: no module bytes", ErrInvalidSpec)
	case s.TickHz < 0 || s.TickHz > 1000:
		return fmt.Errorf("%w: tick rate %d Hz outside 1-1000", ErrInvalidSpec, s.TickHz)
	case s.SnapshotHz < 0 || s.SnapshotHz > 1000:
		return fmt.Errorf("%w: snapshot rate %d Hz outside 1-1000", ErrInvalidSpec, s.SnapshotHz)
	case s.MaxPlayers < 0 || s.MaxPlayers > 65535:
		return fmt.Errorf("%w: max players %d outside 0-65535", ErrInvalidSpec, s.MaxPlayers)
	}
	return nil
}

// Errors of the executor's API. Compare with errors.Is.
var (
	// ErrInvalidSpec means an InstanceSpec is incomplete or out of range.
	ErrInvalidSpec = errors.New("invalid instance spec")
	// ErrExists means an instance with that id is already starting or
	// running.
	ErrExists = errors.New("instance already exists")
	// ErrNotFound means no instance with that id is known.
	ErrNotFound = errors.New("instance not found")
)
