package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Verifier checks role tokens and join tickets with the coordinator's public
// key alone. It is safe for concurrent use.
type Verifier struct {
	pub    ed25519.PublicKey
	opts   Options
	parser *jwt.Parser
	spent  *ReuseGuard
}

// NewVerifier returns a Verifier for tokens signed by the private key
// matching pub, with the issuer and audience in opts.
func NewVerifier(pub ed25519.PublicKey, opts Options) (*Verifier, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("new verifier: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	opts = opts.withDefaults()
	return &Verifier{
		pub:  slices.Clone(pub),
		opts: opts,
		parser: jwt.NewParser(
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(opts.Leeway),
			jwt.WithTimeFunc(opts.Now),
		),
		spent: NewReuseGuard(opts.SpentCapacity),
	}, nil
}

// Verify checks a role token and returns its claims. Join tickets are
// refused with [ErrNotRoleToken]; see the sentinel errors for the other
// refusals.
func (v *Verifier) Verify(token string) (*Claims, error) {
	wc, err := v.parse(token)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
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
	case wc.ID == "":
		return nil, fmt.Errorf("%w: jti", ErrMissingClaim)
	case wc.IssuedAt == nil:
		return nil, fmt.Errorf("%w: iat", ErrMissingClaim)
	}
	return &wc, nil
}

// key is the jwt.Keyfunc: only EdDSA is accepted, which refuses "none" and
// the HS256-keyed-with-the-public-key confusion before any check runs.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
		return nil, &algorithmError{alg: t.Method.Alg()}
	}
	return v.pub, nil
}

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
	switch {
	case errors.As(err, &algErr):
		return algErr
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
