package world

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenSnapshot is the snapshot encoded in testdata/TestGolden.golden.
func goldenSnapshot() *Snapshot {
	return &Snapshot{
		Frame: 0x0102030405060708,
		Entities: []Entity{
			{ID: 1, Shape: ShapePlane, Rotation: Identity, Scale: Vec3{40, 1, 40}, Color: Color{90, 90, 100, 255}},
			{ID: 2, Shape: ShapeBox, Position: Vec3{-20.5, 1, 0}, Rotation: Identity, Scale: Vec3{1, 2, 42}, Color: Color{60, 60, 70, 255}},
			{ID: 16, Shape: ShapeSphere, Position: Vec3{3.25, 1.5, -7}, Rotation: Identity, Scale: Vec3{0.6, 0.6, 0.6}, Color: Color{255, 200, 0, 255}},
			{ID: 1000, Shape: ShapeCapsule, Position: Vec3{1, 0.9, 2}, Rotation: Quat{0, 0.70710677, 0, 0.70710677}, Scale: Vec3{1, 1.8, 1}, Color: Color{230, 60, 60, 255}, Label: "alice"},
			{ID: 1001, Shape: ShapeCylinder, Position: Vec3{-1, 0.5, -2}, Rotation: Identity, Scale: Vec3{1, 1, 1}, Color: Color{60, 200, 60, 128}, Label: "bö"},
			{ID: 1002, Shape: ShapeCone, Position: Vec3{0, 0.5, 0}, Rotation: Identity, Scale: Vec3{1, 1, 1}, Color: Color{1, 2, 3, 4}},
		},
		Players: []Player{
			{ID: "alice", Entity: 1000, Score: 3},
			{ID: "bö", Entity: 1001, Score: -1},
			{ID: "watcher", Entity: 0, Score: 0},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("x", MaxLabelLen)
	many := make([]Entity, MaxEntities)
	for i := range many {
		many[i] = Entity{ID: uint32(i + 1), Shape: Shape(i%int(maxShape) + 1), Position: Vec3{float32(i), -1, 0.5}, Rotation: Identity}
	}
	tests := []struct {
		name string
		snap Snapshot
	}{
		{"empty", Snapshot{}},
		{"frame only", Snapshot{Frame: math.MaxUint64}},
		{"golden", *goldenSnapshot()},
		{"longest label and id", Snapshot{
			Entities: []Entity{{ID: math.MaxUint32, Shape: ShapeBox, Label: long}},
			Players:  []Player{{ID: strings.Repeat("p", MaxPlayerIDLen), Entity: math.MaxUint32, Score: math.MinInt32}},
		}},
		{"special floats", Snapshot{Entities: []Entity{{
			ID: 7, Shape: ShapeSphere,
			Position: Vec3{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1))},
			Scale:    Vec3{math.SmallestNonzeroFloat32, math.MaxFloat32, -1},
		}}}},
		{"max entities", Snapshot{Frame: 9, Entities: many}},
		{"players only", Snapshot{Players: []Player{{ID: "a", Score: math.MaxInt32}, {ID: "日本"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.snap.AppendBinary([]byte("prefix"))
			if err != nil {
				t.Fatalf("AppendBinary: %v", err)
			}
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("AppendBinary lost the prefix")
			}
			b = b[len("prefix"):]
			if got, want := len(b), tt.snap.EncodedLen(); got != want {
				t.Fatalf("encoded %d bytes, EncodedLen says %d", got, want)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !snapshotsEqual(got, &tt.snap) {
				t.Fatalf("round trip changed the snapshot:\n got %+v\nwant %+v", got, tt.snap)
			}
			b2, err := got.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs")
			}
		})
	}
}

// snapshotsEqual compares field by field, floats by bit pattern, and treats
// nil and empty slices alike.
func snapshotsEqual(a, b *Snapshot) bool {
	if a.Frame != b.Frame || len(a.Entities) != len(b.Entities) || len(a.Players) != len(b.Players) {
		return false
	}
	bits := func(fs ...float32) []uint32 {
		out := make([]uint32, len(fs))
		for i, f := range fs {
			out[i] = math.Float32bits(f)
		}
		return out
	}
	for i := range a.Entities {
		x, y := a.Entities[i], b.Entities[i]
		fx := bits(x.Position.X, x.Position.Y, x.Position.Z, x.Rotation.X, x.Rotation.Y, x.Rotation.Z, x.Rotation.W, x.Scale.X, x.Scale.Y, x.Scale.Z)
		fy := bits(y.Position.X, y.Position.Y, y.Position.Z, y.Rotation.X, y.Rotation.Y, y.Rotation.Z, y.Rotation.W, y.Scale.X, y.Scale.Y, y.Scale.Z)
		for j := range fx {
			if fx[j] != fy[j] {
				return false
			}
		}
		if x.ID != y.ID || x.Shape != y.Shape || x.Color != y.Color || x.Label != y.Label {
			return false
		}
	}
	for i := range a.Players {
		if a.Players[i] != b.Players[i] {
			return false
		}
	}
	return true
}

// TestEncodeBytes checks the layout against bytes written out by hand from
// the format description in doc.go, independently of the encoder.
func TestEncodeBytes(t *testing.T) {
	s := Snapshot{
		Frame: 258,
		Entities: []Entity{{
			ID: 0x01020304, Shape: ShapeSphere,
			Position: Vec3{1, 2, -2}, Rotation: Identity, Scale: Vec3{0.5, 0.5, 0.5},
			Color: Color{0xAA, 0xBB, 0xCC, 0xDD}, Label: "hi",
		}},
		Players: []Player{{ID: "p1", Entity: 0x01020304, Score: -2}},
	}
	want := []byte{
		'R', 'C', 'C', 'W', // magic
		1, 0, // version
		0, 0, // flags
		2, 1, 0, 0, 0, 0, 0, 0, // frame 258
		1, 0, // 1 entity
		1, 0, // 1 player
		4, 3, 2, 1, // id
		2,                      // sphere
		2,                      // label length
		0x00, 0x00, 0x80, 0x3f, // 1.0
		0x00, 0x00, 0x00, 0x40, // 2.0
		0x00, 0x00, 0x00, 0xc0, // -2.0
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // rotation x, y, z = 0
		0x00, 0x00, 0x80, 0x3f, // rotation w = 1
		0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x3f, // scale 0.5
		0xAA, 0xBB, 0xCC, 0xDD, // colour
		'h', 'i', // label
		4, 3, 2, 1, // entity followed
		0xfe, 0xff, 0xff, 0xff, // score -2
		2, 'p', '1', // id
	}
	got, err := s.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding:\n got % x\nwant % x", got, want)
	}
}

