package view

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/demoscene"
	"github.com/rcc-games/rcc/pkg/render/gltest"
	"github.com/rcc-games/rcc/pkg/world"
)

func TestMain(m *testing.M) { gltest.Main(m) }

// scripted is a Source that is not ready for its first frames, then
// shows the showcase, then fails; it records what the loop did.
type scripted struct {
	notReady int
	failAt   int
	frames   int
	inputs   []world.Controller
	closed   int
}

var errScripted = errors.New("ticket refused: 4403 expired")

func (s *scripted) Frame(now time.Time, dst *world.Snapshot) (FrameInfo, error) {
	s.frames++
	if s.failAt > 0 && s.frames >= s.failAt {
		return FrameInfo{}, errScripted
	}
	if s.frames <= s.notReady {
		return FrameInfo{Message: "connecting…"}, nil
	}
	copySnapshot(dst, demoscene.Showcase())
	return FrameInfo{Ready: true, Follow: 13, Player: "alice", Lines: []string{"game showcase"}}, nil
}

func (s *scripted) SendInput(c world.Controller) { s.inputs = append(s.inputs, c) }
func (s *scripted) Close() error                 { s.closed++; return nil }

func TestScreenshotWaitsForTheFirstState(t *testing.T) {
	gltest.Display(t)
	src := &scripted{notReady: 4}
	out := filepath.Join(t.TempDir(), "shot.png")
	err := Run(context.Background(), Config{Source: src, Display: os.Getenv("DISPLAY"), Width: 320, Height: 180, Screenshot: out, Frames: 3})
	if err != nil {
		t.Fatal(err)
	}
	if src.frames != 7 {
		t.Fatalf("%d frames pulled, want 4 not ready and 3 ready", src.frames)
	}
	if src.closed != 1 {
		t.Fatalf("source closed %d times", src.closed)
	}
	// The controller input is sent once (it did not change), with the
	// follow camera's heading.
	if len(src.inputs) != 1 {
		t.Fatalf("%d inputs sent, want 1", len(src.inputs))
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

func TestSourceErrorEndsTheLoop(t *testing.T) {
	gltest.Display(t)
	src := &scripted{failAt: 3}
	out := filepath.Join(t.TempDir(), "shot.png")
	err := Run(context.Background(), Config{Source: src, Display: os.Getenv("DISPLAY"), Width: 320, Height: 180, Screenshot: out, Frames: 10})
	if !errors.Is(err, errScripted) {
		t.Fatalf("Run: %v, want the source's error", err)
	}
	if src.closed != 1 {
		t.Fatalf("source closed %d times", src.closed)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a screenshot was written")
	}
}

func TestNoDisplayClosesTheSource(t *testing.T) {
	src := &scripted{}
	err := Run(context.Background(), Config{Source: src})
	if !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("Run: %v", err)
	}
	if src.closed != 1 {
		t.Fatalf("source closed %d times", src.closed)
	}
}

func TestSceneSourceWalksTheFollowedEntity(t *testing.T) {
	s := NewSceneSource(demoscene.Showcase(), "showcase", "alice")
	var dst world.Snapshot
	t0 := time.Now()
	info, err := s.Frame(t0, &dst)
	if err != nil || !info.Ready || info.Follow != 13 {
		t.Fatalf("frame: %+v, %v", info, err)
	}
	x0 := dst.Entity(13).Position.X
	s.SendInput(world.Controller{MoveZ: 1, Yaw: math.Pi / 2}) // forward, turned left: towards -X
	if _, err := s.Frame(t0.Add(100*time.Millisecond), &dst); err != nil {
		t.Fatal(err)
	}
	if dx := dst.Entity(13).Position.X - x0; math.Abs(float64(dx+WalkSpeed*0.1)) > 1e-3 {
		t.Fatalf("moved %v along X, want %v", dx, -WalkSpeed*0.1)
	}
	if spectator := NewSceneSource(demoscene.Showcase(), "x", ""); spectator.follow != 0 {
		t.Fatal("no player still follows an entity")
	}
}

func TestLoadScene(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.rccw")
	b, _ := demoscene.Showcase().MarshalBinary()
	if err := os.WriteFile(good, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadScene(good); err != nil || len(s.Entities) != 8 {
		t.Fatalf("LoadScene: %v", err)
	}
	bad := filepath.Join(dir, "bad.rccw")
	if err := os.WriteFile(bad, b[:30], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScene(bad); !errors.Is(err, world.ErrTruncated) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("LoadScene of a truncated file: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	if w, h, err := ParseSize("1920x1080"); err != nil || w != 1920 || h != 1080 {
		t.Fatalf("ParseSize: %d %d %v", w, h, err)
	}
	for _, bad := range []string{"", "1920", "x1080", "0x10", "10x-1", "99999x10", "axb"} {
		if _, _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}
