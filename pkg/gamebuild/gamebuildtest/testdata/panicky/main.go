// Command panicky is a test game whose guest panics: at the frame given by
// the spawn's param panic_at (default 30), or on an input "panic". It
// writes to stdout at init and every 10 frames, and to stderr before it
// panics, so that tests see the guest's lines, its panic text and the
// failure's reason. gamebuildtest.Panicky builds it.
package main

import (
	"fmt"
	"os"

	"github.com/rcc-games/rcc/pkg/sdk"
)

// main is required by the build but never runs.
func main() {}

type game struct {
	frame   uint64
	panicAt uint64
}

func (g *game) Init(cfg sdk.Config) error {
	var p struct {
		PanicAt uint64 `json:"panic_at"`
	}
	g.panicAt = 30
	if err := cfg.DecodeParams(&p); err != nil {
		return err
	}
	if p.PanicAt > 0 {
		g.panicAt = p.PanicAt
	}
	fmt.Printf("panicky ready, panicking at frame %d\n", g.panicAt)
	return nil
}

func (g *game) Join(player string)  { fmt.Printf("hello %s\n", player) }
func (g *game) Leave(player string) { fmt.Printf("bye %s\n", player) }

func (g *game) Input(player string, data []byte) {
	if string(data) == "panic" {
		fmt.Fprintf(os.Stderr, "%s asked for it\n", player)
		panic("boom on input from " + player)
	}
}

func (g *game) Tick(float32) {
	g.frame++
	if g.frame%10 == 0 {
		fmt.Printf("frame %d\n", g.frame)
	}
	if g.frame == g.panicAt {
		fmt.Fprintln(os.Stderr, "about to fail")
		panic(fmt.Sprintf("boom at frame %d", g.frame))
	}
}

func (g *game) State(dst []byte) ([]byte, error) {
	return fmt.Appendf(dst, "%d", g.frame), nil
}
