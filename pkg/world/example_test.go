package world_test

import (
	"fmt"

	"github.com/rcc-games/rcc/pkg/world"
)

func Example() {
	// A game builds its snapshot every tick...
	s := world.Snapshot{
		Frame: 120,
		Entities: []world.Entity{
			{ID: 1, Shape: world.ShapePlane, Rotation: world.Identity, Scale: world.Vec3{X: 30, Y: 1, Z: 30}, Color: world.Color{R: 150, G: 156, B: 140, A: 255}},
			{ID: 1000, Shape: world.ShapeCapsule, Position: world.Vec3{Y: 0.9}, Rotation: world.Identity, Scale: world.Vec3{X: 1, Y: 1.8, Z: 1}, Color: world.Color{R: 230, G: 57, B: 70, A: 255}, Label: "alice"},
		},
		Players: []world.Player{{ID: "alice", Entity: 1000, Score: 2}},
	}
	// ...and encodes it into a buffer it reuses.
	var buf []byte
	buf, err := s.AppendBinary(buf[:0])
	if err != nil {
		panic(err)
	}

	// A client decodes it, into a snapshot it reuses too.
	var got world.Snapshot
	if err := got.UnmarshalBinary(buf); err != nil {
		panic(err)
	}
	for _, p := range got.Players {
		e := got.Entity(p.Entity)
		fmt.Printf("frame %d: %s follows a %v at y=%.1f, score %d\n", got.Frame, p.ID, e.Shape, e.Position.Y, p.Score)
	}
	fmt.Println(len(buf), "bytes") // 20 header + 2×50 entities + 5 label + 9 player + 5 id
	// Output:
	// frame 120: alice follows a capsule at y=0.9, score 2
	// 139 bytes
}
