package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// fixture is an issuer and a verifier sharing a key, with clocks at t0.
type fixture struct {
	key      ed25519.PrivateKey
	issuer   *Issuer
	verifier *Verifier
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	key := testKey(1)
	iss, err := NewIssuer(key, Options{Now: fixedClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := NewVerifier(key.Public().(ed25519.PublicKey), Options{Now: fixedClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{key: key, issuer: iss, verifier: ver}
}

// issuerAt returns an issuer signing with f's key with its clock at now and
// opts otherwise.
func (f *fixture) issuerAt(t testing.TB, now time.Time, opts Options) *Issuer {
	t.Helper()
	opts.Now = fixedClock(now)
	iss, err := NewIssuer(f.key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func roleToken(t testing.TB, iss *Issuer, role Role, ttl time.Duration) string {
	t.Helper()
	tok, _, err := iss.RoleToken(role, "alice", ttl)
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

func ticket(t testing.TB, iss *Issuer, req TicketRequest) string {
	t.Helper()
	tok, _, err := iss.Ticket(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

var defaultTicket = TicketRequest{PlayerID: "p1", InstanceID: "i1", ExecutorID: "e1"}

// validClaims returns the claims of a valid admin role token at t0, as a map
// the hand-crafted tokens below can tamper with.
func validClaims() map[string]any {
	return map[string]any{
		"iss":  DefaultIssuer,
		"aud":  []string{DefaultAudience},
		"sub":  "alice",
		"jti":  "id-1",
		"iat":  t0.Unix(),
		"nbf":  t0.Unix(),
		"exp":  t0.Add(time.Hour).Unix(),
		"knd":  kindRole,
		"role": "admin",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

// signEd25519 signs claims with key as an EdDSA JWT.
func signEd25519(t testing.TB, key ed25519.PrivateKey, claims map[string]any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims(claims)).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// forger signs with another key while naming the fixture's key id in the
// "kid" header, as a forger who read our JWKS would.
func forger(f *fixture, now time.Time) *Issuer {
	ours := f.key.Public().(ed25519.PublicKey)
	ks := &KeySet{ActiveID: KeyID(ours), active: testKey(2), Keys: map[string]ed25519.PublicKey{KeyID(ours): ours}}
	return NewKeySetIssuer(ks, Options{Now: fixedClock(now)})
}

// rawJWT assembles a JWT from a header, claims and a signature function.
func rawJWT(t testing.TB, header, claims map[string]any, sign func(signingInput string) []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

func TestVerifyRefusals(t *testing.T) {
	f := newFixture(t)
	pub := f.key.Public().(ed25519.PublicKey)
	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  error
	}{
		{"empty", func(*testing.T) string { return "" }, ErrMissingToken},
		{"blank", func(*testing.T) string { return "  \t" }, ErrMissingToken},
		{"not a JWT", func(*testing.T) string { return "hello" }, ErrMalformedToken},
		{"bad base64", func(*testing.T) string { return "a.b.c" }, ErrMalformedToken},
		{"exp not a number", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "exp", "tomorrow"))
		}, ErrMalformedToken},
		{"expired", func(t *testing.T) string {
			return roleToken(t, f.issuerAt(t, t0.Add(-2*time.Hour), Options{}), RoleAdmin, time.Hour)
		}, ErrExpired},
		{"expired beyond leeway", func(t *testing.T) string {
			return roleToken(t, f.issuerAt(t, t0.Add(-time.Hour-DefaultLeeway-time.Second), Options{}), RoleAdmin, time.Hour)
		}, ErrExpired},
		{"issued in the future", func(t *testing.T) string {
			return roleToken(t, f.issuerAt(t, t0.Add(time.Hour), Options{}), RoleAdmin, time.Hour)
		}, ErrNotYetValid},
		{"not before in the future", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "nbf", t0.Add(time.Minute).Unix()))
		}, ErrNotYetValid},
		{"signed by another key", func(t *testing.T) string {
			other, err := NewIssuer(testKey(2), Options{Now: fixedClock(t0)})
			if err != nil {
				t.Fatal(err)
			}
			return roleToken(t, other, RoleAdmin, time.Hour)
		}, ErrUnknownKey},
		{"forged: another key under our kid", func(t *testing.T) string {
			return roleToken(t, forger(f, t0), RoleAdmin, time.Hour)
		}, ErrBadSignature},
		{"forged without a kid", func(t *testing.T) string {
			return signEd25519(t, testKey(2), validClaims())
		}, ErrBadSignature},
		{"forged and expired", func(t *testing.T) string {
			return roleToken(t, forger(f, t0.Add(-48*time.Hour)), RoleAdmin, time.Hour)
		}, ErrBadSignature},
		{"payload tampered", func(t *testing.T) string {
			tok := roleToken(t, f.issuer, RoleExecutor, time.Hour)
			parts := strings.Split(tok, ".")
			forged := strings.Split(signEd25519(t, testKey(3), validClaims()), ".")
			return parts[0] + "." + forged[1] + "." + parts[2]
		}, ErrBadSignature},
		{"signature truncated", func(t *testing.T) string {
			tok := roleToken(t, f.issuer, RoleAdmin, time.Hour)
			return tok[:len(tok)-4]
		}, ErrBadSignature},
		{"wrong audience", func(t *testing.T) string {
			return roleToken(t, f.issuerAt(t, t0, Options{Audience: "other"}), RoleAdmin, time.Hour)
		}, ErrWrongAudience},
		{"no audience", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "aud", nil))
		}, ErrWrongAudience},
		{"wrong issuer", func(t *testing.T) string {
			return roleToken(t, f.issuerAt(t, t0, Options{Issuer: "mallory"}), RoleAdmin, time.Hour)
		}, ErrWrongIssuer},
		{"no issuer", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "iss", nil))
		}, ErrWrongIssuer},
		{"alg none", func(t *testing.T) string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(validClaims())).
				SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, ErrUnsupportedAlgorithm},
		{"alg none with a signature", func(t *testing.T) string {
			return rawJWT(t, map[string]any{"alg": "none", "typ": "JWT"}, validClaims(),
				func(string) []byte { return []byte("x") })
		}, ErrUnsupportedAlgorithm},
		{"HS256 keyed with the public key", func(t *testing.T) string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(validClaims())).SignedString([]byte(pub))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, ErrUnsupportedAlgorithm},
		{"HS256 keyed with the PEM public key", func(t *testing.T) string {
			pemKey, err := MarshalPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			return rawJWT(t, map[string]any{"alg": "HS256", "typ": "JWT"}, validClaims(), func(in string) []byte {
				m := hmac.New(sha256.New, pemKey)
				m.Write([]byte(in))
				return m.Sum(nil)
			})
		}, ErrUnsupportedAlgorithm},
		{"unknown algorithm", func(t *testing.T) string {
			return rawJWT(t, map[string]any{"alg": "XS999", "typ": "JWT"}, validClaims(),
				func(string) []byte { return []byte("x") })
		}, ErrUnsupportedAlgorithm},
		{"no exp", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "exp", nil))
		}, ErrMissingClaim},
		{"no jti", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "jti", nil))
		}, ErrMissingClaim},
		{"no sub", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "sub", nil))
		}, ErrMissingClaim},
		{"no iat", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "iat", nil))
		}, ErrMissingClaim},
		{"unknown role", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "role", "root"))
		}, ErrUnknownRole},
		{"no kind", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "knd", nil))
		}, ErrNotRoleToken},
		{"join ticket", func(t *testing.T) string {
			return ticket(t, f.issuer, defaultTicket)
		}, ErrNotRoleToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := f.verifier.Verify(tt.token(t))
			t.Logf("refused: %v", err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: err = %v, want %v", err, tt.want)
			}
			if claims != nil {
				t.Fatalf("Verify returned claims %+v with error %v", claims, err)
			}
			// Each refusal is one sentinel, not several.
			for _, other := range allSentinels {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("err %v also matches %v", err, other)
				}
			}
		})
	}
}

