package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
)

// Standard gRPC services a [Policy] can leave open.
const (
	// HealthService is the standard health checking service.
	HealthService = "grpc.health.v1.Health"
	// ReflectionService and ReflectionServiceV1Alpha are the server
	// reflection services used by grpcurl and similar tools.
	ReflectionService        = "grpc.reflection.v1.ServerReflection"
	ReflectionServiceV1Alpha = "grpc.reflection.v1alpha.ServerReflection"
)

// Policy says which roles may call which gRPC methods. A method with no rule
// is refused to everyone (PermissionDenied), so a new RPC is closed until it
// is listed.
type Policy struct {
	// Rules maps a full method name ("/rcc.v1.Coordinator/Join") or a whole
	// service ("/rcc.v1.Coordinator/" or "rcc.v1.Coordinator") to the roles
	// allowed to call it. A full method rule takes precedence over its
	// service's rule.
	Rules map[string][]Role
	// Public lists full methods or services callable without a token.
	Public []string
	// OpenHealth makes HealthService callable without a token, for load
	// balancers and orchestrators.
	OpenHealth bool
	// OpenReflection makes the reflection services callable without a token.
	OpenReflection bool
	// Trusted are the verifiers of identity providers the operator trusts
	// ([NewExternalVerifier]): a token whose "iss" is one of theirs is
	// checked by that verifier and carries the player role.
	Trusted []*Verifier
}

// Interceptor enforces a [Policy] on a gRPC server: it reads the
// "authorization: Bearer <JWT>" metadata of each call, verifies the role
// token, checks the role, and puts the [Claims] in the handler's context
// ([ClaimsFromContext]). Calls without a valid token fail with
// codes.Unauthenticated, calls with a role the policy does not allow with
// codes.PermissionDenied.
type Interceptor struct {
	verifier *Verifier
	external map[string]*Verifier // by issuer
	rules    map[string][]Role
	public   map[string]bool
}

// NewInterceptor returns an Interceptor checking tokens with v against p. It
// refuses a policy naming an unknown role or a malformed method.
func NewInterceptor(v *Verifier, p Policy) (*Interceptor, error) {
	if v == nil {
		return nil, errors.New("new interceptor: nil verifier")
	}
	i := &Interceptor{verifier: v, external: map[string]*Verifier{}, rules: make(map[string][]Role), public: make(map[string]bool)}
	for _, ext := range p.Trusted {
		if ext == nil || !ext.external {
			return nil, errors.New("new interceptor: a trusted issuer's verifier must come from NewExternalVerifier")
		}
		if ext.Issuer() == v.Issuer() {
			return nil, fmt.Errorf("new interceptor: trusted issuer %q is the coordinator's own", ext.Issuer())
		}
		i.external[ext.Issuer()] = ext
	}
	for pattern, roles := range p.Rules {
		key, err := normalizePattern(pattern)
		if err != nil {
			return nil, fmt.Errorf("new interceptor: %w", err)
		}
		if len(roles) == 0 {
			return nil, fmt.Errorf("new interceptor: rule %q allows no role", pattern)
		}
		for _, r := range roles {
			if !r.Valid() {
				return nil, fmt.Errorf("new interceptor: rule %q: %w: %q", pattern, ErrUnknownRole, r)
			}
		}
		i.rules[key] = slices.Clone(roles)
	}
	public := slices.Clone(p.Public)
	if p.OpenHealth {
		public = append(public, HealthService)
	}
	if p.OpenReflection {
		public = append(public, ReflectionService, ReflectionServiceV1Alpha)
	}
	for _, pattern := range public {
		key, err := normalizePattern(pattern)
		if err != nil {
			return nil, fmt.Errorf("new interceptor: %w", err)
		}
		i.public[key] = true
	}
	return i, nil
}

// normalizePattern turns "svc", "/svc/" or "/svc/Method" into the "/svc/" or
// "/svc/Method" form used as a map key.
func normalizePattern(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		if p == "" || strings.Contains(p, "/") {
			return "", fmt.Errorf("malformed method pattern %q", p)
		}
		return "/" + p + "/", nil
	}
	svc, method, ok := strings.Cut(p[1:], "/")
	if !ok || svc == "" || strings.Contains(method, "/") {
		return "", fmt.Errorf("malformed method pattern %q", p)
	}
	return p, nil
}

// serviceOf returns "/svc/" for "/svc/Method".
func serviceOf(fullMethod string) string {
	if i := strings.LastIndexByte(fullMethod, '/'); i > 0 {
		return fullMethod[:i+1]
	}
	return fullMethod
}

// ServerOptions returns the options installing the unary and stream
// interceptors, for grpc.NewServer.
func (i *Interceptor) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(i.Unary),
		grpc.ChainStreamInterceptor(i.Stream),
	}
}

