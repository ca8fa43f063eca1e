package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Verifier checks role tokens and join tickets with the coordinator's public
// keys alone. It is safe for concurrent use.
type Verifier struct {
	keys    atomic.Pointer[map[string]crypto.PublicKey]
	opts    Options
	parser  *jwt.Parser
	spent   *ReuseGuard
	refresh *keyRefresher
	// external: the tokens are an identity provider's (see
	// NewExternalVerifier).
	external bool
}

// NewVerifier returns a Verifier for tokens signed by the private key
// matching pub, with the issuer and audience in opts.
func NewVerifier(pub ed25519.PublicKey, opts Options) (*Verifier, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("new verifier: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	return NewKeySetVerifier(map[string]crypto.PublicKey{KeyID(pub): slices.Clone(pub)}, opts)
}

// NewKeySetVerifier returns a Verifier for tokens signed by any of keys
// (by kid: Ed25519 keys, and RSA and P-256 keys when opts.Algorithms allow
// RS256 and ES256), with the issuer and audience in opts. A token's "kid"
// header chooses its key; a token without one (signed before key ids) is
// tried against every key.
func NewKeySetVerifier(keys map[string]crypto.PublicKey, opts Options) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, errors.New("new verifier: no key")
	}
	opts = opts.withDefaults()
	v := &Verifier{
		opts: opts,
		parser: jwt.NewParser(
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(opts.Leeway),
			jwt.WithTimeFunc(opts.Now),
		),
		spent: NewReuseGuard(opts.SpentCapacity),
	}
	v.SetKeys(keys)
	return v, nil
}

// SetKeys replaces the verifier's keys (a rotation, or a refreshed JWKS).
func (v *Verifier) SetKeys(keys map[string]crypto.PublicKey) {
	m := maps.Clone(keys)
	v.keys.Store(&m)
}

// RefreshOnUnknownKey makes the verifier call fetch for a fresh key set
// when a token names a kid it does not know, at most once per minInterval
// (a burst of forged kids costs one fetch per interval), then check the
// token against the new set.
func (v *Verifier) RefreshOnUnknownKey(minInterval time.Duration, fetch func() (map[string]crypto.PublicKey, error)) {
	v.refresh = &keyRefresher{fetch: fetch, limit: rate.NewLimiter(rate.Every(minInterval), 1), now: v.opts.Now}
}

// keyRefresher fetches a new key set, rate-limited.
type keyRefresher struct {
	mu    sync.Mutex
	fetch func() (map[string]crypto.PublicKey, error)
	limit *rate.Limiter
	now   func() time.Time
}

// lookup returns the key named kid, refreshing the set once when it is
// unknown and the rate limit allows.
func (v *Verifier) lookup(kid string) (crypto.PublicKey, bool) {
	if k, ok := (*v.keys.Load())[kid]; ok {
		return k, true
	}
	r := v.refresh
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := (*v.keys.Load())[kid]; ok { // refreshed meanwhile
		return k, true
	}
	if !r.limit.AllowN(r.now(), 1) {
		return nil, false
	}
	keys, err := r.fetch()
	if err != nil {
		return nil, false
	}
	v.SetKeys(keys)
	k, ok := keys[kid]
	return k, ok
}

// Verify checks a role token and returns its claims. Join tickets are
// refused with [ErrNotRoleToken]; see the sentinel errors for the other
// refusals.
func (v *Verifier) Verify(token string) (*Claims, error) {
	wc, err := v.parse(token)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if v.external {
		// Whatever roles an identity provider writes, its users are
		// players, known by their subject.
		c := claimsOf(wc)
		c.Role = RolePlayer
		return &c, nil
	}
	if wc.Kind != kindRole {
		return nil, fmt.Errorf("verify token: %w", ErrNotRoleToken)
	}
	if !wc.Role.Valid() {
		return nil, fmt.Errorf("verify token: %w: %q", ErrUnknownRole, wc.Role)
	}
	c := claimsOf(wc)
	return &c, nil
}

// VerifyTicket checks a join ticket presented to executor executorID for
// instance instanceID, and marks it used: a second presentation of the same
// ticket is refused with [ErrTicketReused] until it expires, after which it
// is refused as expired. Role tokens are refused with [ErrNotTicket].
func (v *Verifier) VerifyTicket(token, executorID, instanceID string) (*Ticket, error) {
	if executorID == "" || instanceID == "" {
		return nil, errors.New("verify ticket: empty executor or instance id to check against")
	}
	wc, err := v.parse(token)
	if err != nil {
		return nil, fmt.Errorf("verify ticket: %w", err)
	}
	if wc.Kind != kindTicket {
		return nil, fmt.Errorf("verify ticket: %w", ErrNotTicket)
	}
	// A presented ticket is spent whatever the refusal below
	// (docs/protocol.md): one sent to the wrong executor or instance cannot
	// be tried again elsewhere. The parser accepts a ticket until
	// exp+leeway, so remember it that long.
	forgetAfter := wc.ExpiresAt.Add(v.opts.Leeway)
	if err := v.spent.Spend(wc.ID, forgetAfter, v.opts.Now()); err != nil {
		return nil, fmt.Errorf("verify ticket: %w", err)
	}
	switch {
	case wc.Executor == "" || wc.Instance == "":
		return nil, fmt.Errorf("verify ticket: %w: executor or instance id", ErrMissingClaim)
	case wc.Executor != executorID:
		return nil, fmt.Errorf("verify ticket: %w: issued for %q", ErrWrongExecutor, wc.Executor)
	case wc.Instance != instanceID:
		return nil, fmt.Errorf("verify ticket: %w: issued for %q", ErrWrongInstance, wc.Instance)
	}
	t := ticketOf(wc)
	return &t, nil
}