var allSentinels = []error{
	ErrMissingToken, ErrMalformedToken, ErrUnsupportedAlgorithm, ErrBadSignature,
	ErrExpired, ErrNotYetValid, ErrWrongAudience, ErrWrongIssuer, ErrMissingClaim,
	ErrUnknownRole, ErrNotRoleToken, ErrNotTicket, ErrWrongExecutor, ErrWrongInstance,
	ErrTicketReused, ErrReuseGuardFull, ErrKeyPermissions,
}

func TestVerifyTicketRefusals(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name               string
		token              func(t *testing.T) string
		executor, instance string
		want               error
	}{
		{"empty", func(*testing.T) string { return "" }, "e1", "i1", ErrMissingToken},
		{"garbage", func(*testing.T) string { return "x.y" }, "e1", "i1", ErrMalformedToken},
		{"admin role token", func(t *testing.T) string {
			return roleToken(t, f.issuer, RoleAdmin, time.Hour)
		}, "e1", "i1", ErrNotTicket},
		{"executor role token", func(t *testing.T) string {
			return roleToken(t, f.issuer, RoleExecutor, time.Hour)
		}, "e1", "i1", ErrNotTicket},
		{"role token carrying ticket claims", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "iid", "i1", "eid", "e1"))
		}, "e1", "i1", ErrNotTicket},
		{"other executor", func(t *testing.T) string {
			return ticket(t, f.issuer, defaultTicket)
		}, "e2", "i1", ErrWrongExecutor},
		{"other instance", func(t *testing.T) string {
			return ticket(t, f.issuer, defaultTicket)
		}, "e1", "i2", ErrWrongInstance},
		{"no executor claim", func(t *testing.T) string {
			return signEd25519(t, f.key, with(validClaims(), "knd", kindTicket, "role", nil, "iid", "i1"))
		}, "e1", "i1", ErrMissingClaim},
		{"expired", func(t *testing.T) string {
			return ticket(t, f.issuerAt(t, t0.Add(-DefaultTicketTTL-DefaultLeeway-time.Second), Options{}), defaultTicket)
		}, "e1", "i1", ErrExpired},
		{"not yet valid", func(t *testing.T) string {
			return ticket(t, f.issuerAt(t, t0.Add(time.Minute), Options{}), defaultTicket)
		}, "e1", "i1", ErrNotYetValid},
		{"signed by another key", func(t *testing.T) string {
			other, err := NewIssuer(testKey(2), Options{Now: fixedClock(t0)})
			if err != nil {
				t.Fatal(err)
			}
			return ticket(t, other, defaultTicket)
		}, "e1", "i1", ErrUnknownKey},
		{"forged: another key under our kid", func(t *testing.T) string {
			return ticket(t, forger(f, t0), defaultTicket)
		}, "e1", "i1", ErrBadSignature},
		{"wrong audience", func(t *testing.T) string {
			return ticket(t, f.issuerAt(t, t0, Options{Audience: "elsewhere"}), defaultTicket)
		}, "e1", "i1", ErrWrongAudience},
		{"wrong issuer", func(t *testing.T) string {
			return ticket(t, f.issuerAt(t, t0, Options{Issuer: "elsewhere"}), defaultTicket)
		}, "e1", "i1", ErrWrongIssuer},
		{"alg none", func(t *testing.T) string {
			claims := with(validClaims(), "knd", kindTicket, "role", nil, "iid", "i1", "eid", "e1")
			return rawJWT(t, map[string]any{"alg": "none"}, claims, func(string) []byte { return nil })
		}, "e1", "i1", ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.verifier.VerifyTicket(tt.token(t), tt.executor, tt.instance)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyTicket: err = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Fatalf("VerifyTicket returned %+v with error %v", got, err)
			}
		})
	}
}

