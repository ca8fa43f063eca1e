package localrun

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// TestReplayAcrossSnapshots records a session, then replays it with the
// instance snapshotted at frame k and restored on another engine (another
// executor, as far as the instance can tell): the replay must match the
// recording at every frame, so the migrated session ends with the hash of
// the unbroken run. Arena is a Go guest (its runtime, its heap, its
// globals); the recorder and big_memory are the corpus's healthy modules.
func TestReplayAcrossSnapshots(t *testing.T) {
	tests := []struct {
		name  string
		wasm  func(t *testing.T) []byte
		opts  Options
		at    []uint64
		ticks uint64
	}{
		{"recorder", func(t *testing.T) []byte { return module(t, "recorder") },
			Options{Game: "rec", Ticks: 60, Players: 3, Seed: 9, InputEvery: 7}, []uint64{1, 17, 40}, 60},
		{"big_memory", func(t *testing.T) []byte { return module(t, "big_memory") },
			Options{Game: "big", Ticks: 20, Players: 1, Seed: 3}, []uint64{10}, 20},
		{"arena", func(t *testing.T) []byte { return gamebuildtest.Arena(t) },
			Options{Game: "arena", Ticks: 240, Players: 16, Seed: 42, InputEvery: 2}, []uint64{1, 60, 173}, 240},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, other := engine(t), engine(t)
			wasm := tt.wasm(t)
			res, log := record(t, e, wasm, tt.opts)
			got, err := ReplayWith(context.Background(), e, wasm, bytes.NewReader(log), ReplayOptions{SnapshotAt: tt.at, RestoreEngine: other})
			if err != nil {
				t.Fatal(err)
			}
			if !got.Match || got.Frames != tt.ticks || got.StateSHA256 != res.StateSHA256 || got.Error != "" {
				t.Fatalf("replay across snapshots = %+v, want a match of %d frames ending in %s", got, tt.ticks, res.StateSHA256)
			}
			if !slices.Equal(got.Restored, tt.at) {
				t.Errorf("restored after frames %v, want %v", got.Restored, tt.at)
			}
		})
	}
}

// TestReplayAcrossSnapshotsDetectsLoss checks that the test above can fail:
// a replay whose instance is restored from a snapshot with one page of
// memory lost diverges from the recording.
func TestReplayAcrossSnapshotsDetectsLoss(t *testing.T) {
	e := engine(t)
	wasm := gamebuildtest.Arena(t)
	_, log := record(t, e, wasm, Options{Game: "arena", Ticks: 60, Players: 4, Seed: 1})
	ctx := context.Background()
	res, err := ReplayWith(ctx, e, wasm, bytes.NewReader(log), ReplayOptions{SnapshotAt: []uint64{30}, damage: func(s *wasmhost.Snapshot) {
		s.Pages = s.Pages[:len(s.Pages)/2]
	}})
	if err != nil {
		// A Go runtime with half its heap gone may also fail outright.
		t.Logf("replay failed: %v", err)
		return
	}
	if res.Match || (res.DivergedAt == 0 && res.Error == "") {
		t.Fatalf("a replay restored from a damaged snapshot = %+v, want a divergence or a failure", res)
	}
}
