package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Version is the protocol version a server announces in its Welcome.
const Version = 1

// Type is the first byte of every frame.
type Type byte

// Frame types. Input goes from the client to the server, every other type
// from the server to the client.
const (
	TypeInput        Type = 0x01
	TypeWelcome      Type = 0x10
	TypeState        Type = 0x11
	TypePlayerJoined Type = 0x12
	TypePlayerLeft   Type = 0x13
	TypeError        Type = 0x1F
)

// String returns the frame type's name.
func (t Type) String() string {
	switch t {
	case TypeInput:
		return "input"
	case TypeWelcome:
		return "welcome"
	case TypeState:
		return "state"
	case TypeDelta:
		return "delta"
	case TypePlayerJoined:
		return "player_joined"
	case TypePlayerLeft:
		return "player_left"
	case TypeError:
		return "error"
	case TypeMigrate:
		return "migrate"
	case TypeMigrateAck:
		return "migrate_ack"
	case TypeVersionChanged:
		return "version_changed"
	}
	return fmt.Sprintf("type(0x%02x)", byte(t))
}

// Limits of the protocol. A server may lower the input limits for an
// instance and announces the values it applies in its Welcome.
const (
	// MaxInputBytes is the largest input payload a client may send; the
	// whole frame is one byte more. A larger frame closes the connection
	// with CloseFrameTooLarge.
	MaxInputBytes = 1024
	// MaxStringBytes is the longest string field (ids, names): strings
	// carry a one-byte length.
	MaxStringBytes = 255
	// MaxStateBytes is the largest state payload a server sends, the
	// sandbox's cap on a game's state bytes (1 MiB).
	MaxStateBytes = 1 << 20
	// DefaultInputRate and DefaultInputBurst are the default token bucket
	// of a player's inputs: DefaultInputRate per second, up to
	// DefaultInputBurst at once.
	DefaultInputRate  = 120
	DefaultInputBurst = 60
	// MaxCloseReasonBytes is the longest reason text a close frame carries
	// (RFC 6455 leaves 123 bytes after the code).
	MaxCloseReasonBytes = 123
)

// Errors Decode returns, wrapped.
var (
	// ErrMalformed means the bytes are not a valid frame.
	ErrMalformed = errors.New("malformed frame")
	// ErrTooLarge means a frame's payload is over its limit.
	ErrTooLarge = errors.New("frame too large")
)

// Frame is one decoded frame: *Input, *Welcome, *State, *Delta,
// *PlayerJoined, *PlayerLeft, *Error, *Migrate, *MigrateAck or
// *VersionChanged.
type Frame interface {
	// Type is the frame's type byte.
	Type() Type
	// AppendFrame appends the frame's encoding, type byte first, to dst.
	AppendFrame(dst []byte) ([]byte, error)
}

// Input is a player's input, delivered unchanged to the game's on_input.
type Input struct {
	// Data is the payload, at most MaxInputBytes.
	Data []byte
}

// Welcome is the server's first frame on an accepted connection.
type Welcome struct {
	// Version is the protocol version, 1.
	Version uint8
	// Resumed is true when the player was already in the instance (a
	// reconnection or a replaced connection): the game kept its avatar.
	Resumed bool
	// Delta is true when the server sends this client Delta frames
	// instead of State frames (the client asked with DeltaQuery).
	Delta bool
	// TickHz is the instance's tick rate.
	TickHz uint16
	// MaxPlayers is the instance's player limit, 0 for none.
	MaxPlayers uint16
	// Frame is the number of the last frame the instance ran.
	Frame uint64
	// MaxInputBytes, InputRate and InputBurst are the input limits the
	// server applies to this connection.
	MaxInputBytes uint16
	InputRate     uint16
	InputBurst    uint16
	// InstanceID, PlayerID, Game and GameVersion identify the session.
	InstanceID  string
	PlayerID    string
	Game        string
	GameVersion string
	// SnapshotHz is how many states a second the server sends, at most
	// TickHz; 0 when the welcome does not say (a server sends it only to
	// clients that asked for deltas, whose decoders know the field).
	SnapshotHz uint16
}

