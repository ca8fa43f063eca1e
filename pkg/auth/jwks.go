package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strings"
)

// ErrUnknownKey means the token's "kid" names no key the verifier knows,
// even after refreshing its key set: a key removed from the coordinator's
// key set, or one that was never ours.
var ErrUnknownKey = errors.New("unknown signing key id")

// KeyID returns the "kid" of an Ed25519 public key: its RFC 7638 JWK
// thumbprint (base64url SHA-256 of the canonical JWK), so the same key has
// the same id on every host without any registry.
func KeyID(pub ed25519.PublicKey) string {
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwk is one JSON Web Key (RFC 7517, RFC 8037 for OKP) as this package reads
// and writes them.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// MarshalJWKS encodes Ed25519 public keys, by kid, as a JSON Web Key Set.
func MarshalJWKS(keys map[string]ed25519.PublicKey) ([]byte, error) {
	set := jwkSet{Keys: []jwk{}}
	for kid, pub := range keys {
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("marshal jwks: key %s is %d bytes", kid, len(pub))
		}
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", Kid: kid, Use: "sig", Alg: "EdDSA",
			X: base64.RawURLEncoding.EncodeToString(pub)})
	}
	slices.SortFunc(set.Keys, func(a, b jwk) int { return strings.Compare(a.Kid, b.Kid) })
	return json.Marshal(set)
}

// ParseJWKS decodes a JSON Web Key Set: Ed25519 (OKP), RSA and EC P-256
// signing keys, by kid. Keys of other types, or meant for encryption, are
// skipped; a key without a kid is refused (tokens name their key).
func ParseJWKS(data []byte) (map[string]crypto.PublicKey, error) {
	var set jwkSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	out := map[string]crypto.PublicKey{}
	for i, k := range set.Keys {
		if k.Use == "enc" {
			continue
		}
		pub, err := k.public()
		if err != nil {
			return nil, fmt.Errorf("parse jwks: key %d (%q): %w", i, k.Kid, err)
		}
		if pub == nil {
			continue
		}
		if k.Kid == "" {
			return nil, fmt.Errorf("parse jwks: key %d has no kid", i)
		}
		out[k.Kid] = pub
	}
	return out, nil
}

func (k jwk) public() (crypto.PublicKey, error) {
	b64 := base64.RawURLEncoding.DecodeString
	switch k.Kty {
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, nil
		}
		x, err := b64(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 x")
		}
		return ed25519.PublicKey(x), nil
	case "RSA":
		n, err1 := b64(k.N)
		e, err2 := b64(k.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA n or e (at least 2048 bits)")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, nil
		}
		x, err1 := b64(k.X)
		y, err2 := b64(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("bad P-256 x or y")
		}
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("bad P-256 point: %w", err)
		}
		return pub, nil
	}
	return nil, nil
}

// maxJWKSBytes bounds a JWKS read from a file or a URL.
const maxJWKSBytes = 1 << 20

// LoadJWKS reads a JSON Web Key Set from location: an http:// or https://
// URL (fetched with hc, http.DefaultClient when nil, within ctx) or a file.
func LoadJWKS(ctx context.Context, location string, hc *http.Client) (map[string]crypto.PublicKey, error) {
	var data []byte
	if strings.HasPrefix(location, "https://") || strings.HasPrefix(location, "http://") {
		if hc == nil {
			hc = http.DefaultClient
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
		if err != nil {
			return nil, fmt.Errorf("load jwks: %w", err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("load jwks: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("load jwks: GET %s: %s", location, resp.Status)
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1)); err != nil {
			return nil, fmt.Errorf("load jwks: %w", err)
		}
	} else {
		var err error
		if data, err = os.ReadFile(location); err != nil {
			return nil, fmt.Errorf("load jwks: %w", err)
		}
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("load jwks %s: larger than %d bytes", location, maxJWKSBytes)
	}
	keys, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("load jwks %s: no signing key", location)
	}
	return keys, nil
}
