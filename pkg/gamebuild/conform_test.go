package gamebuild_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/localrun"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/world"
)

// conformGames are the implementations of docs/conformance.md; the first
// is the reference.
var conformGames = []string{"conform-go", "conform-rust", "conform-c", "conform-as"}

// TestConformance runs the conformance game in Go, Rust, C and
// AssemblyScript through the sandbox with the same seed, max_players and
// input log (testdata/conform.jsonl) and requires the same state bytes in
// every frame; then replays the Go run's recorded log (what rccctl game
// replay does) against the other three. Seeds above 2^53 check that every
// implementation reads the seed as an exact u64.
func TestConformance(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "conform.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := localrun.ReadScript(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string][]byte{}
	for _, g := range conformGames {
		modules[g] = gamebuildtest.Game(t, g)
	}
	ctx := context.Background()
	engine, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close(ctx)

	const ticks = 40
	for _, seed := range []uint64{42, 18446744073709551557} {
		var ref [][32]byte
		var refState []byte
		var log bytes.Buffer
		for _, g := range conformGames {
			var hashes [][32]byte
			opts := localrun.Options{
				Game: "conform", Ticks: ticks, Seed: seed, MaxPlayers: 3, Script: script,
				OnFrame: func(_ int, state []byte) { hashes = append(hashes, sha256.Sum256(state)) },
			}
			if ref == nil {
				opts.Record = &log
			}
			res, err := localrun.Run(ctx, engine, modules[g], opts)
			if err != nil || res.Failed() {
				t.Fatalf("seed %d: %s: %v %s", seed, g, err, res.Error)
			}
			if ref == nil {
				ref, refState = hashes, res.State
				continue
			}
			if len(hashes) != len(ref) {
				t.Fatalf("seed %d: %s ran %d frames, %s %d", seed, g, len(hashes), conformGames[0], len(ref))
			}
			for i := range ref {
				if hashes[i] != ref[i] {
					t.Errorf("seed %d: %s: frame %d state differs from %s's", seed, g, i+1, conformGames[0])
					break
				}
			}
			if !bytes.Equal(res.State, refState) {
				s, err := world.Decode(res.State)
				t.Errorf("seed %d: %s: last state %+v (%v)\nwant %+v", seed, g, s, err, mustDecode(t, refState))
			}
		}
		for _, g := range conformGames[1:] {
			rr, err := localrun.Replay(ctx, engine, modules[g], bytes.NewReader(log.Bytes()), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !rr.Match || rr.Frames != ticks {
				t.Errorf("seed %d: replaying %s's log with %s: match %v after %d frames, diverged at %d (%s)",
					seed, conformGames[0], g, rr.Match, rr.Frames, rr.DivergedAt, rr.Error)
			}
		}
		checkConformSpec(t, seed, mustDecode(t, refState))
	}
}

func mustDecode(t *testing.T, b []byte) *world.Snapshot {
	t.Helper()
	s, err := world.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkConformSpec checks the reference's last state against the rules of
// docs/conformance.md, worked out by hand for testdata/conform.jsonl.
func checkConformSpec(t *testing.T, seed uint64, s *world.Snapshot) {
	t.Helper()
	var clock float32
	for range 40 {
		clock += float32(1000.0/60) / 1000
	}
	z := float32(seed % 5)
	want := world.Snapshot{
		Frame: 40,
		Entities: []world.Entity{
			{ID: 1, Shape: world.ShapeBox, Position: world.Vec3{X: clock, Y: float32(seed % 1000), Z: -1.5},
				Rotation: world.Quat{Y: 0.70710677, W: 0.70710677}, Scale: world.Vec3{X: 0.5, Y: 0.25, Z: 2},
				Color: world.Color{R: uint8(seed), G: uint8(seed >> 8), B: uint8(seed >> 16), A: 255}, Label: "conform"},
			// cy: the third avatar (100+2), moved up once.
			{ID: 102, Shape: world.ShapeCapsule, Position: world.Vec3{X: 2, Y: 0.5, Z: z - 1}, Rotation: world.Identity,
				Scale: world.Vec3{X: 1, Y: 2, Z: 1}, Color: world.Color{G: 128, B: 255, A: 255}, Label: "cy"},
			// eve: joined when bö had left, the fourth avatar, moved down.
			{ID: 103, Shape: world.ShapeCapsule, Position: world.Vec3{X: 3, Y: 0.5, Z: z + 1}, Rotation: world.Identity,
				Scale: world.Vec3{X: 1, Y: 2, Z: 1}, Color: world.Color{G: 128, B: 255, A: 255}, Label: "eve"},
			// ann: left and rejoined at frame 30, when two avatars were
			// left: a new avatar, the fifth (x 4), moved left once.
			{ID: 104, Shape: world.ShapeCapsule, Position: world.Vec3{X: 3, Y: 0.5, Z: z}, Rotation: world.Identity,
				Scale: world.Vec3{X: 1, Y: 2, Z: 1}, Color: world.Color{G: 128, B: 255, A: 255}, Label: "ann"},
		},
		Players: []world.Player{
			{ID: "cy", Entity: 102, Score: 1},
			{ID: "dee", Entity: 0, Score: -1}, // a spectator: L, then two bad inputs
			{ID: "eve", Entity: 103, Score: 1},
			{ID: "bö", Entity: 0, Score: -1},   // rejoined as a spectator; input 0xff
			{ID: "ann", Entity: 104, Score: 1}, // its score restarted at the rejoin
		},
	}
	got, _ := s.MarshalBinary()
	exp, _ := want.MarshalBinary()
	if !bytes.Equal(got, exp) {
		t.Errorf("seed %d: the reference's last state\n%+v\nwant (docs/conformance.md)\n%+v", seed, *s, want)
	}
}
