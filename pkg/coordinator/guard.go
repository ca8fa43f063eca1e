package coordinator

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// The coordinator's transport limits (docs/operations.md, "Input
// limits"): what a caller may make the coordinator hold, above all one
// that has not authenticated.
const (
	// MaxRecvMessageBytes is the largest message the server reads at all
	// (gRPC's default): an upload chunk, an executor's log batch.
	MaxRecvMessageBytes = 4 << 20
	// MaxMessageBytes is the largest request message of the methods not
	// in methodLimits: a spawn at every input limit is under 100 KiB.
	MaxMessageBytes = 256 << 10
	// MaxHeaderBytes bounds a call's metadata (its token is some 500
	// bytes).
	MaxHeaderBytes = 64 << 10
	// MaxConcurrentStreams is how many calls one connection may have
	// open at once.
	MaxConcurrentStreams = 256
	// DefaultMaxConnections is how many connections the gRPC listener
	// holds at once (ServeConfig.MaxConnections); more wait to be
	// accepted.
	DefaultMaxConnections = 1024
	// ConnectionTimeout is how long a new connection has to finish its
	// HTTP/2 handshake.
	ConnectionTimeout = 10 * time.Second
	// KeepaliveMinTime is the shortest interval between a client's
	// keepalive pings; a client pinging more often is disconnected.
	KeepaliveMinTime = 10 * time.Second
	// MaxConnectionIdle closes a connection with no call for that long.
	MaxConnectionIdle = 10 * time.Minute
)

// methodLimits are the methods whose messages may be larger than
// MaxMessageBytes, each up to MaxRecvMessageBytes: the upload stream's
// chunks and the executors' reports.
var methodLimits = map[string]int{
	rccv1.GameService_UploadVersion_FullMethodName:              MaxRecvMessageBytes,
	rccv1.ExecutorService_AppendLogs_FullMethodName:             MaxRecvMessageBytes,
	rccv1.ExecutorService_Heartbeat_FullMethodName:              MaxRecvMessageBytes,
	rccv1.ExecutorService_SaveCheckpoint_FullMethodName:         MaxRecvMessageBytes,
	rccv1.ExecutorService_AppendCheckpointInputs_FullMethodName: MaxRecvMessageBytes,
}

// methodLimit is the largest request message of fullMethod.
func methodLimit(fullMethod string) int {
	if n, ok := methodLimits[fullMethod]; ok {
		return n
	}
	return MaxMessageBytes
}

// guardOptions are the server options that keep what a caller can make
// the coordinator hold small: the token checked in a tap handle, when a
// call's headers arrive and before any of its body is read (a refused
// call's body is never read); per-method message limits; caps on
// streams, headers, handshakes and keepalive pings.
func (a *authCache) guardOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InTapHandle(a.tap),
		grpc.MaxRecvMsgSize(MaxRecvMessageBytes),
		grpc.MaxHeaderListSize(MaxHeaderBytes),
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		grpc.ConnectionTimeout(ConnectionTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: MaxConnectionIdle, Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.ChainUnaryInterceptor(sizeUnary),
		grpc.ChainStreamInterceptor(sizeStream),
	}
}

// tap authorizes a call from its headers alone. It runs on the
// connection's reader before the call's messages are read; a refusal
// ends the call with its status. A success is remembered by the cache,
// so the interceptor that authorizes the call again does not verify the
// token twice.
func (a *authCache) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if _, err := a.authorize(metadata.NewIncomingContext(ctx, info.Header), info.FullMethodName); err != nil {
		return nil, err
	}
	return ctx, nil
}

// tooLarge is the error of a message over its method's limit.
func tooLarge(method string, n, limit int) error {
	return status.Errorf(codes.ResourceExhausted, "a %s message of %d bytes is over the method's limit of %d bytes", method, n, limit)
}

func sizeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if n, limit := proto.Size(m), methodLimit(info.FullMethod); n > limit {
			return nil, tooLarge(info.FullMethod, n, limit)
		}
	}
	return handler(ctx, req)
}

func sizeStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &sizedStream{ServerStream: ss, method: info.FullMethod, limit: methodLimit(info.FullMethod)})
}

// sizedStream refuses a received message over its method's limit.
type sizedStream struct {
	grpc.ServerStream
	method string
	limit  int
}

func (s *sizedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if pm, ok := m.(proto.Message); ok {
		if n := proto.Size(pm); n > s.limit {
			return tooLarge(s.method, n, s.limit)
		}
	}
	return nil
}
