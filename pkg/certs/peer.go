package certs

import (
	"context"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// VerifiedPeer returns the names (common name, then DNS names) of the
// client certificate of the gRPC call in ctx when the server verified it
// against its ClientCA; ok is false when the call came without one.
func VerifiedPeer(ctx context.Context) (names []string, ok bool) {
	p, found := peer.FromContext(ctx)
	if !found {
		return nil, false
	}
	ti, isTLS := p.AuthInfo.(credentials.TLSInfo)
	if !isTLS || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return nil, false
	}
	leaf := ti.State.VerifiedChains[0][0]
	return append([]string{leaf.Subject.CommonName}, leaf.DNSNames...), true
}
