package coordinator

import (
	"context"
	"crypto"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// JWKSPath is where the coordinator's HTTP server (ServeConfig.MetricsAddr)
// publishes its token verification keys as a JSON Web Key Set.
const JWKSPath = "/.well-known/jwks.json"

// keyWatch reloads the key set when its manifest changes and hands the new
// public keys to the verifiers of the coordinator's servers.
type keyWatch struct {
	mu        sync.Mutex
	modified  time.Time
	verifiers []*auth.Verifier
	caches    []*authCache
}

// add registers a server's verifier and the cache of its decisions,
// emptied on a change: a removed key's tokens must not stay accepted.
func (k *keyWatch) add(v *auth.Verifier, ac *authCache) {
	k.mu.Lock()
	k.verifiers = append(k.verifiers, v)
	k.caches = append(k.caches, ac)
	k.mu.Unlock()
}

// publicKeys are a key set's public keys as a verifier takes them.
func publicKeys(ks *auth.KeySet) map[string]crypto.PublicKey {
	out := make(map[string]crypto.PublicKey, len(ks.Keys))
	for kid, pub := range ks.Keys {
		out[kid] = pub
	}
	return out
}

// reloadKeys reads the key set of Config.KeyDir again when its manifest
// changed since the last read (or when a retired key's time has passed),
// and signs and verifies with it from then on.
func (c *Coordinator) reloadKeys() error {
	if c.cfg.KeyDir == "" {
		return nil
	}
	k := &c.keys
	fi, err := os.Stat(filepath.Join(c.cfg.KeyDir, auth.KeySetFileName))
	if err != nil {
		return nil // no rotation yet: the single key stays
	}
	now := c.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	expired := false
	for _, r := range c.cfg.Issuer.KeySet().Retired {
		expired = expired || !now.Before(r.RemoveAfter)
	}
	if fi.ModTime().Equal(k.modified) && !expired {
		return nil
	}
	ks, err := auth.LoadKeySet(c.cfg.KeyDir, now)
	if err != nil {
		return fmt.Errorf("reload the key set: %w", err)
	}
	old := c.cfg.Issuer.KeySet()
	c.cfg.Issuer.SetKeySet(ks)
	for _, v := range k.verifiers {
		v.SetKeys(publicKeys(ks))
	}
	for _, ac := range k.caches {
		ac.clear()
	}
	k.modified = fi.ModTime()
	if old.ActiveID != ks.ActiveID || len(old.Keys) != len(ks.Keys) {
		c.audit.keys(ks, old)
	}
	return nil
}

// ReloadKeys reads the key set again now rather than at the next reap.
func (c *Coordinator) ReloadKeys(context.Context) error { return c.reloadKeys() }

// PublicKeys returns the key set's public keys as a JWKS.
func (s *executorService) PublicKeys(ctx context.Context, _ *rccv1.PublicKeysRequest) (*rccv1.PublicKeysResponse, error) {
	b, err := s.c.cfg.Issuer.KeySet().JWKS()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &rccv1.PublicKeysResponse{Jwks: b}, nil
}

// serveJWKS serves the key set's public keys as a JWKS, for anyone who
// checks the coordinator's tokens over HTTP.
func (c *Coordinator) serveJWKS(w http.ResponseWriter, r *http.Request) {
	b, err := c.cfg.Issuer.KeySet().JWKS()
	if err != nil {
		http.Error(w, "key set unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write(b)
}
