package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestVersionChangedRoundTrip(t *testing.T) {
	for _, f := range []*VersionChanged{
		{Cause: VersionUpgraded, TickHz: 60, SnapshotHz: 60, Frame: 1201, GameVersion: "2"},
		{Cause: VersionRolledBack, TickHz: 60, SnapshotHz: 20, Frame: 1 << 62, GameVersion: "1"},
		{Cause: VersionUpgraded, TickHz: 1000, SnapshotHz: 1, Frame: 0, GameVersion: ""},
		{Cause: VersionUpgraded, TickHz: 60, SnapshotHz: 60, Frame: 7, GameVersion: string(bytes.Repeat([]byte("v"), MaxStringBytes))},
	} {
		b, err := Encode(f)
		if err != nil {
			t.Fatalf("encode %#v: %v", f, err)
		}
		if len(b) != versionChangedFixed+1+len(f.GameVersion) || b[0] != 0x16 {
			t.Fatalf("encoding of %#v: % x", f, b)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode % x: %v", b, err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Errorf("round trip of %#v gave %#v", f, got)
		}
	}
	if TypeVersionChanged.String() != "version_changed" || VersionRolledBack.String() != "rolled_back" {
		t.Errorf("names: %v, %v", TypeVersionChanged, VersionRolledBack)
	}
	for name, f := range map[string]*VersionChanged{
		"cause 0":           {GameVersion: "2"},
		"unknown cause":     {Cause: 3, GameVersion: "2"},
		"version too large": {Cause: VersionUpgraded, GameVersion: string(make([]byte, MaxStringBytes+1))},
	} {
		if _, err := Encode(f); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	good, _ := Encode(&VersionChanged{Cause: VersionUpgraded, TickHz: 60, SnapshotHz: 60, Frame: 9, GameVersion: "2"})
	for name, b := range map[string][]byte{
		"type alone":        good[:1],
		"cut in the frame":  good[:10],
		"no string":         good[:versionChangedFixed],
		"string cut":        good[:len(good)-1],
		"trailing byte":     append(bytes.Clone(good), 0),
		"cause 0":           append([]byte{0x16, 0}, good[2:]...),
		"cause 9":           append([]byte{0x16, 9}, good[2:]...),
		"version not UTF-8": append(bytes.Clone(good[:versionChangedFixed]), 1, 0xff),
	} {
		if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// versionVector is one test vector of testdata/version-vectors.json: a
// version_changed frame in hex and its fields.
type versionVector struct {
	Name        string `json:"name"`
	Frame       string `json:"frame"`
	Cause       uint8  `json:"cause"`
	TickHz      uint16 `json:"tick_hz"`
	SnapshotHz  uint16 `json:"snapshot_hz"`
	FirstFrame  uint64 `json:"first_frame"`
	GameVersion string `json:"game_version"`
}

// TestVersionChangedVectors checks the vectors docs/protocol.md offers to
// other implementations both ways: each frame decodes to its fields, and
// the fields encode to the frame.
func TestVersionChangedVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "version-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []versionVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 {
		t.Fatalf("%d vectors", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			msg, err := hex.DecodeString(v.Frame)
			if err != nil {
				t.Fatal(err)
			}
			want := &VersionChanged{Cause: VersionCause(v.Cause), TickHz: v.TickHz, SnapshotHz: v.SnapshotHz, Frame: v.FirstFrame, GameVersion: v.GameVersion}
			f, err := Decode(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, want) {
				t.Errorf("decoded %#v, want %#v", f, want)
			}
			enc, err := Encode(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, msg) {
				t.Errorf("encoded % x, want % x", enc, msg)
			}
		})
	}
}