// Welcome flag bits.
const (
	welcomeResumed    = 1
	welcomeDelta      = 2
	welcomeSnapshotHz = 4
)

// State is the state frame: the game's state bytes after one tick, the
// same bytes for every player of the instance.
type State struct {
	// Frame is the frame number, 1 for the first tick.
	Frame uint64
	// Data is the state bytes the game's serialize_state returned.
	Data []byte
}

// PlayerJoined tells that a player entered the game.
type PlayerJoined struct{ Player string }

// PlayerLeft tells that a player left the game.
type PlayerLeft struct{ Player string }

// Error is the server's last frame before it closes a connection, with the
// same code and text as the close frame that follows, for clients whose
// WebSocket library hides close frames.
type Error struct {
	Code    CloseCode
	Message string
}

// Type implements Frame.
func (*Input) Type() Type { return TypeInput }

// Type implements Frame.
func (*Welcome) Type() Type { return TypeWelcome }

// Type implements Frame.
func (*State) Type() Type { return TypeState }

// Type implements Frame.
func (*PlayerJoined) Type() Type { return TypePlayerJoined }

// Type implements Frame.
func (*PlayerLeft) Type() Type { return TypePlayerLeft }

// Type implements Frame.
func (*Error) Type() Type { return TypeError }

// Sizes of the fixed parts of frames, type byte included.
const (
	welcomeFixed = 1 + 1 + 1 + 2 + 2 + 8 + 2 + 2 + 2 // 21 bytes
	// StateHeaderBytes is the size of a State frame before its data: the
	// type byte and the frame number.
	StateHeaderBytes = 1 + 8
	errorFixed       = 1 + 2
)

// AppendFrame implements Frame.
func (f *Input) AppendFrame(dst []byte) ([]byte, error) {
	if len(f.Data) > MaxInputBytes {
		return dst, fmt.Errorf("encode input: %w: %d bytes, limit %d", ErrTooLarge, len(f.Data), MaxInputBytes)
	}
	return append(append(dst, byte(TypeInput)), f.Data...), nil
}

// AppendFrame implements Frame.
func (f *Welcome) AppendFrame(dst []byte) ([]byte, error) {
	for _, s := range []string{f.InstanceID, f.PlayerID, f.Game, f.GameVersion} {
		if len(s) > MaxStringBytes {
			return dst, fmt.Errorf("encode welcome: %w: string of %d bytes, limit %d", ErrTooLarge, len(s), MaxStringBytes)
		}
	}
	var flags byte
	if f.Resumed {
		flags |= welcomeResumed
	}
	if f.Delta {
		flags |= welcomeDelta
	}
	if f.SnapshotHz != 0 {
		flags |= welcomeSnapshotHz
	}
	dst = append(dst, byte(TypeWelcome), f.Version, flags)
	dst = binary.LittleEndian.AppendUint16(dst, f.TickHz)
	dst = binary.LittleEndian.AppendUint16(dst, f.MaxPlayers)
	dst = binary.LittleEndian.AppendUint64(dst, f.Frame)
	dst = binary.LittleEndian.AppendUint16(dst, f.MaxInputBytes)
	dst = binary.LittleEndian.AppendUint16(dst, f.InputRate)
	dst = binary.LittleEndian.AppendUint16(dst, f.InputBurst)
	for _, s := range []string{f.InstanceID, f.PlayerID, f.Game, f.GameVersion} {
		dst = appendString(dst, s)
	}
	if f.SnapshotHz != 0 {
		dst = binary.LittleEndian.AppendUint16(dst, f.SnapshotHz)
	}
	return dst, nil
}

