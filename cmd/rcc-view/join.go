package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/play"
)

// joinFlags say which game to join and how.
type joinFlags struct {
	game, url, player string
	labels            []string
	addr, token, ctxt string
	// ca is client.Credentials.CA; insecure allows plaintext off loopback.
	ca       string
	insecure bool
	timeout  time.Duration
}

// defaultPlayer is the user's login name.
func defaultPlayer() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return "player"
}

// join connects a session: with --url, on that one ticket; otherwise
// through the coordinator rccctl would talk to.
func join(ctx context.Context, f *joinFlags, logger *slog.Logger) (*play.Session, func(), error) {
	cfg := play.Config{Logger: logger}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if f.url != "" {
		ca := f.ca
		if ca == "" {
			ca = os.Getenv("RCC_CA")
		}
		var err error
		if cfg.TLS, err = (client.Credentials{CA: ca}).TLSConfig(); err != nil {
			return nil, nil, err
		}
		s, err := play.Connect(ctx, f.url, cfg)
		if err != nil {
			return nil, nil, joinError("", err)
		}
		return s, func() {}, nil
	}
	labels, err := client.ParseLabels(f.labels)
	if err != nil {
		return nil, nil, fmt.Errorf("--%w", err)
	}
	creds, err := client.Resolve(client.Selection{
		Addr: f.addr, Token: f.token, Context: f.ctxt, CA: f.ca,
		EnvAddr: os.Getenv("RCC_ADDR"), EnvToken: os.Getenv("RCC_TOKEN"), EnvContext: os.Getenv("RCC_CONTEXT"), EnvCA: os.Getenv("RCC_CA"),
	})
	if errors.Is(err, client.ErrNoToken) {
		return nil, nil, fmt.Errorf("no credentials for a coordinator: start one with 'rccd dev' (or 'make run'), which saves them; or pass --token, set RCC_TOKEN, or choose a context (rccctl context ls); or join with --url PLAY_URL")
	}
	if err != nil {
		return nil, nil, err
	}
	if f.player == "" {
		f.player = defaultPlayer()
		// A player token joins as its subject, whatever a request says.
		if cl, err := auth.ParseUnverified(string(creds.Token)); err == nil && (cl.Role == auth.RolePlayer || cl.Role == "") && cl.Subject != "" {
			f.player = cl.Subject
		}
	}
	target, err := creds.Target(f.insecure)
	if err != nil {
		return nil, nil, err
	}
	// The executors' certificates are verified like the coordinator's.
	cfg.TLS = target.TLS
	c, err := client.DialConfig(target)
	if err != nil {
		return nil, nil, fmt.Errorf("coordinator at %s: %w", creds.Addr, err)
	}
	s, err := play.Join(ctx, c, play.JoinRequest{Game: f.game, Player: f.player, Labels: labels}, cfg)
	if err != nil {
		reachable := c.Conn().GetState() == connectivity.Ready
		c.Close()
		return nil, nil, joinCoordinatorError(creds.Addr, f, reachable, err)
	}
	// The client stays open while the session lasts: it asks it for a
	// fresh ticket on each reconnection.
	return s, func() { c.Close() }, nil
}

// joinCoordinatorError turns a failed Join into what a person can act on.
func joinCoordinatorError(addr string, f *joinFlags, reachable bool, err error) error {
	var ce *play.CloseError
	if errors.As(err, &ce) {
		return joinError(f.game, err)
	}
	st, ok := status.FromError(errors.Unwrap(err))
	if !ok {
		st, ok = status.FromError(err)
	}
	if ok {
		switch st.Code() {
		case codes.NotFound:
			return fmt.Errorf("no game %q on the coordinator at %s (rccctl game ls lists the games; rccctl game deploy adds one)", f.game, addr)
		case codes.Unavailable:
			if !reachable {
				return fmt.Errorf("coordinator at %s is not reachable: is rccd dev running? ('make run' starts one; rccd dev alone does too): %s", addr, st.Message())
			}
			return fmt.Errorf("coordinator at %s cannot seat %s in %s: %s", addr, f.player, f.game, st.Message())
		case codes.Unauthenticated:
			return fmt.Errorf("coordinator at %s refused the token: %s", addr, st.Message())
		case codes.DeadlineExceeded:
			return fmt.Errorf("no seat from %s within %v", addr, f.timeout)
		case codes.InvalidArgument:
			return fmt.Errorf("join %s: %s", f.game, st.Message())
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no seat in %s within %v: %w", f.game, f.timeout, err)
	}
	return fmt.Errorf("join %s: %w", f.game, err)
}

// joinError says that the executor refused the connection.
func joinError(game string, err error) error {
	var ce *play.CloseError
	if errors.As(err, &ce) {
		return fmt.Errorf("the game server refused the connection: %d %s", uint16(ce.Code), ce.Reason())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no welcome from the game server: %w", err)
	}
	if game == "" {
		return fmt.Errorf("connect: %w", err)
	}
	return fmt.Errorf("join %s: %w", game, err)
}