func TestVerifyTicketNeedsExpectations(t *testing.T) {
	f := newFixture(t)
	tok := ticket(t, f.issuer, defaultTicket)
	for _, ids := range [][2]string{{"", "i1"}, {"e1", ""}} {
		if _, err := f.verifier.VerifyTicket(tok, ids[0], ids[1]); err == nil {
			t.Errorf("VerifyTicket(executor %q, instance %q) accepted a ticket", ids[0], ids[1])
		}
	}
	// A refused check does not consume the ticket.
	if _, err := f.verifier.VerifyTicket(tok, "e1", "i1"); err != nil {
		t.Fatalf("VerifyTicket after refusals: %v", err)
	}
}

func TestRoleTokenRoundTrip(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		role    Role
		subject string
		ttl     time.Duration
		verifAt time.Time
	}{
		{"admin, long-lived", RoleAdmin, "operator", 365 * 24 * time.Hour, t0.Add(300 * 24 * time.Hour)},
		{"executor", RoleExecutor, "exec-7", time.Hour, t0.Add(59 * time.Minute)},
		{"expired within leeway", RoleExecutor, "exec-7", time.Hour, t0.Add(time.Hour + DefaultLeeway - time.Second)},
		{"issued slightly in the future", RoleAdmin, "ops", time.Hour, t0.Add(-DefaultLeeway + time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, issued, err := f.issuer.RoleToken(tt.role, tt.subject, tt.ttl)
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVerifier(f.issuer.PublicKey(), Options{Now: fixedClock(tt.verifAt)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(string(tok))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Claims{
				Issuer: DefaultIssuer, Audience: []string{DefaultAudience}, Subject: tt.subject,
				Role: tt.role, ID: issued.ID,
				IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(tt.ttl),
			}
			if !claimsEqual(*got, want) || !claimsEqual(issued, want) {
				t.Fatalf("claims:\n got    %+v\n issued %+v\n want   %+v", *got, issued, want)
			}
			if got.ID == "" {
				t.Fatal("empty jti")
			}
			// Role tokens are not single use.
			if _, err := v.Verify(string(tok)); err != nil {
				t.Fatalf("second Verify: %v", err)
			}
		})
	}
}

func claimsEqual(a, b Claims) bool {
	return a.Issuer == b.Issuer && strings.Join(a.Audience, ",") == strings.Join(b.Audience, ",") &&
		a.Subject == b.Subject && a.Role == b.Role && a.ID == b.ID &&
		a.IssuedAt.Equal(b.IssuedAt) && a.NotBefore.Equal(b.NotBefore) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func TestTicketRoundTripAndSingleUse(t *testing.T) {
	f := newFixture(t)
	tok, issued, err := f.issuer.Ticket(defaultTicket)
	if err != nil {
		t.Fatal(err)
	}
	if !issued.ExpiresAt.Equal(t0.Add(DefaultTicketTTL)) {
		t.Errorf("ticket expires at %v, want %v (default TTL)", issued.ExpiresAt, t0.Add(DefaultTicketTTL))
	}
	got, err := f.verifier.VerifyTicket(string(tok), "e1", "i1")
	if err != nil {
		t.Fatalf("first VerifyTicket: %v", err)
	}
	if got.PlayerID != "p1" || got.InstanceID != "i1" || got.ExecutorID != "e1" || got.ID != issued.ID || got.ID == "" {
		t.Errorf("ticket = %+v, issued %+v", got, issued)
	}
	if _, err := f.verifier.VerifyTicket(string(tok), "e1", "i1"); !errors.Is(err, ErrTicketReused) {
		t.Fatalf("second VerifyTicket: err = %v, want %v", err, ErrTicketReused)
	}
	// Another ticket for the same player is a new ticket.
	tok2 := ticket(t, f.issuer, defaultTicket)
	if _, err := f.verifier.VerifyTicket(tok2, "e1", "i1"); err != nil {
		t.Fatalf("second ticket: %v", err)
	}
}

func TestTicketForgottenAfterExpiry(t *testing.T) {
	f := newFixture(t)
	now := t0
	v, err := NewVerifier(f.issuer.PublicKey(), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok := ticket(t, f.issuer, TicketRequest{PlayerID: "p", InstanceID: "i1", ExecutorID: "e1", TTL: 10 * time.Second})
	if _, err := v.VerifyTicket(tok, "e1", "i1"); err != nil {
		t.Fatal(err)
	}
	if n := v.spent.Len(now); n != 1 {
		t.Fatalf("reuse guard holds %d tickets, want 1", n)
	}
	now = t0.Add(10*time.Second + DefaultLeeway)
	if n := v.spent.Len(now); n != 0 {
		t.Fatalf("reuse guard holds %d tickets after expiry, want 0", n)
	}
	if _, err := v.VerifyTicket(tok, "e1", "i1"); !errors.Is(err, ErrExpired) {
		t.Fatalf("VerifyTicket after expiry: err = %v, want %v", err, ErrExpired)
	}
}

func TestReuseGuard(t *testing.T) {
	g := NewReuseGuard(2)
	if err := g.Spend("a", t0.Add(time.Second), t0); err != nil {
		t.Fatal(err)
	}
	if err := g.Spend("b", t0.Add(time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	if err := g.Spend("a", t0.Add(time.Second), t0); !errors.Is(err, ErrTicketReused) {
		t.Fatalf("reuse: err = %v, want %v", err, ErrTicketReused)
	}
	if err := g.Spend("c", t0.Add(time.Minute), t0); !errors.Is(err, ErrReuseGuardFull) {
		t.Fatalf("full: err = %v, want %v", err, ErrReuseGuardFull)
	}
	// Once "a" expires its slot is free again.
	if err := g.Spend("c", t0.Add(time.Minute), t0.Add(time.Second)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := g.Len(t0.Add(time.Second)); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	if n := g.Len(t0.Add(time.Hour)); n != 0 {
		t.Fatalf("Len after all expired = %d, want 0", n)
	}
}

func TestReuseGuardConcurrent(t *testing.T) {
	f := newFixture(t)
	const workers, tickets = 8, 50
	toks := make([]string, tickets)
	for i := range toks {
		toks[i] = ticket(t, f.issuer, TicketRequest{PlayerID: fmt.Sprint("p", i), InstanceID: "i1", ExecutorID: "e1"})
	}
	// Every worker presents every ticket: each must be accepted exactly once.
	accepted := make([]int, tickets)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i, tok := range toks {
				_, err := f.verifier.VerifyTicket(tok, "e1", "i1")
				switch {
				case err == nil:
					mu.Lock()
					accepted[i]++
					mu.Unlock()
				case !errors.Is(err, ErrTicketReused):
					t.Errorf("ticket %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	for i, n := range accepted {
		if n != 1 {
			t.Errorf("ticket %d accepted %d times, want 1", i, n)
		}
	}
}

func TestIssuerRefusesBadRequests(t *testing.T) {
	f := newFixture(t)
	roleTests := []struct {
		name    string
		role    Role
		subject string
		ttl     time.Duration
	}{
		{"unknown role", "root", "alice", time.Hour},
		{"empty role", "", "alice", time.Hour},
		{"empty subject", RoleAdmin, "", time.Hour},
		{"zero ttl", RoleAdmin, "alice", 0},
		{"negative ttl", RoleAdmin, "alice", -time.Hour},
	}
	for _, tt := range roleTests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, _, err := f.issuer.RoleToken(tt.role, tt.subject, tt.ttl); err == nil {
				t.Fatalf("RoleToken issued %q", tok)
			}
		})
	}
	ticketTests := []struct {
		name string
		req  TicketRequest
	}{
		{"no player", TicketRequest{InstanceID: "i", ExecutorID: "e"}},
		{"no instance", TicketRequest{PlayerID: "p", ExecutorID: "e"}},
		{"no executor", TicketRequest{PlayerID: "p", InstanceID: "i"}},
		{"negative ttl", TicketRequest{PlayerID: "p", InstanceID: "i", ExecutorID: "e", TTL: -time.Second}},
		{"ttl too long", TicketRequest{PlayerID: "p", InstanceID: "i", ExecutorID: "e", TTL: MaxTicketTTL + time.Second}},
	}
	for _, tt := range ticketTests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, _, err := f.issuer.Ticket(tt.req); err == nil {
				t.Fatalf("Ticket issued %q", tok)
			}
		})
	}
	if _, err := NewIssuer(ed25519.PrivateKey("short"), Options{}); err == nil {
		t.Error("NewIssuer accepted a short key")
	}
	if _, err := NewVerifier(ed25519.PublicKey("short"), Options{}); err == nil {
		t.Error("NewVerifier accepted a short key")
	}
}

func TestParseRole(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Role
		wantErr error
	}{
		{"admin", RoleAdmin, nil},
		{"executor", RoleExecutor, nil},
		{"Admin", "", ErrUnknownRole},
		{"", "", ErrUnknownRole},
	} {
		got, err := ParseRole(tt.in)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestTokenIsRedacted(t *testing.T) {
	f := newFixture(t)
	tok, _, err := f.issuer.RoleToken(RoleAdmin, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("issued", "token", tok, "creds", BearerCredentials{Token: tok})
	outputs := map[string]string{
		"%s":   fmt.Sprintf("%s", tok),
		"%v":   fmt.Sprintf("%v", tok),
		"%#v":  fmt.Sprintf("%#v", tok),
		"%+v":  fmt.Sprintf("%+v", BearerCredentials{Token: tok}),
		"%#vc": fmt.Sprintf("%#v", BearerCredentials{Token: tok}),
		"slog": logged.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, string(tok)) || strings.Contains(out, strings.Split(string(tok), ".")[2]) {
			t.Errorf("%s output reveals the token: %s", name, out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s output lacks REDACTED: %s", name, out)
		}
	}
}