// parse verifies the signature, the times, the issuer and the audience of
// token and the presence of the claims every RCC token carries.
func (v *Verifier) parse(token string) (*wireClaims, error) {
	if strings.TrimSpace(token) == "" {
		return nil, ErrMissingToken
	}
	var wc wireClaims
	if _, err := v.parser.ParseWithClaims(token, &wc, v.key); err != nil {
		return nil, translate(err)
	}
	switch {
	case wc.Issuer != v.opts.Issuer:
		return nil, fmt.Errorf("%w: %q", ErrWrongIssuer, wc.Issuer)
	case !slices.Contains(wc.Audience, v.opts.Audience):
		return nil, fmt.Errorf("%w: %q", ErrWrongAudience, []string(wc.Audience))
	case wc.Subject == "":
		return nil, fmt.Errorf("%w: sub", ErrMissingClaim)
	case v.external: // an identity provider's jti and iat are optional
	case wc.ID == "":
		return nil, fmt.Errorf("%w: jti", ErrMissingClaim)
	case wc.IssuedAt == nil:
		return nil, fmt.Errorf("%w: iat", ErrMissingClaim)
	}
	return &wc, nil
}

// ExternalAlgorithms are the signing algorithms accepted from an identity
// provider: OIDC's RS256, ES256 and EdDSA.
var ExternalAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// NewExternalVerifier returns a Verifier for the tokens of an identity
// provider the operator trusts (OIDC ID or access tokens): signed by one
// of keys (its JWKS) with RS256, ES256 or EdDSA, issued by opts.Issuer for
// opts.Audience, both required. Verify returns their claims with the
// player role and the provider's subject, whatever other claims they
// carry; Issuer and Audience are compared exactly.
func NewExternalVerifier(keys map[string]crypto.PublicKey, opts Options) (*Verifier, error) {
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("new external verifier: issuer and audience are required")
	}
	opts.Algorithms = ExternalAlgorithms
	v, err := NewKeySetVerifier(keys, opts)
	if err != nil {
		return nil, fmt.Errorf("new external verifier: %w", err)
	}
	v.external = true
	return v, nil
}

// Issuer returns the "iss" the verifier accepts.
func (v *Verifier) Issuer() string { return v.opts.Issuer }

// key is the jwt.Keyfunc: only the algorithms of Options.Algorithms (EdDSA
// by default) are accepted, which refuses "none" and the
// HS256-keyed-with-the-public-key confusion before any check runs, and the
// key the "kid" names must be of the algorithm's type.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	if !slices.Contains(v.opts.Algorithms, alg) {
		return nil, &algorithmError{alg: alg}
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		var set jwt.VerificationKeySet
		for _, k := range *v.keys.Load() {
			if keyFits(alg, k) {
				set.Keys = append(set.Keys, k)
			}
		}
		return set, nil
	}
	k, ok := v.lookup(kid)
	if !ok {
		return nil, &unknownKeyError{kid: kid}
	}
	if !keyFits(alg, k) {
		return nil, &algorithmError{alg: alg}
	}
	return k, nil
}

// keyFits reports whether k is a key of algorithm alg.
func keyFits(alg string, k crypto.PublicKey) bool {
	switch k.(type) {
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case *rsa.PublicKey:
		return alg == "RS256"
	case *ecdsa.PublicKey:
		return alg == "ES256"
	}
	return false
}

// unknownKeyError is the keyfunc's refusal of a kid it does not know.
type unknownKeyError struct{ kid string }

func (e *unknownKeyError) Error() string { return fmt.Sprintf("%v: %q", ErrUnknownKey, e.kid) }

func (e *unknownKeyError) Unwrap() error { return ErrUnknownKey }

// algorithmError is the keyfunc's refusal of a signing algorithm.
type algorithmError struct{ alg string }

func (e *algorithmError) Error() string {
	return fmt.Sprintf("%v: %q", ErrUnsupportedAlgorithm, e.alg)
}

func (e *algorithmError) Unwrap() error { return ErrUnsupportedAlgorithm }

// translate maps a jwt error to this package's sentinels, most fundamental
// first (a forged expired token is reported as forged).
func translate(err error) error {
	var algErr *algorithmError
	var kidErr *unknownKeyError
	switch {
	case errors.As(err, &algErr):
		return algErr
	case errors.As(err, &kidErr):
		return kidErr
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The "alg" header names an algorithm the JWT library does not know.
		return fmt.Errorf("%w: unknown \"alg\"", ErrUnsupportedAlgorithm)
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrInvalidType):
		return fmt.Errorf("%w: %v", ErrMalformedToken, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		// The parser requires only exp; the other claims are checked in parse.
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	default:
		return fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
}
