package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// recordingHealth is a health service that records the claims each call saw.
type recordingHealth struct {
	healthpb.UnimplementedHealthServer
	mu     sync.Mutex
	claims []*Claims
}

func (h *recordingHealth) record(ctx context.Context) {
	c, _ := ClaimsFromContext(ctx)
	h.mu.Lock()
	h.claims = append(h.claims, c)
	h.mu.Unlock()
}

func (h *recordingHealth) last() *Claims {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.claims) == 0 {
		return nil
	}
	return h.claims[len(h.claims)-1]
}

func (h *recordingHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.record(ctx)
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (h *recordingHealth) Watch(_ *healthpb.HealthCheckRequest, ss grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	h.record(ss.Context())
	return ss.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
}

// startServer serves the recording health service and reflection behind an
// Interceptor with policy p on a loopback port and returns a client
// connection to it.
func startServer(t *testing.T, v *Verifier, p Policy) (*grpc.ClientConn, *recordingHealth) {
	t.Helper()
	ic, err := NewInterceptor(v, p)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ic.ServerOptions()...)
	h := &recordingHealth{}
	healthpb.RegisterHealthServer(srv, h)
	reflection.Register(srv)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("Serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, h
}

// callOptions presents tok as a bearer token, or nothing if tok is empty.
func callOptions(tok string) []grpc.CallOption {
	if tok == "" {
		return nil
	}
	return []grpc.CallOption{grpc.PerRPCCredentials(BearerCredentials{Token: Token(tok)})}
}

func callCheck(ctx context.Context, conn *grpc.ClientConn, tok string) error {
	_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, callOptions(tok)...)
	return err
}

func callWatch(ctx context.Context, conn *grpc.ClientConn, tok string) error {
	stream, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{}, callOptions(tok)...)
	if err != nil {
		return err
	}
	_, err = stream.Recv()
	return err
}

func callReflection(ctx context.Context, conn *grpc.ClientConn, tok string) error {
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx, callOptions(tok)...)
	if err != nil {
		return err
	}
	req := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}
	// Send reports io.EOF when the server has already refused the call; the
	// status then comes from Recv.
	if err := stream.Send(req); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	_, err = stream.Recv()
	return err
}