// AppendFrame implements Frame.
func (f *State) AppendFrame(dst []byte) ([]byte, error) {
	if len(f.Data) > MaxStateBytes {
		return dst, fmt.Errorf("encode state: %w: %d bytes, limit %d", ErrTooLarge, len(f.Data), MaxStateBytes)
	}
	return append(AppendStateHeader(dst, f.Frame), f.Data...), nil
}

// AppendStateHeader appends the first StateHeaderBytes of a State frame;
// the state bytes follow it. Servers use it to build a frame in one
// buffer without copying the state bytes twice.
func AppendStateHeader(dst []byte, frame uint64) []byte {
	return binary.LittleEndian.AppendUint64(append(dst, byte(TypeState)), frame)
}

// AppendFrame implements Frame.
func (f *PlayerJoined) AppendFrame(dst []byte) ([]byte, error) {
	return appendPlayer(dst, TypePlayerJoined, f.Player)
}

// AppendFrame implements Frame.
func (f *PlayerLeft) AppendFrame(dst []byte) ([]byte, error) {
	return appendPlayer(dst, TypePlayerLeft, f.Player)
}

func appendPlayer(dst []byte, t Type, player string) ([]byte, error) {
	if len(player) > MaxStringBytes {
		return dst, fmt.Errorf("encode %v: %w: player id of %d bytes, limit %d", t, ErrTooLarge, len(player), MaxStringBytes)
	}
	return appendString(append(dst, byte(t)), player), nil
}

// AppendFrame implements Frame. A message longer than
// MaxCloseReasonBytes is cut at a UTF-8 boundary.
func (f *Error) AppendFrame(dst []byte) ([]byte, error) {
	dst = binary.LittleEndian.AppendUint16(append(dst, byte(TypeError)), uint16(f.Code))
	return append(dst, TruncateReason(f.Message)...), nil
}

func appendString(dst []byte, s string) []byte {
	return append(append(dst, byte(len(s))), s...)
}

// Append appends f's encoding to dst.
func Append(dst []byte, f Frame) ([]byte, error) { return f.AppendFrame(dst) }

// Encode returns f's encoding.
func Encode(f Frame) ([]byte, error) { return f.AppendFrame(nil) }

// Decode decodes one frame. Byte slices in the result (Input.Data,
// State.Data) alias b. Errors wrap ErrMalformed or ErrTooLarge.
func Decode(b []byte) (Frame, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	t, p := Type(b[0]), b[1:]
	switch t {
	case TypeInput:
		if len(p) > MaxInputBytes {
			return nil, fmt.Errorf("%w: input of %d bytes, limit %d", ErrTooLarge, len(p), MaxInputBytes)
		}
		return &Input{Data: p}, nil
	case TypeWelcome:
		return decodeWelcome(b)
	case TypeState:
		if len(b) < StateHeaderBytes {
			return nil, fmt.Errorf("%w: state of %d bytes, shorter than its %d-byte header", ErrMalformed, len(b), StateHeaderBytes)
		}
		if len(b)-StateHeaderBytes > MaxStateBytes {
			return nil, fmt.Errorf("%w: state of %d bytes, limit %d", ErrTooLarge, len(b)-StateHeaderBytes, MaxStateBytes)
		}
		return &State{Frame: binary.LittleEndian.Uint64(b[1:9]), Data: b[StateHeaderBytes:]}, nil
	case TypeDelta:
		return decodeDelta(b)
	case TypePlayerJoined, TypePlayerLeft:
		r := reader{b: p}
		player := r.string()
		if err := r.end(t); err != nil {
			return nil, err
		}
		if t == TypePlayerJoined {
			return &PlayerJoined{Player: player}, nil
		}
		return &PlayerLeft{Player: player}, nil
	case TypeError:
		if len(b) < errorFixed {
			return nil, fmt.Errorf("%w: error frame of %d bytes, shorter than %d", ErrMalformed, len(b), errorFixed)
		}
		msg := b[errorFixed:]
		if len(msg) > MaxCloseReasonBytes {
			return nil, fmt.Errorf("%w: error message of %d bytes, limit %d", ErrTooLarge, len(msg), MaxCloseReasonBytes)
		}
		if !utf8.Valid(msg) {
			return nil, fmt.Errorf("%w: error message is not UTF-8", ErrMalformed)
		}
		return &Error{Code: CloseCode(binary.LittleEndian.Uint16(b[1:3])), Message: string(msg)}, nil
	}
	if f, ok, err := decodeMigration(b); ok {
		return f, err
	}
	if f, ok, err := decodeVersionChanged(b); ok {
		return f, err
	}
	return nil, fmt.Errorf("%w: unknown type 0x%02x", ErrMalformed, byte(t))
}

