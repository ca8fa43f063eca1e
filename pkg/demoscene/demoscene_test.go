package demoscene

import (
	"testing"

	"github.com/rcc-games/rcc/pkg/world"
)

func TestShowcaseHasEveryShapeAndEncodes(t *testing.T) {
	s := Showcase()
	seen := map[world.Shape]bool{}
	for _, e := range s.Entities {
		seen[e.Shape] = true
	}
	for sh := world.ShapeBox; sh <= world.ShapeCone; sh++ {
		if !seen[sh] {
			t.Errorf("no %v", sh)
		}
	}
	if _, err := s.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
}

func TestCrowdReusesItsSnapshot(t *testing.T) {
	var s world.Snapshot
	Crowd(&s, 1000, 0)
	if len(s.Entities) != 1001 {
		t.Fatalf("%d entities", len(s.Entities))
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() { Crowd(&s, 1000, 1.5) }); n != 0 {
		t.Fatalf("Crowd allocates %v times per call in steady state", n)
	}
}