func TestInterceptor(t *testing.T) {
	f := newFixture(t)
	// The server's verifier uses the real clock, so tokens are issued now.
	ver, err := NewVerifier(f.issuer.PublicKey(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	iss := f.issuerAt(t, now, Options{})
	admin := roleToken(t, iss, RoleAdmin, time.Hour)
	executor := roleToken(t, iss, RoleExecutor, time.Hour)
	expired := roleToken(t, f.issuerAt(t, now.Add(-2*time.Hour), Options{}), RoleAdmin, time.Hour)
	otherKey, err := NewIssuer(testKey(9), Options{Now: fixedClock(now)})
	if err != nil {
		t.Fatal(err)
	}
	forged := roleToken(t, otherKey, RoleAdmin, time.Hour)
	otherAudience := roleToken(t, f.issuerAt(t, now, Options{Audience: "other"}), RoleAdmin, time.Hour)
	joinTicket := ticket(t, iss, defaultTicket)

	conn, health := startServer(t, ver, Policy{Rules: map[string][]Role{
		"/grpc.health.v1.Health/Check": {RoleAdmin, RoleExecutor},
		"grpc.health.v1.Health":        {RoleAdmin}, // Watch: admin only
		// No rule for reflection: closed to everyone.
	}})

	tests := []struct {
		name string
		call func(context.Context, *grpc.ClientConn, string) error
		tok  string
		want codes.Code
		role Role // expected in the handler's context when OK
	}{
		{"unary admin", callCheck, admin, codes.OK, RoleAdmin},
		{"unary executor", callCheck, executor, codes.OK, RoleExecutor},
		{"unary missing token", callCheck, "", codes.Unauthenticated, ""},
		{"unary expired", callCheck, expired, codes.Unauthenticated, ""},
		{"unary forged", callCheck, forged, codes.Unauthenticated, ""},
		{"unary wrong audience", callCheck, otherAudience, codes.Unauthenticated, ""},
		{"unary join ticket", callCheck, joinTicket, codes.Unauthenticated, ""},
		{"unary garbage", callCheck, "not-a-jwt", codes.Unauthenticated, ""},
		{"stream admin", callWatch, admin, codes.OK, RoleAdmin},
		{"stream wrong role", callWatch, executor, codes.PermissionDenied, ""},
		{"stream missing token", callWatch, "", codes.Unauthenticated, ""},
		{"stream forged", callWatch, forged, codes.Unauthenticated, ""},
		{"unlisted service admin", callReflection, admin, codes.PermissionDenied, ""},
		{"unlisted service no token", callReflection, "", codes.Unauthenticated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			before := health.last()
			err := tt.call(ctx, conn, tt.tok)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if tt.want != codes.OK {
				if health.last() != before {
					t.Fatal("handler ran for a refused call")
				}
				return
			}
			c := health.last()
			if c == nil || c.Role != tt.role || c.Subject != "alice" {
				t.Fatalf("claims in handler = %+v, want role %q for alice", c, tt.role)
			}
		})
	}
}

func TestInterceptorMetadataForms(t *testing.T) {
	f := newFixture(t)
	ver, err := NewVerifier(f.issuer.PublicKey(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := roleToken(t, f.issuerAt(t, time.Now(), Options{}), RoleAdmin, time.Hour)
	conn, _ := startServer(t, ver, Policy{Rules: map[string][]Role{"grpc.health.v1.Health": {RoleAdmin}}})
	tests := []struct {
		name   string
		values []string
		want   codes.Code
	}{
		{"bearer", []string{"Bearer " + admin}, codes.OK},
		{"lowercase scheme", []string{"bearer " + admin}, codes.OK},
		{"basic scheme", []string{"Basic " + admin}, codes.Unauthenticated},
		{"no scheme", []string{admin}, codes.Unauthenticated},
		{"empty bearer", []string{"Bearer "}, codes.Unauthenticated},
		{"two tokens", []string{"Bearer " + admin, "Bearer " + admin}, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, v := range tt.values {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
			}
			if got := status.Code(callCheck(ctx, conn, "")); got != tt.want {
				t.Fatalf("code = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInterceptorOpenServices(t *testing.T) {
	f := newFixture(t)
	ver, err := NewVerifier(f.issuer.PublicKey(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, health := startServer(t, ver, Policy{OpenHealth: true, OpenReflection: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, call := range map[string]func(context.Context, *grpc.ClientConn, string) error{
		"health check": callCheck, "health watch": callWatch, "reflection": callReflection,
	} {
		if err := call(ctx, conn, ""); err != nil {
			t.Errorf("%s without a token: %v", name, err)
		}
	}
	if c := health.last(); c != nil {
		t.Errorf("open method saw claims %+v", c)
	}
}

func TestBearerCredentialsRequireTLS(t *testing.T) {
	f := newFixture(t)
	ver, err := NewVerifier(f.issuer.PublicKey(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := roleToken(t, f.issuerAt(t, time.Now(), Options{}), RoleAdmin, time.Hour)
	conn, health := startServer(t, ver, Policy{Rules: map[string][]Role{"grpc.health.v1.Health": {RoleAdmin}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	creds := BearerCredentials{Token: Token(admin), RequireTLS: true}
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.PerRPCCredentials(creds))
	if err == nil {
		t.Fatal("a RequireTLS token was sent on an insecure connection")
	}
	if health.last() != nil {
		t.Fatal("handler ran")
	}
	if _, err := (BearerCredentials{}).GetRequestMetadata(ctx); !errors.Is(err, ErrMissingToken) {
		t.Errorf("empty token: err = %v, want %v", err, ErrMissingToken)
	}
}

func TestNewInterceptorRefusesBadPolicies(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		p    Policy
	}{
		{"unknown role", Policy{Rules: map[string][]Role{"rcc.v1.Coordinator": {"root"}}}},
		{"no roles", Policy{Rules: map[string][]Role{"rcc.v1.Coordinator": {}}}},
		{"empty pattern", Policy{Rules: map[string][]Role{"": {RoleAdmin}}}},
		{"pattern without service", Policy{Rules: map[string][]Role{"/Join": {RoleAdmin}}}},
		{"pattern too deep", Policy{Rules: map[string][]Role{"/a/b/c": {RoleAdmin}}}},
		{"relative method", Policy{Rules: map[string][]Role{"rcc.v1.Coordinator/Join": {RoleAdmin}}}},
		{"bad public pattern", Policy{Public: []string{"//"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewInterceptor(f.verifier, tt.p); err == nil {
				t.Fatal("NewInterceptor accepted the policy")
			}
		})
	}
	if _, err := NewInterceptor(nil, Policy{}); err == nil {
		t.Error("NewInterceptor accepted a nil verifier")
	}
}

func TestAuthorizeRuleMatching(t *testing.T) {
	f := newFixture(t)
	ic, err := NewInterceptor(f.verifier, Policy{
		Rules: map[string][]Role{
			"/rcc.v1.Coordinator/":          {RoleAdmin},
			"/rcc.v1.Coordinator/Heartbeat": {RoleExecutor},
			"rcc.v1.Executor":               {RoleAdmin, RoleExecutor},
		},
		Public: []string{"/rcc.v1.Coordinator/Version"},
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := roleToken(t, f.issuer, RoleAdmin, time.Hour)
	executor := roleToken(t, f.issuer, RoleExecutor, time.Hour)
	tests := []struct {
		method, tok string
		want        codes.Code
	}{
		{"/rcc.v1.Coordinator/Join", admin, codes.OK},
		{"/rcc.v1.Coordinator/Join", executor, codes.PermissionDenied},
		{"/rcc.v1.Coordinator/Heartbeat", executor, codes.OK},
		{"/rcc.v1.Coordinator/Heartbeat", admin, codes.PermissionDenied}, // method rule wins
		{"/rcc.v1.Coordinator/Version", "", codes.OK},
		{"/rcc.v1.Executor/Stats", executor, codes.OK},
		{"/rcc.v1.Executor/Stats", admin, codes.OK},
		{"/rcc.v1.Other/Call", admin, codes.PermissionDenied},
		{"/rcc.v1.Other/Call", "", codes.Unauthenticated},
	}
	for _, tt := range tests {
		ctx := context.Background()
		if tt.tok != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+tt.tok))
		}
		_, err := ic.Authorize(ctx, tt.method)
		if got := status.Code(err); got != tt.want {
			t.Errorf("Authorize(%s) = %v (%v), want %v", tt.method, got, err, tt.want)
		}
	}
}
