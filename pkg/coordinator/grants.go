package coordinator

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// InputLogAccess issues a grant for one download of one instance's input
// log from its executor, so that an operator's admin token never reaches
// an executor (the host that runs untrusted code).
func (s *instanceService) InputLogAccess(ctx context.Context, req *rccv1.InputLogAccessRequest) (*rccv1.InputLogAccessResponse, error) {
	if req.Id == "" {
		return nil, invalid("input log access: instance id is empty")
	}
	in, err := s.st.GetInstance(ctx, req.Id)
	if err != nil {
		return nil, grpcError(err)
	}
	if !in.Record {
		return nil, status.Errorf(codes.FailedPrecondition, "instance %s does not record its input log (spawn it with --record)", in.ID)
	}
	if in.ExecutorID == "" || in.WSURL == "" {
		return nil, status.Errorf(codes.FailedPrecondition, "instance %s has no executor to fetch its input log from (state %s)",
			in.ID, in.State)
	}
	u, err := replayURL(in.WSURL, in.ID)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	tok, g, err := s.c.cfg.Issuer.Grant(auth.GrantRequest{Subject: callerName(ctx), Action: auth.ActionInputLog,
		InstanceID: in.ID, ExecutorID: in.ExecutorID})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &rccv1.InputLogAccessResponse{Url: u, Token: string(tok), ExpiresAt: tsOf(g.ExpiresAt)}, nil
}

// replayURL is the executor's GET /replays/{instance} for its player URL
// base (ws:// or wss://).
func replayURL(base, id string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse executor url: %w", err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("executor url %q: scheme must be ws or wss", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/replays/" + url.PathEscape(id)
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String(), nil
}

// RenewToken issues a new token for the caller's own subject and role, as
// long-lived as a new token of that role; the deny-list and the audit
// trail see both (the renewal is audited with the new token's id).
func (s *executorService) RenewToken(ctx context.Context, _ *rccv1.RenewTokenRequest) (*rccv1.RenewTokenResponse, error) {
	cl, ok := auth.ClaimsFromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "renew token: no token")
	}
	tok, nc, err := s.c.cfg.Issuer.RoleToken(cl.Role, cl.Subject, auth.DefaultTTL(cl.Role))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	s.c.audit.renewed(ctx, nc)
	return &rccv1.RenewTokenResponse{Token: string(tok), ExpiresAt: tsOf(nc.ExpiresAt)}, nil
}
