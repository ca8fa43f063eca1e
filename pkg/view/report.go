package view

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/world"
)

// FrameReport describes the frame of a screenshot (Config.FrameJSON): what
// was drawn where, so that a test can check a picture against the world
// it shows without knowing the camera.
type FrameReport struct {
	// Width and Height are the picture's size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Frame is the snapshot's frame number; Player the local player,
	// Follow the entity the camera followed (0: the spectator camera).
	Frame  uint64 `json:"frame"`
	Player string `json:"player,omitempty"`
	Follow uint32 `json:"follow,omitempty"`
	// Lines and Message are the HUD's text.
	Lines   []string `json:"lines"`
	Message string   `json:"message,omitempty"`
	// FirstStateMS is the time from the start of Run to the first state,
	// in milliseconds.
	FirstStateMS float64 `json:"first_state_ms"`
	// Entities are the snapshot's entities as drawn.
	Entities []EntityReport `json:"entities"`
}

// EntityReport is one entity of a FrameReport.
type EntityReport struct {
	ID    uint32      `json:"id"`
	Shape string      `json:"shape"`
	Label string      `json:"label,omitempty"`
	Color world.Color `json:"color"`
	// Position is the entity's centre in this frame; FirstPosition where
	// this viewer first saw it.
	Position      world.Vec3 `json:"position"`
	FirstPosition world.Vec3 `json:"first_position"`
	// Pixel is where the centre projects to (x right, y down from the
	// top left); OnScreen is false when it is outside the picture or
	// behind the camera.
	Pixel    [2]float32 `json:"pixel"`
	OnScreen bool       `json:"on_screen"`
}

// report describes the latest frame.
func (l *loop) report() *FrameReport {
	w, h := l.cfg.Width, l.cfg.Height
	r := &FrameReport{
		Width: w, Height: h, Frame: l.snap.Frame, Player: l.info.Player, Follow: l.info.Follow,
		Lines: l.lines, Message: l.info.Message, Entities: []EntityReport{},
		FirstStateMS: float64(l.firstAt.Microseconds()) / 1000,
	}
	if !l.info.Ready {
		return r
	}
	vp := l.cam.ViewProjection(w, h)
	for i := range l.snap.Entities {
		e := &l.snap.Entities[i]
		x, y, _, ok := geom.Project(vp, geom.Vec3(e.Position), w, h)
		r.Entities = append(r.Entities, EntityReport{
			ID: e.ID, Shape: e.Shape.String(), Label: e.Label, Color: e.Color,
			Position: e.Position, FirstPosition: l.firstSeen[e.ID],
			Pixel: [2]float32{x, y}, OnScreen: ok,
		})
	}
	return r
}

// writeReport writes r as JSON to path, through a temporary file renamed
// into place.
func writeReport(path string, r *FrameReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("frame report: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rcc-view-*.json")
	if err != nil {
		return fmt.Errorf("write frame report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write frame report: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write frame report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write frame report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write frame report: %w", err)
	}
	return nil
}
