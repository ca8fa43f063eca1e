package coordinator_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// idp is an identity provider: an RSA and a P-256 key, its JWKS served
// over HTTP.
type idp struct {
	issuer string
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	srv    *httptest.Server
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{rsa: rk, ec: ek}
	b64 := base64.RawURLEncoding.EncodeToString
	pad := func(n *big.Int) string { b := make([]byte, 32); return b64(n.FillBytes(b)) }
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": pad(ek.X), "y": pad(ek.Y)},
	}})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(jwks) }))
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL
	return p
}

// token signs claims with the IdP's RSA key (or EC with ec).
func (p *idp) token(t *testing.T, ec bool, claims jwt.MapClaims) string {
	t.Helper()
	method, key, kid := jwt.SigningMethod(jwt.SigningMethodRS256), any(p.rsa), "rsa-1"
	if ec {
		method, key, kid = jwt.SigningMethodES256, p.ec, "ec-1"
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (p *idp) claims(sub, aud string, exp time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": p.issuer, "sub": sub, "aud": aud, "exp": exp.Unix(), "iat": time.Now().Unix()}
}

// TestTokenRefusalReasons: every kind of bad token is refused with its own
// code and ErrorInfo reason, for the coordinator's own tokens and for
// players signed in by an external identity provider (RS256 and ES256,
// issuer and audience checked).
func TestTokenRefusalReasons(t *testing.T) {
	p := newIDP(t)
	keys, err := auth.LoadJWKS(context.Background(), p.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := auth.NewExternalVerifier(keys, auth.Options{Issuer: p.issuer, Audience: "rcc-players"})
	if err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t)
	e := start(t, sqliteStore(t), is, func(cfg *coordinator.Config) { cfg.TrustedIssuers = []*auth.Verifier{ext} })
	e.deploy("arena")
	e.executor("ex-a", 0)
	ctx := context.Background()

	ours := is.PublicKey()
	_, otherKey, _ := ed25519.GenerateKey(nil)
	forger := auth.NewKeySetIssuer(mustForgedKeySet(t, ours, otherKey), auth.Options{})
	forged, _, _ := forger.RoleToken(auth.RoleAdmin, "mallory", time.Hour)
	expired, _, _ := mustIssuer(t, e, auth.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}).RoleToken(auth.RoleAdmin, "x", time.Hour)
	stranger, _ := auth.NewIssuer(otherKey, auth.Options{})
	wrongKid, _, _ := stranger.RoleToken(auth.RoleAdmin, "x", time.Hour)
	wrongIss, _, _ := mustIssuer(t, e, auth.Options{Issuer: "someone-else"}).RoleToken(auth.RoleAdmin, "x", time.Hour)
	wrongAud, _, _ := mustIssuer(t, e, auth.Options{Audience: "elsewhere"}).RoleToken(auth.RoleAdmin, "x", time.Hour)
	player, _, _ := is.RoleToken(auth.RolePlayer, "alice", time.Hour)
	hour := time.Now().Add(time.Hour)

	listGames := func(c *client.Client) error { return listGames(c) }
	join := func(as string) func(c *client.Client) error {
		return func(c *client.Client) error {
			_, err := c.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: as})
			return err
		}
	}
	for _, tc := range []struct {
		name   string
		token  string
		call   func(*client.Client) error
		code   codes.Code
		reason string
	}{
		{"forged", string(forged), listGames, codes.Unauthenticated, auth.ReasonForged},
		{"expired", string(expired), listGames, codes.Unauthenticated, auth.ReasonExpired},
		{"wrong kid", string(wrongKid), listGames, codes.Unauthenticated, auth.ReasonUnknownKey},
		{"wrong issuer", string(wrongIss), listGames, codes.Unauthenticated, auth.ReasonWrongIssuer},
		{"wrong audience", string(wrongAud), listGames, codes.Unauthenticated, auth.ReasonWrongAud},
		{"other subject", string(player), join("bob"), codes.PermissionDenied, auth.ReasonOtherSubject},
		{"player lists games", string(player), listGames, codes.PermissionDenied, auth.ReasonRole},
		{"player joins as itself", string(player), join(""), codes.OK, ""},

		{"idp RS256 joins", p.token(t, false, p.claims("idp|carol", "rcc-players", hour)), join(""), codes.OK, ""},
		{"idp ES256 joins", p.token(t, true, p.claims("idp|dave", "rcc-players", hour)), join("idp|dave"), codes.OK, ""},
		{"idp other subject", p.token(t, false, p.claims("idp|carol", "rcc-players", hour)), join("bob"), codes.PermissionDenied, auth.ReasonOtherSubject},
		{"idp wrong audience", p.token(t, false, p.claims("idp|carol", "another-app", hour)), join(""), codes.Unauthenticated, auth.ReasonWrongAud},
		{"idp expired", p.token(t, false, p.claims("idp|carol", "rcc-players", time.Now().Add(-time.Hour))), join(""), codes.Unauthenticated, auth.ReasonExpired},
		{"idp claims admin", p.token(t, false, func() jwt.MapClaims {
			c := p.claims("idp|carol", "rcc-players", hour)
			c["role"], c["knd"] = "admin", "role"
			return c
		}()), listGames, codes.PermissionDenied, auth.ReasonRole},
		{"idp unknown kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, p.claims("idp|carol", "rcc-players", hour))
			tok.Header["kid"] = "rsa-2"
			s, _ := tok.SignedString(p.rsa)
			return s
		}(), join(""), codes.Unauthenticated, auth.ReasonUnknownKey},
		{"idp issuer not trusted", func() string {
			c := p.claims("idp|carol", "rcc-players", hour)
			c["iss"] = "https://evil.example"
			return p.token(t, false, c)
		}(), join(""), codes.Unauthenticated, auth.ReasonWrongIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.Dial(e.addr, client.Token(tc.token))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = tc.call(c)
			if code(err) != tc.code || auth.RefusalReason(err) != tc.reason {
				t.Fatalf("%v (reason %q), want %v %q", err, auth.RefusalReason(err), tc.code, tc.reason)
			}
		})
	}
}

// mustForgedKeySet is a key set signing with key under the kid of ours.
func mustForgedKeySet(t *testing.T, ours ed25519.PublicKey, key ed25519.PrivateKey) *auth.KeySet {
	t.Helper()
	ks, err := auth.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	ks.ActiveID = auth.KeyID(ours)
	return ks
}