// TestGolden pins the exact encoding of goldenSnapshot. Regenerate the file
// with `go test ./pkg/world -run TestGolden -update` only when the format
// version changes on purpose.
func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", t.Name()+".golden")
	got, err := goldenSnapshot().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs from %s:\n got % x\nwant % x", path, got, want)
	}
	s, err := Decode(want)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if !snapshotsEqual(s, goldenSnapshot()) {
		t.Fatalf("decoding %s: got %+v", path, s)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := goldenSnapshot().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Offsets into good: the first entity record starts at HeaderSize.
	with := func(off int, b ...byte) []byte {
		out := bytes.Clone(good)
		copy(out[off:], b)
		return out
	}
	// Two entities, the first with an 8-byte label: cutting inside it or
	// inside the second record passes the early count check.
	labelled, err := (&Snapshot{Entities: []Entity{
		{ID: 1, Shape: ShapeBox, Label: "abcdefgh"},
		{ID: 2, Shape: ShapeBox},
	}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// A 20-byte label then a player: cutting inside the label passes too.
	labelPlayer, err := (&Snapshot{
		Entities: []Entity{{ID: 1, Shape: ShapeBox, Label: strings.Repeat("l", 20)}},
		Players:  []Player{{ID: "p"}},
	}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	firstPlayer := len(good) - (PlayerSize + len("alice")) - (PlayerSize + len("bö")) - (PlayerSize + len("watcher"))
	tests := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"nil", nil, ErrTruncated, "header"},
		{"short header", good[:HeaderSize-1], ErrTruncated, "header"},
		{"short garbage", []byte("GIF89a"), ErrMagic, "magic"},
		{"bad magic", with(0, 'R', 'C', 'C', 'X'), ErrMagic, "magic"},
		{"version 0", with(4, 0, 0), ErrVersion, "version 0"},
		{"version 2", with(4, 2, 0), ErrVersion, "version 2"},
		{"flags", with(6, 1, 0), ErrInvalid, "flags"},
		{"too many entities", with(16, 0x01, 0x40), ErrLimit, "16385 entities"},
		{"too many players", with(18, 0x01, 0x04), ErrLimit, "1025 players"},
		{"counts beyond input", with(16, 0xff, 0x3f), ErrTruncated, "need at least"},
		{"truncated in entity", labelled[:HeaderSize+2*EntitySize], ErrTruncated, "entity 1 at offset 78"},
		{"truncated in label", labelPlayer[:HeaderSize+EntitySize+15], ErrTruncated, "entity 0 (id 1) label"},
		{"truncated in player id", good[:len(good)-1], ErrTruncated, "player 2 id"},
		{"entity id 0", with(HeaderSize, 0, 0, 0, 0), ErrInvalid, "id 0"},
		{"shape 0", with(HeaderSize+4, 0), ErrInvalid, "shape(0)"},
		{"shape 7", with(HeaderSize+4, 7), ErrInvalid, "shape(7)"},
		{"label too long", with(HeaderSize+5, MaxLabelLen+1), ErrLimit, "label of 129 bytes"},
		{"empty player id", with(firstPlayer+8, 0), ErrInvalid, "empty id"},
		{"player id too long", with(firstPlayer+8, MaxPlayerIDLen+1), ErrLimit, "id of 129 bytes"},
		{"player id not utf-8", with(firstPlayer+9, 0xff), ErrInvalid, "not UTF-8"},
		{"trailing byte", append(bytes.Clone(good), 0), ErrInvalid, "1 trailing bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode(tt.in)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", s)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %q does not wrap %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not mention %q", err, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "world: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestLabelNotUTF8(t *testing.T) {
	s := Snapshot{Entities: []Entity{{ID: 1, Shape: ShapeBox, Label: "ab"}}}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b[HeaderSize+EntitySize] = 0xc3 // a lone lead byte
	if _, err := Decode(b); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "label") {
		t.Fatalf("Decode: %v, want an invalid label error", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		snap Snapshot
		want error
	}{
		{"entity id 0", Snapshot{Entities: []Entity{{Shape: ShapeBox}}}, ErrInvalid},
		{"shape 0", Snapshot{Entities: []Entity{{ID: 1}}}, ErrInvalid},
		{"unknown shape", Snapshot{Entities: []Entity{{ID: 1, Shape: 200}}}, ErrInvalid},
		{"label too long", Snapshot{Entities: []Entity{{ID: 1, Shape: ShapeBox, Label: strings.Repeat("x", MaxLabelLen+1)}}}, ErrLimit},
		{"label not utf-8", Snapshot{Entities: []Entity{{ID: 1, Shape: ShapeBox, Label: "\xff"}}}, ErrInvalid},
		{"empty player id", Snapshot{Players: []Player{{}}}, ErrInvalid},
		{"player id too long", Snapshot{Players: []Player{{ID: strings.Repeat("p", MaxPlayerIDLen+1)}}}, ErrLimit},
		{"player id not utf-8", Snapshot{Players: []Player{{ID: "a\xc3"}}}, ErrInvalid},
		{"too many entities", Snapshot{Entities: make([]Entity, MaxEntities+1)}, ErrLimit},
		{"too many players", Snapshot{Players: make([]Player, MaxPlayers+1)}, ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := tt.snap.AppendBinary(dst)
			if !errors.Is(err, tt.want) {
				t.Fatalf("AppendBinary error %v, want %v", err, tt.want)
			}
			if string(got) != "keep" {
				t.Fatalf("AppendBinary changed dst on error: %q", got)
			}
		})
	}
}

func TestSteadyStateAllocs(t *testing.T) {
	src := goldenSnapshot()
	buf, err := src.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	var dec Snapshot
	if err := dec.UnmarshalBinary(buf); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		src.Frame++
		buf, err = src.AppendBinary(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		if err := dec.UnmarshalBinary(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("encode+decode of an unchanged world allocates %v times per frame, want 0", allocs)
	}
	if dec.Frame != src.Frame {
		t.Fatalf("decoded frame %d, want %d", dec.Frame, src.Frame)
	}
}

func TestUnmarshalReuse(t *testing.T) {
	big := goldenSnapshot()
	small := &Snapshot{Frame: 1, Entities: []Entity{{ID: 5, Shape: ShapeBox, Label: "x"}}}
	var s Snapshot
	for _, src := range []*Snapshot{big, small, big} {
		b, err := src.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !snapshotsEqual(&s, src) {
			t.Fatalf("reused decode: got %+v, want %+v", s, *src)
		}
	}
}

func TestLookups(t *testing.T) {
	s := goldenSnapshot()
	if e := s.Entity(1000); e == nil || e.Label != "alice" {
		t.Fatalf("Entity(1000) = %+v", e)
	}
	if e := s.Entity(99); e != nil {
		t.Fatalf("Entity(99) = %+v, want nil", e)
	}
	if p := s.Player("bö"); p == nil || p.Score != -1 {
		t.Fatalf("Player(bö) = %+v", p)
	}
	if p := s.Player("nobody"); p != nil {
		t.Fatalf("Player(nobody) = %+v, want nil", p)
	}
	s.Reset()
	if s.Frame != 0 || len(s.Entities) != 0 || len(s.Players) != 0 || cap(s.Entities) == 0 {
		t.Fatalf("Reset: %+v (cap %d)", s, cap(s.Entities))
	}
}

func TestShapeString(t *testing.T) {
	tests := []struct {
		s    Shape
		want string
	}{
		{ShapeBox, "box"}, {ShapeSphere, "sphere"}, {ShapeCylinder, "cylinder"},
		{ShapeCapsule, "capsule"}, {ShapePlane, "plane"}, {ShapeCone, "cone"},
		{0, "shape(0)"}, {42, "shape(42)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Shape(%d).String() = %q, want %q", uint8(tt.s), got, tt.want)
		}
	}
}
