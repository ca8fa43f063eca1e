package play

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/protocol"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TicketSource gives a session the play URL, with a fresh single-use
// ticket, of each connection it makes: the first, and each reconnection.
type TicketSource interface {
	// PlayURL returns a play URL (ws://host/play/{instance}?ticket=...).
	// It returns an error wrapping ErrNoTicket when it has no more, and
	// errors a retry cannot fix wrapped in a *PermanentError.
	PlayURL(ctx context.Context) (string, error)
}

// PermanentError wraps an error of a TicketSource that retrying cannot fix
// (no game of that name, bad credentials): a reconnecting session ends
// with it instead of trying again.
type PermanentError struct{ Err error }

// Error returns the wrapped error's text.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// URL is a TicketSource of one ready play URL: its ticket serves once, so
// a session on it does not reconnect.
func URL(playURL string) TicketSource { return &urlSource{url: playURL} }

type urlSource struct {
	mu   sync.Mutex
	url  string
	used bool
}

func (u *urlSource) PlayURL(context.Context) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used {
		return "", ErrNoTicket
	}
	u.used = true
	return u.url, nil
}

// JoinRequest is what Join asks the coordinator for: a seat for a player in
// an instance of a game.
type JoinRequest struct {
	// Game is the game's name; Player the player's id. Both required.
	Game, Player string
	// Version is the game version, 0 for the latest.
	Version uint32
	// Labels select instances carrying all of them; a new instance gets
	// them.
	Labels map[string]string
	// MaxPlayers and LeaseSeconds configure an instance Join creates (0:
	// the coordinator's defaults).
	MaxPlayers, LeaseSeconds uint32
}

// Coordinator is a TicketSource asking the coordinator c to Join, for each
// connection, with the caller's credentials (c's token). Every call gets a
// fresh ticket; a reconnection within the executor's grace finds the
// player's avatar when Join sends it back to the same instance (it does
// whenever that instance still matches and has room; with several
// matching instances the coordinator may pick another, and the welcome is
// then not resumed).
func Coordinator(c *client.Client, req JoinRequest) TicketSource {
	return &joinSource{c: c, req: req}
}

type joinSource struct {
	c   *client.Client
	req JoinRequest
}

func (j *joinSource) PlayURL(ctx context.Context) (string, error) {
	if j.req.Game == "" || j.req.Player == "" {
		return "", &PermanentError{Err: errors.New("join: a game and a player id are required")}
	}
	resp, err := j.c.Instances.Join(ctx, &rccv1.JoinRequest{
		Game: j.req.Game, PlayerId: j.req.Player, Version: j.req.Version, Labels: j.req.Labels,
		MaxPlayers: j.req.MaxPlayers, LeaseSeconds: j.req.LeaseSeconds,
	})
	if err != nil {
		err = fmt.Errorf("join %s: %w", j.req.Game, err)
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Internal, codes.Unknown:
			return "", err
		}
		return "", &PermanentError{Err: err}
	}
	u, err := protocol.PlayURL(resp.WsUrl, resp.InstanceId, resp.Ticket)
	if err != nil {
		return "", &PermanentError{Err: fmt.Errorf("join %s: %w", j.req.Game, err)}
	}
	return u, nil
}
