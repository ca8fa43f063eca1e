package play_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/world"
)

// A render loop on a session: join, then each frame render the blended
// world, read the figures for a HUD and send the controller.
func Example() {
	c, err := client.Dial(client.DefaultAddr, "ADMIN-TOKEN")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := play.Join(ctx, c, play.JoinRequest{Game: "arena", Player: "alice"}, play.Config{})
	var ce *play.CloseError
	if errors.As(err, &ce) {
		log.Fatalf("refused: %d %s", ce.Code, ce.Reason()) // e.g. 4004 ticket_expired
	}
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close() // a leave, not a timeout

	var snap world.Snapshot
	for frame := 0; frame < 600; frame++ {
		if _, ok := s.Render(&snap, time.Now()); ok {
			_ = snap.Entities // draw them
		}
		st := s.Stats()
		_ = fmt.Sprintf("%s rtt %v, %.0f states/s", st.State, st.RTT, st.SnapshotRate)
		_ = s.SendController(world.Controller{MoveZ: 1}) // never blocks
		select {
		case <-s.Done():
			if errors.Is(s.Err(), protocol.CloseInstanceFailed) {
				log.Printf("the game failed: %v", s.Err())
			}
			return
		case <-time.After(16 * time.Millisecond): // vsync, in a real loop
		}
	}
}

// A Buffer on its own: snapshots go in with their arrival times, and a
// render time between two of them blends them.
func ExampleBuffer() {
	b := play.NewBuffer(play.BufferConfig{TickHz: 10})
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for frame := uint64(1); frame <= 5; frame++ {
		snap := &world.Snapshot{Frame: frame, Entities: []world.Entity{{
			ID: 1, Shape: world.ShapeSphere, Rotation: world.Identity, Scale: world.Vec3{X: 1, Y: 1, Z: 1},
			Position: world.Vec3{X: float32(frame)}, // 10 m/s along +X
		}}}
		b.Add(frame, snap, start.Add(time.Duration(frame)*100*time.Millisecond))
	}
	var out world.Snapshot
	s, _ := b.Render(&out, start.Add(550*time.Millisecond))
	fmt.Printf("delay %v, frames %d-%d, alpha %.2f, x %.2f\n", s.Delay, s.FromFrame, s.ToFrame, s.Alpha, out.Entities[0].Position.X)
	// Output: delay 200ms, frames 3-4, alpha 0.50, x 3.50
}
