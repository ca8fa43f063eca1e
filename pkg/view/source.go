package view

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rcc-games/rcc/pkg/demoscene"
	"github.com/rcc-games/rcc/pkg/world"
)

// Source is where the frame loop gets the world from. The loop calls
// Frame once per rendered frame, from one goroutine, and SendInput from the
// same goroutine whenever the player's controller input changes.
type Source interface {
	// Frame writes the world to draw at time now into dst (reusing its
	// slices) and says what else to show. Before the first state has
	// arrived it returns FrameInfo.Ready false and leaves dst alone. A
	// non-nil error ends the loop, and rcc-view exits with it: keep it
	// for what a person must act on (a refused ticket, no such game);
	// show a passing condition ("reconnecting…", the reason the server
	// closed) as FrameInfo.Message instead.
	Frame(now time.Time, dst *world.Snapshot) (FrameInfo, error)
	// SendInput sends the player's controller input. It must not block
	// the frame loop.
	SendInput(c world.Controller)
	// Close ends the session (a leave, not a timeout) and frees what the
	// source holds. The loop calls it once, when it ends.
	Close() error
}

// FrameInfo is what a Source says about a frame besides the world.
type FrameInfo struct {
	// Ready is true once dst holds a state.
	Ready bool
	// Follow is the entity the camera follows (the local player's
	// avatar), 0 for the free spectator camera.
	Follow uint32
	// Player is the local player's id, highlighted on the scoreboard
	// ("" for none).
	Player string
	// Lines are the HUD's information lines (game, instance, round-trip
	// time, snapshot rate, connection state…), drawn top left above the
	// loop's own frame rate line. The loop reads them before the next
	// call to Frame only, so a Source may reuse the slice.
	Lines []string
	// Message is drawn large in the middle of the screen: the reason the
	// server closed the connection ("instance failed: fuel_exhausted …"),
	// "reconnecting…". Empty for none.
	Message string
	// End, when set, says the source has ended for good (the server
	// closed the session, with this error): nothing more will come. The
	// window keeps showing the last state and Message until the person
	// quits, and Run then returns End; a screenshot is still written
	// (showing Message) and Run returns End after it.
	End error
}

// SceneSource shows one fixed snapshot (a scene file, for docs and
// tests). When it follows a player's entity, the controller input walks
// that entity around at WalkSpeed, so the camera and the controls can be
// tried without a server.
type SceneSource struct {
	mu     sync.Mutex
	snap   *world.Snapshot
	name   string
	player string
	follow uint32
	input  world.Controller
	last   time.Time
	lines  []string
}

// WalkSpeed is how fast a SceneSource walks the followed entity, in m/s.
const WalkSpeed = 6

// NewSceneSource shows snap, named name on the HUD, following the entity
// of player (no player, or "" : the spectator camera).
func NewSceneSource(snap *world.Snapshot, name, player string) *SceneSource {
	s := &SceneSource{snap: snap, name: name, player: player}
	if p := snap.Player(player); p != nil {
		s.follow = p.Entity
	}
	s.lines = []string{"scene " + name, fmt.Sprintf("%d entities, %d players", len(snap.Entities), len(snap.Players))}
	return s
}

// LoadScene reads a file holding one encoded world snapshot (the format of
// docs/world.md).
func LoadScene(path string) (*world.Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scene: %w", err)
	}
	s, err := world.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("scene %s: %w", path, err)
	}
	return s, nil
}

// Frame implements Source.
func (s *SceneSource) Frame(now time.Time, dst *world.Snapshot) (FrameInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.follow != 0 && !s.last.IsZero() {
		if e := s.snap.Entity(s.follow); e != nil {
			dt := float32(min(now.Sub(s.last).Seconds(), 0.1))
			x, z := s.input.WorldMove()
			e.Position.X += x * WalkSpeed * dt
			e.Position.Z += z * WalkSpeed * dt
		}
	}
	s.last = now
	copySnapshot(dst, s.snap)
	return FrameInfo{Ready: true, Follow: s.follow, Player: s.player, Lines: s.lines}, nil
}

// SendInput implements Source.
func (s *SceneSource) SendInput(c world.Controller) {
	s.mu.Lock()
	s.input = c
	s.mu.Unlock()
}

// Close implements Source.
func (s *SceneSource) Close() error { return nil }

// copySnapshot copies src into dst reusing dst's slices.
func copySnapshot(dst, src *world.Snapshot) {
	dst.Frame = src.Frame
	dst.Entities = append(dst.Entities[:0], src.Entities...)
	dst.Players = append(dst.Players[:0], src.Players...)
}

// CrowdSource shows demoscene.Crowd with N entities moving with time, for
// benchmarks and load pictures.
type CrowdSource struct {
	n     int
	start time.Time
	lines []string
}

// NewCrowdSource shows n moving entities, their clock starting at start.
func NewCrowdSource(n int, start time.Time) *CrowdSource {
	return &CrowdSource{n: n, start: start, lines: []string{fmt.Sprintf("generated scene, %d entities", n)}}
}

// Frame implements Source.
func (c *CrowdSource) Frame(now time.Time, dst *world.Snapshot) (FrameInfo, error) {
	demoscene.Crowd(dst, c.n, now.Sub(c.start).Seconds())
	return FrameInfo{Ready: true, Lines: c.lines}, nil
}

// SendInput implements Source; a crowd ignores input.
func (c *CrowdSource) SendInput(world.Controller) {}

// Close implements Source.
func (c *CrowdSource) Close() error { return nil }
