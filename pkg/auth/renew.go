package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// Default lifetimes of the role tokens "rccd token create" and "rccd dev"
// make. Long-lived processes renew theirs before they expire
// ([RenewableCredentials], ExecutorService.RenewToken).
const (
	// DefaultAdminTTL is an operator's token's lifetime: a week.
	DefaultAdminTTL = 7 * 24 * time.Hour
	// DefaultExecutorTTL is an executor's token's lifetime: a day, renewed
	// by the executor at two thirds of it.
	DefaultExecutorTTL = 24 * time.Hour
	// DefaultPlayerTTL is a player's token's lifetime: an hour.
	DefaultPlayerTTL = time.Hour
)

// DefaultTTL returns the default lifetime of a token of role r.
func DefaultTTL(r Role) time.Duration {
	switch r {
	case RoleAdmin:
		return DefaultAdminTTL
	case RolePlayer:
		return DefaultPlayerTTL
	}
	return DefaultExecutorTTL
}

// RenewableCredentials are [BearerCredentials] whose token can be replaced
// while the connection is in use, for a process that renews its token
// before it expires. It is safe for concurrent use.
type RenewableCredentials struct {
	mu         sync.RWMutex
	token      Token
	expires    time.Time
	requireTLS bool
}

var _ credentials.PerRPCCredentials = (*RenewableCredentials)(nil)

// NewRenewableCredentials returns credentials sending token; its expiry is
// read from the token itself (unverified: it is ours to send, not to
// trust).
func NewRenewableCredentials(token Token, requireTLS bool) *RenewableCredentials {
	c := &RenewableCredentials{requireTLS: requireTLS}
	c.Set(token)
	return c
}

// Set replaces the token sent from the next call on.
func (c *RenewableCredentials) Set(token Token) {
	cl, _ := ParseUnverified(string(token))
	c.mu.Lock()
	c.token, c.expires = token, cl.ExpiresAt
	c.mu.Unlock()
}

// Token returns the current token and its expiry (zero when unknown).
func (c *RenewableCredentials) Token() (Token, time.Time) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token, c.expires
}

// LogValue implements [slog.LogValuer]: the token is logged as REDACTED.
func (c *RenewableCredentials) LogValue() slog.Value {
	_, exp := c.Token()
	return slog.GroupValue(slog.String("token", "REDACTED"), slog.Time("expires", exp))
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *RenewableCredentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	tok, _ := c.Token()
	return BearerCredentials{Token: tok}.GetRequestMetadata(ctx, uri...)
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (c *RenewableCredentials) RequireTransportSecurity() bool { return c.requireTLS }

// RenewAt returns when a token issued at issued and expiring at expires
// should be renewed: at two thirds of its life.
func RenewAt(issued, expires time.Time) time.Time {
	return issued.Add(expires.Sub(issued) * 2 / 3)
}

// RenewLoop renews c's token with renew at two thirds of each token's
// life until ctx ends, trying again every retry after a failure (while the
// token is still valid, a failure costs nothing). onRenew, when not nil,
// receives each new token (to write it back to a file).
func (c *RenewableCredentials) RenewLoop(ctx context.Context, log *slog.Logger, retry time.Duration,
	renew func(ctx context.Context) (Token, error), onRenew func(Token)) {
	for {
		tok, exp := c.Token()
		if exp.IsZero() {
			return // not a token we can read: nothing to renew
		}
		cl, _ := ParseUnverified(string(tok))
		wait := time.Until(RenewAt(cl.IssuedAt, exp))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		next, err := renew(ctx)
		for err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("token renewal failed, trying again", "err", err, "expires", exp, "retry_in", retry)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			next, err = renew(ctx)
		}
		c.Set(next)
		_, newExp := c.Token()
		log.Info("token renewed", "expires", newExp)
		if onRenew != nil {
			onRenew(next)
		}
	}
}
