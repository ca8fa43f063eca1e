package replay

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	h := Header{Game: "arena", ModuleSHA256: "ab", Seed: 1<<63 + 5, MaxPlayers: 8, TickHz: 60, FrameFuel: 123}
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	frames := []Frame{
		{Frame: 1, Events: []Event{{Kind: KindJoin, Player: "ann"}, {Kind: KindInput, Player: "ann", Data: []byte{0, 0xff, 7}}}, StateSHA256: "h1"},
		{Frame: 2, StateSHA256: "h2"},
		{Frame: 5, Events: []Event{{Kind: KindLeave, Player: "ann"}}, StateSHA256: "h5"},
	}
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Header()
	if got.Format != Format || got.Seed != h.Seed || got.FrameFuel != 123 || got.Game != "arena" {
		t.Errorf("header = %+v", got)
	}
	for i, want := range frames {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Frame != want.Frame || f.StateSHA256 != want.StateSHA256 || len(f.Events) != len(want.Events) {
			t.Fatalf("frame %d = %+v, want %+v", i, f, want)
		}
		for j := range f.Events {
			if f.Events[j].Kind != want.Events[j].Kind || !bytes.Equal(f.Events[j].Data, want.Events[j].Data) {
				t.Errorf("frame %d event %d = %+v, want %+v", i, j, f.Events[j], want.Events[j])
			}
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestMalformed(t *testing.T) {
	head := `{"format":"rcc-replay/1","game":"g"}` + "\n"
	tests := map[string]string{
		"empty":          "",
		"not JSON":       "nope\n",
		"other format":   `{"format":"rcc-replay/2"}` + "\n",
		"bad frame":      head + "{\n",
		"frame repeated": head + `{"f":1}` + "\n" + `{"f":1}` + "\n",
		"frame zero":     head + `{"f":0}` + "\n",
		"unknown kind":   head + `{"f":1,"e":[{"k":"teleport","p":"a"}]}` + "\n",
		"bad base64":     head + `{"f":1,"e":[{"k":"input","p":"a","d":"!!"}]}` + "\n",
	}
	for name, log := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(log))
			for err == nil {
				_, err = r.Next()
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v, want ErrFormat", err)
			}
		})
	}
}
