package play_test

import (
	"context"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestPlayOtherLanguages deploys the C, AssemblyScript and Rust examples
// (built from source) to a coordinator and an executor, joins each over
// WebSocket and walks with arena's 3-byte input, as a player of any of
// them would.
func TestPlayOtherLanguages(t *testing.T) {
	e := newEnv(t)
	for _, game := range []string{"c-coins", "as-chase", "rust-tag"} {
		t.Run(game, func(t *testing.T) {
			e.t = t
			e.deploy(game, gamebuildtest.Game(t, game))
			e.spawn(game)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := play.Join(ctx, e.admin, play.JoinRequest{Game: game, Player: "alice"}, play.Config{MinBackoff: 20 * time.Millisecond})
			if err != nil {
				t.Fatalf("join %s: %v", game, err)
			}
			defer s.Close()
			start := avatar(t, s, "alice")
			if start.Label != "alice" {
				t.Errorf("alice's avatar is labelled %q", start.Label)
			}
			// Away from the middle (where as-chase's ghost starts), unless
			// the avatar spawned near a wall (at 10 m or 12 m).
			dir, sign := byte(127), float32(1)
			if x := start.Position.X; (x < 0 && x > -7) || x >= 7 {
				dir, sign = 0x81, -1
			}
			if err := s.Send([]byte{dir, 0, 0}); err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, "alice's avatar to walk", 10*time.Second, func() bool {
				a := avatar(t, s, "alice")
				return a.ID == start.ID && (a.Position.X-start.Position.X)*sign > 1
			})
		})
	}
}
