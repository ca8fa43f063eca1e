package main

import (
	"testing"

	"github.com/rcc-games/rcc/pkg/world"
)

// FuzzInput feeds arbitrary input bytes, split into messages, to two
// players and checks that the game neither panics nor produces a state
// that does not decode.
func FuzzInput(f *testing.F) {
	f.Add([]byte{127, 0, 1, 0x80, 0x80, 0xff}, uint8(3))
	f.Add([]byte{1, 2}, uint8(1))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		g := newTestGame(t, 1, "")
		g.Join("a")
		g.Join("b")
		n := int(size%8) + 1
		for i := 0; i < len(data); i += n {
			id := "a"
			if i/n%2 == 1 {
				id = "b"
			}
			g.Input(id, data[i:min(i+n, len(data))])
			g.Tick(step)
		}
		b, err := g.State(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := world.Decode(b); err != nil {
			t.Fatal(err)
		}
	})
}
