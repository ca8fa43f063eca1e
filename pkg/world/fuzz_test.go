package world

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// re-encodes to exactly the input bytes and decodes again to the same
// snapshot.
func FuzzDecode(f *testing.F) {
	seeds := []*Snapshot{
		{},
		goldenSnapshot(),
		{Frame: 1, Entities: []Entity{{ID: 1, Shape: ShapeBox, Label: "a"}}},
		{Players: []Player{{ID: "p", Entity: 3, Score: 7}}},
	}
	for _, s := range seeds {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte("RCCW"))
	f.Add([]byte("RCCW\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"))

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if s != nil {
				t.Fatalf("Decode returned a snapshot and an error")
			}
			return
		}
		enc, err := s.AppendBinary(nil)
		if err != nil {
			t.Fatalf("re-encoding a decoded snapshot: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("decode→encode changed the bytes:\n in % x\nout % x", data, enc)
		}
		s2, err := Decode(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoding: %v", err)
		}
		if !snapshotsEqual(s, s2) {
			t.Fatalf("decode→encode→decode changed the snapshot")
		}
		// Decoding into a reused snapshot must agree with a fresh one.
		var reused Snapshot = *goldenSnapshot()
		if err := reused.UnmarshalBinary(data); err != nil || !snapshotsEqual(&reused, s) {
			t.Fatalf("reused UnmarshalBinary disagrees with Decode: %v", err)
		}
	})
}
