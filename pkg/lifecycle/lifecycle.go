package lifecycle

// State is the lifecycle state of an instance. The executor uses starting
// to stopped and failed; the coordinator adds pending (not yet placed) and
// lost (its executor went away).
type State string

// The lifecycle states of an instance.
const (
	Pending  State = "pending"
	Starting State = "starting"
	Running  State = "running"
	Stopping State = "stopping"
	Stopped  State = "stopped"
	Failed   State = "failed"
	Lost     State = "lost"
)

// States lists every State, in lifecycle order.
var States = []State{Pending, Starting, Running, Stopping, Stopped, Failed, Lost}

// Ended reports whether s is a final state: stopped, failed or lost.
func (s State) Ended() bool { return s == Stopped || s == Failed || s == Lost }

// Reason names why an instance ended. Reasons are stable strings: they
// reach logs, the coordinator's store, rccctl and players' close frames.
// A stop's reason is the text the stop was asked with ("lease expired",
// an operator's words), so not every Reason is one of the constants.
type Reason string

// The reasons the sandbox fails an instance (pkg/wasmhost's Error.Reason).
const (
	// ReasonInvalidModule: the module breaks the guest ABI or is not wasm.
	ReasonInvalidModule Reason = "invalid_module"
	// ReasonInitFailed: init returned a non-zero code.
	ReasonInitFailed Reason = "init_failed"
	// ReasonTrap: the guest trapped (unreachable, out-of-bounds access,
	// division by zero, ...); the detail says which.
	ReasonTrap Reason = "trap"
	// ReasonStackOverflow: the guest's call stack overflowed.
	ReasonStackOverflow Reason = "stack_overflow"
	// ReasonOutOfMemory: the guest failed in a call where memory.grow past
	// its cap was refused.
	ReasonOutOfMemory Reason = "out_of_memory"
	// ReasonDeadlineExceeded: a call ran past its wall-clock deadline.
	ReasonDeadlineExceeded Reason = "deadline_exceeded"
	// ReasonFuelExhausted: a call spent its fuel budget.
	ReasonFuelExhausted Reason = "fuel_exhausted"
	// ReasonBadPointer: alloc returned a buffer outside linear memory.
	ReasonBadPointer Reason = "bad_pointer"
	// ReasonBadStateBuffer: serialize_state returned a pointer whose length
	// prefix or state bytes lie outside linear memory.
	ReasonBadStateBuffer Reason = "bad_state_buffer"
	// ReasonStateTooLarge: the state bytes are over the size limit.
	ReasonStateTooLarge Reason = "state_too_large"
	// ReasonLogFlood: the guest wrote more log output in one call than allowed.
	ReasonLogFlood Reason = "log_flood"
	// ReasonExit: the guest called proc_exit (a Go guest does on panic).
	ReasonExit Reason = "exit"
	// ReasonCanceled: the host cancelled the call.
	ReasonCanceled Reason = "canceled"
	// ReasonClosed: the instance was closed by the host.
	ReasonClosed Reason = "closed"
)

// The reasons an instance ends that do not come from the sandbox.
const (
	// ReasonStopped: the instance was stopped and no reason was given.
	ReasonStopped Reason = "stopped"
	// ReasonExecutorShutdown: the executor stopped.
	ReasonExecutorShutdown Reason = "executor_shutdown"
	// ReasonStartFailed: the instance could not be started for a reason
	// the sandbox does not name (invalid params, for one).
	ReasonStartFailed Reason = "start_failed"
	// ReasonModuleUnavailable: the executor could not fetch the module or
	// the assets of the instance.
	ReasonModuleUnavailable Reason = "module_unavailable"
	// ReasonMigrated: the instance moved to another executor, where it
	// goes on (docs/snapshots.md); this executor's copy ended.
	ReasonMigrated Reason = "migrated"
)
