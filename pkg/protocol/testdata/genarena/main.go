// Command genarena writes a sequence of real arena state bytes, for the
// delta codec's tests and benchmarks: 16 players join at the first tick and
// send random controller input every tick (so they move), and every state
// of ticks 1..N is written as a u32 little-endian length and the bytes.
//
//	go run ./pkg/protocol/testdata/genarena -o pkg/protocol/testdata/arena-states.bin
//
// It builds games/arena first (pkg/gamebuild), so it needs the Go toolchain.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rcc-games/rcc/pkg/gamebuild"
	"github.com/rcc-games/rcc/pkg/localrun"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

func main() {
	out := flag.String("o", "arena-states.bin", "output file")
	ticks := flag.Int("ticks", 240, "ticks to record")
	players := flag.Int("players", 16, "players")
	flag.Parse()
	if err := run(context.Background(), *out, *ticks, *players); err != nil {
		fmt.Fprintln(os.Stderr, "genarena:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string, ticks, players int) error {
	tmp, err := os.MkdirTemp("", "genarena")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wasmPath := filepath.Join(tmp, "arena.wasm")
	if err := gamebuild.Build(ctx, "games/arena", wasmPath); err != nil {
		return fmt.Errorf("build arena: %w", err)
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}
	engine, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
	if err != nil {
		return err
	}
	defer engine.Close(ctx)
	var buf []byte
	res, err := localrun.Run(ctx, engine, wasm, localrun.Options{
		Game: "arena", Ticks: ticks, Seed: 7, TickHz: 60, Players: players, MaxPlayers: players,
		OnFrame: func(_ int, state []byte) {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(state)))
			buf = append(buf, state...)
		},
	})
	if err != nil {
		return err
	}
	if res.Failed() {
		return fmt.Errorf("arena failed: %s: %s", res.ExitReason, res.Error)
	}
	return os.WriteFile(out, buf, 0o644)
}
