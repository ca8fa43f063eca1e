package coordinator

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/certs"
)

// ExecutorCertificates are server options (for ServeConfig.ServerOptions,
// on a server whose TLS configuration verifies client certificates) that
// make every call made with an executor token show a verified client
// certificate naming the token's subject (its common name or a DNS name):
// a stolen executor token is useless without the executor's key. Other
// roles need none.
func ExecutorCertificates() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := checkExecutorCert(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := checkExecutorCert(ss.Context()); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}

func checkExecutorCert(ctx context.Context) error {
	claims, ok := auth.ClaimsFromContext(ctx)
	if !ok || claims.Role != auth.RoleExecutor {
		return nil
	}
	names, ok := certs.VerifiedPeer(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "an executor must show a client certificate signed by the coordinator's client CA")
	}
	if !slices.Contains(names, claims.Subject) {
		return status.Errorf(codes.PermissionDenied, "the client certificate names %v, not executor %q", names, claims.Subject)
	}
	return nil
}
