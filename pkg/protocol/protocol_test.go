package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		frame Frame
		want  []byte // encoding, when checked byte by byte
	}{
		{"input", &Input{Data: []byte{100, 0x9c, 1}}, []byte{0x01, 100, 0x9c, 1}},
		{"empty input", &Input{Data: []byte{}}, []byte{0x01}},
		{"max input", &Input{Data: bytes.Repeat([]byte{7}, MaxInputBytes)}, nil},
		{"welcome", &Welcome{Version: 1, Resumed: true, TickHz: 60, MaxPlayers: 16, Frame: 0x0102,
			MaxInputBytes: 1024, InputRate: 120, InputBurst: 60,
			InstanceID: "i1", PlayerID: "bo", Game: "g", GameVersion: "3"},
			[]byte{0x10, 1, 1, 60, 0, 16, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 4, 120, 0, 60, 0,
				2, 'i', '1', 2, 'b', 'o', 1, 'g', 1, '3'}},
		{"state", &State{Frame: 7, Data: []byte("RCCW")},
			[]byte{0x11, 7, 0, 0, 0, 0, 0, 0, 0, 'R', 'C', 'C', 'W'}},
		{"empty state", &State{Frame: 1, Data: []byte{}}, nil},
		{"welcome with deltas", &Welcome{Version: 1, Delta: true, TickHz: 60, SnapshotHz: 20,
			InstanceID: "i1", PlayerID: "bo", Game: "g", GameVersion: "3"},
			[]byte{0x10, 1, 6, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				2, 'i', '1', 2, 'b', 'o', 1, 'g', 1, '3', 20, 0}},
		{"delta", &Delta{Frame: 9, Base: 8, Length: 3, Payload: []byte{0x28, 0xb5}},
			[]byte{0x14, 9, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0x28, 0xb5}},
		{"joined", &PlayerJoined{Player: "alice"}, []byte{0x12, 5, 'a', 'l', 'i', 'c', 'e'}},
		{"left", &PlayerLeft{Player: ""}, []byte{0x13, 0}},
		{"error", &Error{Code: CloseTicketExpired, Message: "ticket_expired"},
			append([]byte{0x1F, 0xA4, 0x0F}, "ticket_expired"...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !bytes.Equal(b, tt.want) {
				t.Fatalf("encoding\n got % x\nwant % x", b, tt.want)
			}
			if Type(b[0]) != tt.frame.Type() {
				t.Errorf("type byte 0x%02x, want %v", b[0], tt.frame.Type())
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.frame) {
				t.Errorf("decoded %#v, want %#v", got, tt.frame)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrMalformed, "empty"},
		{"unknown type", []byte{0x7f, 1}, ErrMalformed, "unknown type 0x7f"},
		{"input too large", append([]byte{0x01}, make([]byte, MaxInputBytes+1)...), ErrTooLarge, "limit 1024"},
		{"short state", []byte{0x11, 1, 2}, ErrMalformed, "header"},
		{"short welcome", []byte{0x10, 1}, ErrMalformed, "shorter"},
		{"welcome flags", append([]byte{0x10, 1, 8}, make([]byte, 22)...), ErrMalformed, "flags"},
		{"welcome snapshot rate truncated", append([]byte{0x10, 1, 4}, append(make([]byte, 22), 60)...), ErrMalformed, "truncated"},
		{"welcome truncated string", append([]byte{0x10, 1, 0}, append(make([]byte, 18), 9, 'x')...), ErrMalformed, "truncated"},
		{"joined trailing", []byte{0x12, 1, 'a', 'b'}, ErrMalformed, "trailing"},
		{"left not utf8", []byte{0x13, 1, 0xff}, ErrMalformed, "UTF-8"},
		{"short error", []byte{0x1F, 1}, ErrMalformed, "shorter"},
		{"error not utf8", []byte{0x1F, 1, 0x10, 0xff}, ErrMalformed, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, %v; want %v", f, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestEncodeLimits(t *testing.T) {
	long := strings.Repeat("x", MaxStringBytes+1)
	for name, f := range map[string]Frame{
		"input":   &Input{Data: make([]byte, MaxInputBytes+1)},
		"welcome": &Welcome{PlayerID: long},
		"joined":  &PlayerJoined{Player: long},
		"state":   &State{Data: make([]byte, MaxStateBytes+1)},
	} {
		if _, err := Encode(f); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: Encode err = %v, want ErrTooLarge", name, err)
		}
	}
	// Error messages are cut, not refused, so a close never fails.
	b, err := Encode(&Error{Code: CloseInternal, Message: strings.Repeat("é", 100)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m := f.(*Error).Message; len(m) > MaxCloseReasonBytes || len(m) < MaxCloseReasonBytes-1 {
		t.Errorf("message of %d bytes", len(m))
	}
}

func TestCloseCodes(t *testing.T) {
	seen := map[string]CloseCode{}
	for _, c := range CloseCodes() {
		if c < 4000 || c > 4999 {
			t.Errorf("%v: code %d outside 4000-4999", c, c)
		}
		name := c.String()
		if prev, ok := seen[name]; ok {
			t.Errorf("codes %d and %d share the name %q", prev, c, name)
		}
		seen[name] = c
	}
	if got := CloseInstanceFailed.Reason("fuel_exhausted in tick"); got != "instance_failed: fuel_exhausted in tick" {
		t.Errorf("Reason = %q", got)
	}
	name, detail := ParseReason(CloseInstanceFailed.Reason("trap in tick: unreachable"))
	if name != "instance_failed" || detail != "trap in tick: unreachable" {
		t.Errorf("ParseReason = %q, %q", name, detail)
	}
	if got := CloseTooSlow.Reason(strings.Repeat("a", 200)); len(got) != MaxCloseReasonBytes {
		t.Errorf("long reason of %d bytes", len(got))
	}
	if got := CloseCode(4999).String(); got != "close(4999)" {
		t.Errorf("unknown code String = %q", got)
	}
	// A code is an error, matched through wrapping; its text is its name.
	err := fmt.Errorf("connect: %w", CloseTicketExpired)
	if !errors.Is(err, CloseTicketExpired) || errors.Is(err, CloseTicketReused) || err.Error() != "connect: ticket_expired" {
		t.Errorf("wrapped close code: %v", err)
	}
	if got := fmt.Sprintf("%v %d", CloseIdle, CloseIdle); got != "idle 4025" {
		t.Errorf("formatted close code %q", got)
	}
}

func TestPlayURL(t *testing.T) {
	tests := []struct{ base, want string }{
		{"ws://127.0.0.1:8080", "ws://127.0.0.1:8080/play/inst-1?ticket=a.b.c"},
		{"http://host:1/prefix/", "ws://host:1/prefix/play/inst-1?ticket=a.b.c"},
		{"https://host", "wss://host/play/inst-1?ticket=a.b.c"},
	}
	for _, tt := range tests {
		got, err := PlayURL(tt.base, "inst-1", "a.b.c")
		if err != nil || got != tt.want {
			t.Errorf("PlayURL(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
	if _, err := PlayURL("ftp://x", "i", "t"); err == nil {
		t.Error("PlayURL accepted an ftp url")
	}
}

func FuzzDecode(f *testing.F) {
	for _, fr := range []Frame{
		&Input{Data: []byte{1, 2, 3}},
		&Welcome{Version: 1, TickHz: 60, InstanceID: "i", PlayerID: "p", Game: "arena", GameVersion: "1"},
		&State{Frame: 9, Data: []byte("RCCW\x01\x00")},
		&PlayerJoined{Player: "a"},
		&PlayerLeft{Player: "b"},
		&Error{Code: CloseInputRate, Message: "input_rate"},
	} {
		b, _ := Encode(fr)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x10, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		// Every accepted frame encodes back to the same bytes.
		out, err := Encode(fr)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", fr, err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip\n got % x\nwant % x", out, b)
		}
	})
}

func BenchmarkEncodeState(b *testing.B) {
	data := make([]byte, 1500)
	buf := make([]byte, 0, StateHeaderBytes+len(data))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for n := range b.N {
		buf = append(AppendStateHeader(buf[:0], uint64(n)), data...)
	}
}

func BenchmarkDecodeState(b *testing.B) {
	frame, _ := Encode(&State{Frame: 1, Data: make([]byte, 1500)})
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for range b.N {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeInput(b *testing.B) {
	frame, _ := Encode(&Input{Data: []byte{100, 0x9c, 1}})
	b.ReportAllocs()
	for range b.N {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeWelcome(b *testing.B) {
	w := &Welcome{Version: 1, TickHz: 60, InstanceID: "0198f0c2-7f6e-7cc3", PlayerID: "alice", Game: "arena", GameVersion: "3"}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for range b.N {
		buf, _ = w.AppendFrame(buf[:0])
	}
}
