package protocol

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// The frames of a live migration (docs/protocol.md, "Migration").
const (
	// TypeMigrateAck goes from the client to the server: the answer to a
	// Migrate frame of phase MigrateHold, after which the client sends no
	// input on this connection until the next Migrate frame.
	TypeMigrateAck Type = 0x02
	// TypeMigrate goes from the server to the client: the instance is
	// moving to another executor.
	TypeMigrate Type = 0x15
)

// MigratePhase is the step of a migration a Migrate frame announces.
type MigratePhase uint8

// The phases of a migration.
const (
	// MigrateHold: the instance pauses at a frame boundary. The client
	// answers with a MigrateAck and holds its inputs (queued, not sent)
	// until the next Migrate frame: every input sent before the ack is in
	// the instance's state when it moves.
	MigrateHold MigratePhase = 1
	// MigrateGo: the instance runs on another executor. The client
	// connects to URL (a play URL carrying a single-use hand-over ticket
	// for this player) and sends the held inputs there; the new welcome
	// has Resumed set.
	MigrateGo MigratePhase = 2
	// MigrateStay: the move failed and the instance goes on here; the
	// client sends the held inputs on this connection.
	MigrateStay MigratePhase = 3
)

// MaxURLBytes is the longest URL of a Migrate frame (a u16 length).
const MaxURLBytes = 4096

// Migrate tells the client that its instance is moving.
type Migrate struct {
	Phase MigratePhase
	// URL is the new play URL, with its ticket, for MigrateGo; empty
	// otherwise.
	URL string
}

// MigrateAck acknowledges a Migrate frame of phase MigrateHold.
type MigrateAck struct{}

// Type implements Frame.
func (*Migrate) Type() Type { return TypeMigrate }

// Type implements Frame.
func (*MigrateAck) Type() Type { return TypeMigrateAck }

// AppendFrame implements Frame.
func (f *Migrate) AppendFrame(dst []byte) ([]byte, error) {
	if f.Phase < MigrateHold || f.Phase > MigrateStay {
		return dst, fmt.Errorf("encode migrate: unknown phase %d", f.Phase)
	}
	if (f.Phase == MigrateGo) != (f.URL != "") {
		return dst, fmt.Errorf("encode migrate: phase %d with URL %q: only the go phase has a URL", f.Phase, f.URL)
	}
	if len(f.URL) > MaxURLBytes {
		return dst, fmt.Errorf("encode migrate: %w: URL of %d bytes, limit %d", ErrTooLarge, len(f.URL), MaxURLBytes)
	}
	dst = append(dst, byte(TypeMigrate), byte(f.Phase))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(f.URL)))
	return append(dst, f.URL...), nil
}

// AppendFrame implements Frame.
func (*MigrateAck) AppendFrame(dst []byte) ([]byte, error) {
	return append(dst, byte(TypeMigrateAck)), nil
}

// decodeMigration decodes the migration frames; ok is false for other
// types.
func decodeMigration(b []byte) (f Frame, ok bool, err error) {
	switch Type(b[0]) {
	case TypeMigrateAck:
		if len(b) != 1 {
			return nil, true, fmt.Errorf("%w: migrate_ack with %d payload bytes", ErrMalformed, len(b)-1)
		}
		return &MigrateAck{}, true, nil
	case TypeMigrate:
		if len(b) < 4 {
			return nil, true, fmt.Errorf("%w: migrate of %d bytes, shorter than 4", ErrMalformed, len(b))
		}
		m := &Migrate{Phase: MigratePhase(b[1])}
		n := int(binary.LittleEndian.Uint16(b[2:4]))
		switch {
		case m.Phase < MigrateHold || m.Phase > MigrateStay:
			return nil, true, fmt.Errorf("%w: migrate phase %d", ErrMalformed, m.Phase)
		case n != len(b)-4:
			return nil, true, fmt.Errorf("%w: migrate URL of %d bytes in %d", ErrMalformed, n, len(b)-4)
		case n > MaxURLBytes:
			return nil, true, fmt.Errorf("%w: migrate URL of %d bytes, limit %d", ErrTooLarge, n, MaxURLBytes)
		case !utf8.Valid(b[4:]):
			return nil, true, fmt.Errorf("%w: migrate URL is not UTF-8", ErrMalformed)
		case (m.Phase == MigrateGo) != (n > 0):
			return nil, true, fmt.Errorf("%w: migrate phase %d with a URL of %d bytes", ErrMalformed, m.Phase, n)
		}
		m.URL = string(b[4:])
		return m, true, nil
	}
	return nil, false, nil
}