// Unary is the grpc.UnaryServerInterceptor.
func (i *Interceptor) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := i.Authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is the grpc.StreamServerInterceptor.
func (i *Interceptor) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := i.Authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &claimsStream{ServerStream: ss, ctx: ctx})
}

// Authorize checks the call to fullMethod whose incoming metadata is in ctx
// and returns ctx with the verified claims, or a gRPC status error
// (Unauthenticated or PermissionDenied). Public methods pass unchecked.
func (i *Interceptor) Authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	service := serviceOf(fullMethod)
	if i.public[fullMethod] || i.public[service] {
		return ctx, nil
	}
	token, err := bearerFromMetadata(ctx)
	if err != nil {
		return nil, StatusError(codes.Unauthenticated, ReasonFor(err), err.Error())
	}
	// The issuer chooses the verifier: the coordinator's, or a trusted
	// identity provider's; any other is refused before anything else.
	v := i.verifier
	if iss, ok := unverifiedIssuer(token); ok && iss != v.Issuer() {
		ext, trusted := i.external[iss]
		if !trusted {
			err := fmt.Errorf("verify token: %w: %q", ErrWrongIssuer, iss)
			return nil, StatusError(codes.Unauthenticated, ReasonWrongIssuer, err.Error())
		}
		v = ext
	}
	claims, err := v.Verify(token)
	if err != nil {
		return nil, StatusError(codes.Unauthenticated, ReasonFor(err), err.Error())
	}
	roles, ok := i.rules[fullMethod]
	if !ok {
		roles = i.rules[service]
	}
	if !slices.Contains(roles, claims.Role) {
		return nil, StatusError(codes.PermissionDenied, ReasonRole, fmt.Sprintf("role %q may not call %s", claims.Role, fullMethod))
	}
	return ContextWithClaims(ctx, claims), nil
}

// unverifiedIssuer is the "iss" claim of token, read without any check, to
// choose the verifier that then checks everything.
func unverifiedIssuer(token string) (string, bool) {
	var rc jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &rc); err != nil {
		return "", false // the verifier says what is wrong with it
	}
	return rc.Issuer, true
}

// bearerFromMetadata returns the token of the single
// "authorization: Bearer <token>" entry of the incoming metadata.
func bearerFromMetadata(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	switch len(values) {
	case 0:
		return "", fmt.Errorf("%w: no authorization metadata", ErrMissingToken)
	case 1:
	default:
		return "", fmt.Errorf("%w: %d authorization entries", ErrMalformedToken, len(values))
	}
	return BearerToken(values[0])
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// value, the scheme in any case (RFC 9110 makes it case-insensitive), for
// gRPC metadata and HTTP headers alike.
func BearerToken(authorization string) (string, error) {
	if strings.TrimSpace(authorization) == "" {
		return "", fmt.Errorf("%w: no authorization", ErrMissingToken)
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: authorization is not \"Bearer <token>\"", ErrMalformedToken)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", fmt.Errorf("%w: empty bearer token", ErrMissingToken)
	}
	return token, nil
}

type claimsStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *claimsStream) Context() context.Context { return s.ctx }

type claimsKey struct{}

// ContextWithClaims returns ctx carrying c, as the [Interceptor] does; tests
// of handlers use it to fake an authenticated call.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the verified claims of the call, put there by
// the [Interceptor]. ok is false for public methods and outside a call.
func ClaimsFromContext(ctx context.Context) (c *Claims, ok bool) {
	c, ok = ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// BearerCredentials sends a role token as "authorization: Bearer <JWT>" on
// every call of a gRPC client connection (grpc.WithPerRPCCredentials).
//
// By default it does not require transport security, so rccctl can reach
// "rccd dev" on a loopback address over plain TCP. Anyone who can read the
// connection can reuse the token: across a network, use TLS and set
// RequireTLS, which makes gRPC refuse to send the token without it.
type BearerCredentials struct {
	// Token is the role token sent.
	Token Token
	// RequireTLS makes gRPC refuse to send the token on an insecure
	// connection.
	RequireTLS bool
}

var _ credentials.PerRPCCredentials = BearerCredentials{}

// LogValue implements [slog.LogValuer]: the token is logged as REDACTED.
func (b BearerCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("token", b.Token), slog.Bool("require_tls", b.RequireTLS))
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b BearerCredentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	if b.Token == "" {
		return nil, fmt.Errorf("bearer credentials: %w", ErrMissingToken)
	}
	return map[string]string{"authorization": "Bearer " + string(b.Token)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials; it
// returns RequireTLS, false by default (see [BearerCredentials]).
func (b BearerCredentials) RequireTransportSecurity() bool { return b.RequireTLS }
