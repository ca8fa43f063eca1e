package view

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rcc-games/rcc/pkg/world"
)

// ScriptStep is one step of an input script: from At after the first
// state on, the controller holds Controller (until the next step).
type ScriptStep struct {
	At         time.Duration
	Controller world.Controller
}

// ParseScript reads an input script: steps separated by ';', each
// "TIME:ACTION[ ACTION…]", TIME a Go duration after the first state
// ("0s", "1.5s") and the actions, separated by spaces:
//
//	move=X,Z   strafe X and forward Z, each -1 to 1 (move=0,1 walks forward)
//	yaw=DEG    heading in degrees (0 looks towards -Z, positive turns left)
//	jump       hold jump (a step without it releases it)
//	stop       all axes and buttons released
//
// Each step starts from the previous one's controller, without its jump;
// steps must come in time order. Example: "0.5s:move=0,1; 2s:move=1,0 jump; 3s:stop".
func ParseScript(s string) ([]ScriptStep, error) {
	var steps []ScriptStep
	var c world.Controller
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ts, actions, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("input script step %q: want TIME:ACTION", part)
		}
		at, err := time.ParseDuration(strings.TrimSpace(ts))
		if err != nil || at < 0 {
			return nil, fmt.Errorf("input script step %q: time %q: want a duration like 1.5s", part, ts)
		}
		if len(steps) > 0 && at < steps[len(steps)-1].At {
			return nil, fmt.Errorf("input script step %q: before the step before it", part)
		}
		c.Buttons &^= world.ButtonJump
		for _, a := range strings.Fields(actions) {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "move":
				xs, zs, ok := strings.Cut(v, ",")
				x, errx := strconv.ParseFloat(xs, 32)
				z, errz := strconv.ParseFloat(zs, 32)
				if !ok || errx != nil || errz != nil || math.Abs(x) > 1 || math.Abs(z) > 1 {
					return nil, fmt.Errorf("input script step %q: %q: want move=X,Z, each -1 to 1", part, a)
				}
				c.MoveX, c.MoveZ = float32(x), float32(z)
			case "yaw":
				d, err := strconv.ParseFloat(v, 32)
				if err != nil || math.IsNaN(d) || math.IsInf(d, 0) {
					return nil, fmt.Errorf("input script step %q: %q: want yaw=DEGREES", part, a)
				}
				c.Yaw = float32(d * math.Pi / 180)
			case "jump":
				c.Buttons |= world.ButtonJump
			case "stop":
				c = world.Controller{Yaw: c.Yaw}
			default:
				return nil, fmt.Errorf("input script step %q: unknown action %q (move=X,Z, yaw=DEG, jump, stop)", part, a)
			}
		}
		steps = append(steps, ScriptStep{At: at, Controller: c})
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("input script %q: no steps", s)
	}
	return steps, nil
}

// ScriptedSource plays an input script into a Source instead of the
// keyboard, mouse and gamepad (whose input it drops): for tests and
// demos. The script's clock starts at the first frame with a state.
type ScriptedSource struct {
	Source
	steps []ScriptStep
	start time.Time
	next  int
}

// NewScriptedSource plays steps into src.
func NewScriptedSource(src Source, steps []ScriptStep) *ScriptedSource {
	return &ScriptedSource{Source: src, steps: slices.Clone(steps)}
}

// Frame implements Source: it sends the steps whose time has come.
func (s *ScriptedSource) Frame(now time.Time, dst *world.Snapshot) (FrameInfo, error) {
	info, err := s.Source.Frame(now, dst)
	if err != nil || !info.Ready {
		return info, err
	}
	if s.start.IsZero() {
		s.start = now
	}
	for s.next < len(s.steps) && now.Sub(s.start) >= s.steps[s.next].At {
		s.Source.SendInput(s.steps[s.next].Controller)
		s.next++
	}
	return info, nil
}

// SendInput implements Source: the script replaces the person's input.
func (s *ScriptedSource) SendInput(world.Controller) {}