func decodeWelcome(b []byte) (*Welcome, error) {
	if len(b) < welcomeFixed {
		return nil, fmt.Errorf("%w: welcome of %d bytes, shorter than %d", ErrMalformed, len(b), welcomeFixed)
	}
	le := binary.LittleEndian
	flags := b[2]
	if flags&^(welcomeResumed|welcomeDelta|welcomeSnapshotHz) != 0 {
		return nil, fmt.Errorf("%w: welcome flags 0x%02x", ErrMalformed, flags)
	}
	w := &Welcome{
		Version:       b[1],
		Resumed:       flags&welcomeResumed != 0,
		Delta:         flags&welcomeDelta != 0,
		TickHz:        le.Uint16(b[3:5]),
		MaxPlayers:    le.Uint16(b[5:7]),
		Frame:         le.Uint64(b[7:15]),
		MaxInputBytes: le.Uint16(b[15:17]),
		InputRate:     le.Uint16(b[17:19]),
		InputBurst:    le.Uint16(b[19:21]),
	}
	r := reader{b: b[welcomeFixed:]}
	w.InstanceID = r.string()
	w.PlayerID = r.string()
	w.Game = r.string()
	w.GameVersion = r.string()
	if flags&welcomeSnapshotHz != 0 {
		w.SnapshotHz = r.uint16()
	}
	if err := r.end(TypeWelcome); err != nil {
		return nil, err
	}
	return w, nil
}

// reader reads length-prefixed strings and remembers the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) string() string {
	if r.err != nil {
		return ""
	}
	if len(r.b) == 0 || int(r.b[0]) > len(r.b)-1 {
		r.err = fmt.Errorf("%w: truncated string", ErrMalformed)
		return ""
	}
	n := int(r.b[0])
	s := r.b[1 : 1+n]
	r.b = r.b[1+n:]
	if !utf8.Valid(s) {
		r.err = fmt.Errorf("%w: string is not UTF-8", ErrMalformed)
		return ""
	}
	return string(s)
}

func (r *reader) uint16() uint16 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 2 {
		r.err = fmt.Errorf("%w: truncated u16", ErrMalformed)
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) end(t Type) error {
	if r.err != nil {
		return fmt.Errorf("decode %v: %w", t, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("decode %v: %w: %d trailing bytes", t, ErrMalformed, len(r.b))
	}
	return nil
}

// TruncateReason cuts s to at most MaxCloseReasonBytes at a UTF-8
// boundary, as close frames and Error frames require.
func TruncateReason(s string) string {
	if len(s) <= MaxCloseReasonBytes {
		return s
	}
	s = s[:MaxCloseReasonBytes]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// PlayURL returns the WebSocket URL of an instance's play endpoint on an
// executor whose base URL is base (ws://host:port or wss://host:port, with
// or without a path prefix), carrying ticket.
func PlayURL(base, instanceID, ticket string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse executor url: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("executor url %q: scheme must be ws or wss", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/play/" + url.PathEscape(instanceID)
	u.RawPath = ""
	u.RawQuery = url.Values{"ticket": {ticket}}.Encode()
	return u.String(), nil
}
