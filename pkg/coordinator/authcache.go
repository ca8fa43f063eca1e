package coordinator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/rcc-games/rcc/pkg/auth"
)

// authCache remembers the auth interceptor's successful decisions, so the
// same token calling the same method again is not verified again (an
// Ed25519 verification costs about as much CPU as a Join) until the token
// expires or a minute passes. Refusals are never cached.
//
// Every decision, cached or not, is then checked against the deny-list of
// revoked tokens, refusals are written to the audit trail, and so is every
// call made with an admin token, with its outcome.
type authCache struct {
	ic     *auth.Interceptor
	now    func() time.Time
	denied *denyList
	audit  *audit
	mu     sync.Mutex
	m      map[authKey]authEntry
}

type authKey struct{ authorization, method string }

type authEntry struct {
	claims *auth.Claims
	until  time.Time
}

// authCacheSize bounds the cache; it is emptied when full.
const authCacheSize = 10000

func newAuthCache(ic *auth.Interceptor, now func() time.Time, denied *denyList, au *audit) *authCache {
	return &authCache{ic: ic, now: now, denied: denied, audit: au, m: map[authKey]authEntry{}}
}

// clear forgets every cached decision.
func (a *authCache) clear() {
	a.mu.Lock()
	clear(a.m)
	a.mu.Unlock()
}

// authorize is the decision of the call to method: the context with the
// verified claims, or the refusal, audited.
func (a *authCache) authorize(ctx context.Context, method string) (context.Context, error) {
	out, err := a.decide(ctx, method)
	if err != nil {
		a.audit.refused(ctx, method, err, nil)
		return nil, err
	}
	if cl, ok := auth.ClaimsFromContext(out); ok && a.denied.has(cl.ID) {
		err := auth.StatusError(codes.Unauthenticated, auth.ReasonRevoked, fmt.Sprintf("%v: id %s", auth.ErrRevoked, cl.ID))
		a.audit.refused(ctx, method, err, cl)
		return nil, err
	}
	return out, nil
}

// isAdmin reports whether the call's token is an admin token.
func isAdmin(ctx context.Context) bool {
	cl, ok := auth.ClaimsFromContext(ctx)
	return ok && cl.Role == auth.RoleAdmin
}

func (a *authCache) decide(ctx context.Context, method string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) != 1 {
		return a.ic.Authorize(ctx, method)
	}
	key := authKey{values[0], method}
	now := a.now()
	a.mu.Lock()
	e, ok := a.m[key]
	a.mu.Unlock()
	if ok && now.Before(e.until) {
		return auth.ContextWithClaims(ctx, e.claims), nil
	}
	out, err := a.ic.Authorize(ctx, method)
	if err != nil {
		return nil, err
	}
	if claims, ok := auth.ClaimsFromContext(out); ok {
		until := now.Add(time.Minute)
		if claims.ExpiresAt.Before(until) {
			until = claims.ExpiresAt
		}
		a.mu.Lock()
		if len(a.m) >= authCacheSize {
			clear(a.m)
		}
		a.m[key] = authEntry{claims: claims, until: until}
		a.mu.Unlock()
	}
	return out, nil
}

func (a *authCache) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	resp, err := handler(ctx, req)
	if isAdmin(ctx) {
		a.audit.call(ctx, info.FullMethod, err)
	}
	return resp, err
}

func (a *authCache) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	err = handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	if isAdmin(ctx) {
		a.audit.call(ctx, info.FullMethod, err)
	}
	return err
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
