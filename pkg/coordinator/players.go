package coordinator

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Defaults of Config.JoinRate and JoinBurst: how often one player (a
// token's subject) and one source address may call Join.
const (
	DefaultJoinRate  = 2.0 // per second, per player
	DefaultJoinBurst = 10
	// joinAddrFactor: one address (a household, a NAT) gets this many
	// players' worth.
	joinAddrFactor = 8
	// joinLimiters bounds the limiters kept per kind; past it, idle ones
	// are forgotten.
	joinLimiters = 100_000
)

// playerJoin applies the player role's rules to a Join: the player is the
// token's subject (a request naming another player is refused), it may not
// shape the instance a join creates, and it is rate-limited per subject
// and per source address. Admin calls pass unchanged.
func (c *Coordinator) playerJoin(ctx context.Context, req *rccv1.JoinRequest) error {
	cl, ok := auth.ClaimsFromContext(ctx)
	if !ok || cl.Role != auth.RolePlayer {
		return nil
	}
	switch {
	case req.PlayerId != "" && req.PlayerId != cl.Subject:
		return auth.StatusError(codes.PermissionDenied, auth.ReasonOtherSubject,
			fmt.Sprintf("a player token joins as its own subject %q, not as %q", cl.Subject, req.PlayerId))
	case req.MaxPlayers != 0 || req.LeaseSeconds != 0:
		return status.Error(codes.PermissionDenied, "a player token may not set max_players or lease_seconds")
	}
	req.PlayerId = cl.Subject
	now := c.now()
	if !c.joins.allow("sub:"+cl.Subject, now, 1) {
		return auth.StatusError(codes.ResourceExhausted, auth.ReasonRateLimited, fmt.Sprintf(
			"join: player %q joins too often (at most %g a second, bursts of %d); try again shortly", cl.Subject, c.joins.rate, c.joins.burst))
	}
	if host := remoteHost(ctx); host != "" && !c.joins.allow("addr:"+host, now, joinAddrFactor) {
		return auth.StatusError(codes.ResourceExhausted, auth.ReasonRateLimited, fmt.Sprintf("join: too many joins from %s; try again shortly", host))
	}
	return nil
}

// remoteHost is the caller's address without its port.
func remoteHost(ctx context.Context) string {
	addr := remoteAddr(ctx)
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// joinLimiter is a token bucket per key (a subject, an address).
type joinLimiter struct {
	rate  float64
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func newJoinLimiter(r float64, burst int) *joinLimiter {
	return &joinLimiter{rate: r, burst: burst, m: map[string]*rate.Limiter{}}
}

// allow takes one join from key's bucket, whose rate and burst are factor
// times the configured ones. A negative rate allows everything.
func (j *joinLimiter) allow(key string, now time.Time, factor int) bool {
	if j.rate < 0 {
		return true
	}
	j.mu.Lock()
	l, ok := j.m[key]
	if !ok {
		if len(j.m) >= joinLimiters {
			for k, l := range j.m { // forget the full buckets: idle keys
				if l.TokensAt(now) >= float64(l.Burst()) {
					delete(j.m, k)
				}
			}
		}
		l = rate.NewLimiter(rate.Limit(j.rate*float64(factor)), j.burst*factor)
		j.m[key] = l
	}
	j.mu.Unlock()
	return l.AllowN(now, 1)
}
