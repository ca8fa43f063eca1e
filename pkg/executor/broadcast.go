package executor

import (
	"sync"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/protocol"
)

// DefaultKeyframeInterval is Config.KeyframeInterval's default: a client
// on deltas gets a keyframe at least every 300 states (5 s at 60 Hz).
const DefaultKeyframeInterval = 300

// DefaultSnapshotHz is the snapshot rate of an instance whose version and
// spawn set none, for clients on deltas (pkg/play and rcc-view, which
// interpolate between states): 30 states a second, or every tick when the
// instance ticks slower. Clients on State frames get every tick unless a
// rate was set. A version or spawn asks for every tick with a snapshot_hz
// at or above its tick rate.
const DefaultSnapshotHz = 30

// broadcast is one state an instance sends its players, shared by every
// session's queue. Each encoding is made once, by the first writer that
// needs it, and then written by every writer that needs the same: the full
// State frame (clients not on deltas), the Delta on the previous broadcast
// (clients that hold it) and the keyframe (clients that hold nothing, or
// missed a state, or are due one). Each is a prepared WebSocket message,
// so the WebSocket framing is done once too.
type broadcast struct {
	frame uint64
	full  []byte // the State frame; its state bytes are full[StateHeaderBytes:]
	// prevFrame and prevState are the previous broadcast's frame and
	// state bytes (0 and nil for the first): the base of the shared delta.
	// Only the bytes are kept, so broadcasts do not chain.
	prevFrame uint64
	prevState []byte

	fullMsg, deltaMsg, keyMsg encoding
}

// encoding is one prepared message, made once.
type encoding struct {
	once sync.Once
	pm   *websocket.PreparedMessage
	n    int // its payload's length
}

func (e *encoding) get(make func() []byte) (*websocket.PreparedMessage, int) {
	e.once.Do(func() {
		b := make()
		if b == nil {
			return
		}
		pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, b)
		if err == nil {
			e.pm, e.n = pm, len(b)
		}
	})
	return e.pm, e.n
}

func newBroadcast(frame uint64, stateBytes []byte, prev *broadcast) *broadcast {
	full := make([]byte, 0, protocol.StateHeaderBytes+len(stateBytes))
	full = append(protocol.AppendStateHeader(full, frame), stateBytes...)
	b := &broadcast{frame: frame, full: full}
	if prev != nil {
		b.prevFrame, b.prevState = prev.frame, prev.state()
	}
	return b
}

func (b *broadcast) state() []byte { return b.full[protocol.StateHeaderBytes:] }

// message returns what to write to a client: the full State frame when it
// is not on deltas; otherwise the shared delta when the client holds the
// previous broadcast (its base) and is not due a keyframe, else the
// keyframe. A delta or keyframe that cannot be encoded, or would be no
// smaller than the full frame (tiny or incompressible states), gives way
// to the full frame, which a delta client takes as a keyframe too. kind
// says which it is.
func (b *broadcast) message(enc *protocol.DeltaEncoder, delta bool, base uint64, keyDue bool) (pm *websocket.PreparedMessage, n int, kind string) {
	if delta && enc != nil {
		if base != 0 && base == b.prevFrame && !keyDue {
			if pm, n := b.deltaMsg.get(func() []byte {
				m, err := enc.AppendDelta(nil, b.frame, b.state(), b.prevFrame, b.prevState)
				if err != nil || len(m) >= len(b.full) {
					return nil
				}
				return m
			}); pm != nil {
				return pm, n, sentDelta
			}
		}
		if pm, n := b.keyMsg.get(func() []byte {
			m, err := enc.AppendDelta(nil, b.frame, b.state(), 0, nil)
			if err != nil || len(m) >= len(b.full) {
				return nil
			}
			return m
		}); pm != nil {
			return pm, n, sentKeyframe
		}
	}
	pm, n = b.fullMsg.get(func() []byte { return b.full })
	return pm, n, sentFull
}

// The kinds of state message a session writes, as metrics label them.
const (
	sentFull     = "full"
	sentDelta    = "delta"
	sentKeyframe = "keyframe"
)

// snapshotDue reports whether frame n of an instance ticking at tickHz
// sends its state at snapshotHz: the frames where n·snapshotHz/tickHz
// reaches a new integer, so the states are spread evenly over the ticks.
func snapshotDue(n uint64, tickHz, snapshotHz int) bool {
	if snapshotHz <= 0 || snapshotHz >= tickHz {
		return true
	}
	t, s := uint64(tickHz), uint64(snapshotHz)
	return n*s/t != (n-1)*s/t
}
