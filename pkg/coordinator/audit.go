package coordinator

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/store"
)

// Audit events, the "event" field of every audit line (docs/operations.md
// lists the fields).
const (
	auditAdminCall           = "admin_call"
	auditAuthRefused         = "auth_refused"
	auditRefusalsSuppressed  = "auth_refusals_suppressed"
	auditExecutorRegistered  = "executor_registered"
	auditExecutorMoved       = "executor_moved"
	auditRegistrationRefused = "executor_registration_conflict"
	auditTokenRenewed        = "token_renewed"
	auditKeySetChanged       = "key_set_changed"
)

// Refused authentications are logged at most this often (a burst of
// auditRefusalBurst, then auditRefusalRate a second); the others are
// counted and reported in one line when logging resumes.
const (
	auditRefusalRate  = 10
	auditRefusalBurst = 20
)

// audit writes the audit trail to its own logger: who (the token's subject
// and id, its role), from where (the peer's address), what (the method or
// the event), and the outcome (a gRPC code name).
type audit struct {
	log        *slog.Logger
	now        func() time.Time
	refusals   *rate.Limiter
	suppressed atomic.Int64
	mu         sync.Mutex // orders the suppressed report before the next line
}

func newAudit(log *slog.Logger, now func() time.Time) *audit {
	return &audit{log: log, now: now, refusals: rate.NewLimiter(auditRefusalRate, auditRefusalBurst)}
}

// remoteAddr is the caller's address, "" outside a call.
func remoteAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// who returns the caller's attributes from the verified claims of ctx.
func who(ctx context.Context) []any {
	attrs := []any{slog.String("remote", remoteAddr(ctx))}
	if cl, ok := auth.ClaimsFromContext(ctx); ok {
		attrs = append(attrs, slog.String("subject", cl.Subject), slog.String("token_id", cl.ID), slog.String("role", string(cl.Role)))
	}
	return attrs
}

// call records one call by an admin token and its outcome.
func (a *audit) call(ctx context.Context, method string, err error) {
	attrs := append(who(ctx), slog.String("event", auditAdminCall), slog.String("method", method),
		slog.String("outcome", status.Code(err).String()))
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.String("error", status.Convert(err).Message()))
		level = slog.LevelWarn
	}
	a.log.Log(ctx, level, "audit", attrs...)
}

// refused records a refused authentication, rate-limited.
func (a *audit) refused(ctx context.Context, method string, err error, claims *auth.Claims) {
	if !a.refusals.AllowN(a.now(), 1) {
		a.suppressed.Add(1)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := a.suppressed.Swap(0); n > 0 {
		a.log.Warn("audit", slog.String("event", auditRefusalsSuppressed), slog.Int64("count", n))
	}
	attrs := []any{slog.String("event", auditAuthRefused), slog.String("remote", remoteAddr(ctx)), slog.String("method", method),
		slog.String("outcome", status.Code(err).String()), slog.String("reason", status.Convert(err).Message())}
	if claims != nil {
		attrs = append(attrs, slog.String("subject", claims.Subject), slog.String("token_id", claims.ID), slog.String("role", string(claims.Role)))
	}
	a.log.Warn("audit", attrs...)
}

// renewed records a token renewal: the caller's token and the new one.
func (a *audit) renewed(ctx context.Context, nc auth.Claims) {
	attrs := append(who(ctx), slog.String("event", auditTokenRenewed), slog.String("new_token_id", nc.ID),
		slog.Time("expires", nc.ExpiresAt), slog.String("outcome", codes.OK.String()))
	a.log.Info("audit", attrs...)
}

// keys records a new key set: a rotation or a removed key.
func (a *audit) keys(ks, old *auth.KeySet) {
	kids := make([]string, 0, len(ks.Keys))
	for kid := range ks.Keys {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	a.log.Warn("audit", slog.String("event", auditKeySetChanged), slog.String("active_kid", ks.ActiveID),
		slog.String("previous_active_kid", old.ActiveID), slog.Any("kids", kids), slog.String("outcome", codes.OK.String()))
}

// registration records an executor's registration: a new one, a move to
// another URL, or a refused move.
func (a *audit) registration(ctx context.Context, x store.Executor, conflict *store.RegistrationConflict) {
	attrs := who(ctx)
	switch {
	case conflict != nil:
		attrs = append(attrs, slog.String("event", auditRegistrationRefused), slog.String("executor", conflict.ID),
			slog.String("name", conflict.Name), slog.String("state", string(conflict.State)),
			slog.String("ws_url", conflict.WSURL), slog.String("refused_ws_url", conflict.NewWSURL),
			slog.String("outcome", codes.FailedPrecondition.String()))
		a.log.Warn("audit", attrs...)
	case x.MovedFrom != "":
		attrs = append(attrs, slog.String("event", auditExecutorMoved), slog.String("executor", x.ID), slog.String("name", x.Name),
			slog.String("ws_url", x.WSURL), slog.String("previous_ws_url", x.MovedFrom), slog.String("outcome", codes.OK.String()))
		a.log.Warn("audit", attrs...)
	default:
		attrs = append(attrs, slog.String("event", auditExecutorRegistered), slog.String("executor", x.ID), slog.String("name", x.Name),
			slog.String("ws_url", x.WSURL), slog.String("outcome", codes.OK.String()))
		a.log.Info("audit", attrs...)
	}
}

// denyList is the set of revoked token ids, read from the store at start
// and on every reap, so that a revocation reaches every coordinator within
// a reap interval and survives restarts.
type denyList struct {
	ids atomic.Pointer[map[string]bool]
}

func (d *denyList) has(id string) bool {
	m := d.ids.Load()
	return m != nil && (*m)[id]
}

// load replaces the set with the store's unexpired revocations.
func (d *denyList) load(ctx context.Context, st revocationStore, now time.Time) error {
	rs, err := st.ListRevoked(ctx, now)
	if err != nil {
		return err
	}
	m := make(map[string]bool, len(rs))
	for _, r := range rs {
		m[r.ID] = true
	}
	d.ids.Store(&m)
	return nil
}
