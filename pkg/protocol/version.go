package protocol

import (
	"encoding/binary"
	"fmt"
)

// TypeVersionChanged goes from the server to the client: the game version
// the instance runs changed under the connection (docs/protocol.md,
// "Version changes").
const TypeVersionChanged Type = 0x16

// VersionCause says why a VersionChanged frame was sent.
type VersionCause uint8

// The causes of a version change.
const (
	// VersionUpgraded: a hot upgrade was kept after its probation; the
	// new version computes the states from Frame on.
	VersionUpgraded VersionCause = 1
	// VersionRolledBack: a hot upgrade failed in its probation and the
	// version the instance ran before goes on; its states resume at
	// Frame. A client welcomed during the probation was told the new
	// version and learns here that it did not stay.
	VersionRolledBack VersionCause = 2
)

// String returns the cause's name: upgraded or rolled_back.
func (c VersionCause) String() string {
	switch c {
	case VersionUpgraded:
		return "upgraded"
	case VersionRolledBack:
		return "rolled_back"
	}
	return fmt.Sprintf("cause(%d)", uint8(c))
}

// VersionChanged tells every player of an instance the game version it
// now runs, with the rates of that version: a client shows GameVersion
// where it showed the welcome's.
type VersionChanged struct {
	Cause VersionCause
	// TickHz and SnapshotHz are the instance's tick and snapshot rates
	// from now on (the snapshot rate is the tick rate when every tick's
	// state is sent).
	TickHz, SnapshotHz uint16
	// Frame is the first frame whose state the version computed.
	Frame uint64
	// GameVersion is the version, as the welcome names it.
	GameVersion string
}

// versionChangedFixed is the size of a VersionChanged frame before its
// string: type, cause, tick rate, snapshot rate, frame.
const versionChangedFixed = 1 + 1 + 2 + 2 + 8 // 14 bytes

// Type implements Frame.
func (*VersionChanged) Type() Type { return TypeVersionChanged }

// AppendFrame implements Frame.
func (f *VersionChanged) AppendFrame(dst []byte) ([]byte, error) {
	if f.Cause != VersionUpgraded && f.Cause != VersionRolledBack {
		return dst, fmt.Errorf("encode version_changed: unknown cause %d", f.Cause)
	}
	if len(f.GameVersion) > MaxStringBytes {
		return dst, fmt.Errorf("encode version_changed: %w: version of %d bytes, limit %d", ErrTooLarge, len(f.GameVersion), MaxStringBytes)
	}
	dst = append(dst, byte(TypeVersionChanged), byte(f.Cause))
	dst = binary.LittleEndian.AppendUint16(dst, f.TickHz)
	dst = binary.LittleEndian.AppendUint16(dst, f.SnapshotHz)
	dst = binary.LittleEndian.AppendUint64(dst, f.Frame)
	return appendString(dst, f.GameVersion), nil
}

// decodeVersionChanged decodes a VersionChanged frame; ok is false for
// other types.
func decodeVersionChanged(b []byte) (f Frame, ok bool, err error) {
	if Type(b[0]) != TypeVersionChanged {
		return nil, false, nil
	}
	if len(b) < versionChangedFixed {
		return nil, true, fmt.Errorf("%w: version_changed of %d bytes, shorter than %d", ErrMalformed, len(b), versionChangedFixed)
	}
	le := binary.LittleEndian
	v := &VersionChanged{
		Cause:      VersionCause(b[1]),
		TickHz:     le.Uint16(b[2:4]),
		SnapshotHz: le.Uint16(b[4:6]),
		Frame:      le.Uint64(b[6:14]),
	}
	if v.Cause != VersionUpgraded && v.Cause != VersionRolledBack {
		return nil, true, fmt.Errorf("%w: version_changed cause %d", ErrMalformed, v.Cause)
	}
	r := reader{b: b[versionChangedFixed:]}
	v.GameVersion = r.string()
	if err := r.end(TypeVersionChanged); err != nil {
		return nil, true, err
	}
	return v, true, nil
}
