package view

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/world"
)

// hudRefresh is how often PlaySource rewrites its HUD lines: figures that
// change every frame (round-trip time, snapshot rate) are read twice a
// second, so a steady frame allocates nothing.
const hudRefresh = 500 * time.Millisecond

// PlaySource shows a live game through a play.Session: the session's
// snapshot buffer blended for each frame, the camera behind the local
// player's avatar, the connection's figures on the HUD, "reconnecting…"
// while the session reconnects, and the reason when the server ends it
// (FrameInfo.End).
type PlaySource struct {
	// Spectate, set before the first frame, keeps the spectator camera
	// instead of following the local player's avatar.
	Spectate bool

	s    *play.Session
	name string // what the HUD calls the game before the welcome

	ready   bool
	lines   []string
	message string
	refresh time.Time
	state   play.ConnState
	end     error
}

// NewPlaySource shows session s; game names the game on the HUD until the
// welcome says it.
func NewPlaySource(s *play.Session, game string) *PlaySource {
	return &PlaySource{s: s, name: game}
}

// Frame implements Source.
func (p *PlaySource) Frame(now time.Time, dst *world.Snapshot) (FrameInfo, error) {
	st := p.s.Stats()
	if _, ok := p.s.Render(dst, now); ok {
		p.ready = true
	}
	if st.State != p.state || now.Sub(p.refresh) >= hudRefresh || p.lines == nil {
		p.state, p.refresh = st.State, now
		p.updateLines(&st)
	}
	info := FrameInfo{Ready: p.ready, Player: st.Welcome.PlayerID, Lines: p.lines, Message: p.message, End: p.end}
	if p.ready && !p.Spectate {
		if pl := dst.Player(st.Welcome.PlayerID); pl != nil {
			info.Follow = pl.Entity
		}
	}
	return info, nil
}

// updateLines rewrites the HUD lines and the message from st.
func (p *PlaySource) updateLines(st *play.Stats) {
	w := &st.Welcome
	game := p.name
	if w.Game != "" {
		game = w.Game
		if st.GameVersion != "" { // the welcome's, or a hot upgrade's since
			game += " v" + st.GameVersion
		}
	}
	p.lines = p.lines[:0]
	p.lines = append(p.lines, game)
	if w.InstanceID != "" {
		p.lines = append(p.lines, fmt.Sprintf("instance %s · player %s", w.InstanceID, w.PlayerID))
	}
	conn := st.State.String()
	switch {
	case st.Reconnects == 1:
		conn += " (1 reconnection)"
	case st.Reconnects > 1:
		conn += fmt.Sprintf(" (%d reconnections)", st.Reconnects)
	}
	rtt := "rtt …"
	if st.RTT > 0 {
		rtt = fmt.Sprintf("rtt %.1f ms", float64(st.RTT)/float64(time.Millisecond))
	}
	p.lines = append(p.lines,
		fmt.Sprintf("%s · %s · %.0f snapshots/s · delay %d ms", conn, rtt, st.SnapshotRate, st.Buffer.Delay.Milliseconds()))
	p.message = ""
	switch st.State {
	case play.Connecting:
		p.message = "connecting…"
	case play.Reconnecting:
		p.message = fmt.Sprintf("reconnecting… (attempt %d)", st.Attempts)
		if st.Err != nil {
			p.message = fmt.Sprintf("reconnecting… (attempt %d: %s)", st.Attempts, shortReason(st.Err))
		}
	case play.Closed:
		if st.Err != nil && !errors.Is(st.Err, play.ErrClosed) {
			p.message = shortReason(st.Err)
			p.end = st.Err
		}
	}
}

// shortReason says why a session ended, for the screen: a close frame's
// reason with its name in words ("instance failed: fuel_exhausted in
// tick: …"), or the error.
func shortReason(err error) string {
	var ce *play.CloseError
	if errors.As(err, &ce) {
		s := strings.ReplaceAll(ce.Name, "_", " ")
		if ce.Detail != "" {
			s += ": " + ce.Detail
		}
		return s
	}
	return err.Error()
}

// SendInput implements Source; the session queues it for its writer.
func (p *PlaySource) SendInput(c world.Controller) { _ = p.s.SendController(c) }

// Close implements Source: the player leaves the game.
func (p *PlaySource) Close() error {
	if err := p.s.Close(); err != nil && !errors.Is(err, play.ErrClosed) {
		return err
	}
	return nil
}
