package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults used when the matching [Options] field is zero.
const (
	// DefaultIssuer is the "iss" claim of the tokens the coordinator signs.
	DefaultIssuer = "rcc-coordinator"
	// DefaultAudience is the "aud" claim tokens are signed for and checked
	// against.
	DefaultAudience = "rcc"
	// DefaultTicketTTL is how long a join ticket is valid.
	DefaultTicketTTL = 60 * time.Second
	// MaxTicketTTL is the longest lifetime a join ticket may be given; the
	// reuse guard remembers a spent ticket until it expires.
	MaxTicketTTL = 10 * time.Minute
	// DefaultLeeway is the clock skew tolerated between the signer and the
	// verifier when checking exp, nbf and iat.
	DefaultLeeway = 5 * time.Second
	// DefaultSpentCapacity is how many unexpired spent tickets a verifier
	// remembers at most.
	DefaultSpentCapacity = 100_000
)

// Options configure an [Issuer] and a [Verifier]; the two sides of a
// deployment must agree on Issuer and Audience. The zero value uses the
// defaults.
type Options struct {
	// Issuer is the "iss" claim; DefaultIssuer if empty.
	Issuer string
	// Audience is the "aud" claim; DefaultAudience if empty.
	Audience string
	// Leeway is the clock skew a Verifier tolerates; DefaultLeeway if zero,
	// none if negative. Issuers ignore it.
	Leeway time.Duration
	// SpentCapacity bounds the spent tickets a Verifier remembers (its
	// ReuseGuard); DefaultSpentCapacity if zero. Issuers ignore it.
	SpentCapacity int
	// Now is the clock; time.Now if nil. Tests set it.
	Now func() time.Time
	// Algorithms are the signing algorithms a Verifier accepts: EdDSA
	// (the coordinator's) if empty; an external identity provider's
	// verifier may allow RS256 and ES256 too. Issuers ignore it.
	Algorithms []string
}

func (o Options) withDefaults() Options {
	if o.Issuer == "" {
		o.Issuer = DefaultIssuer
	}
	if o.Audience == "" {
		o.Audience = DefaultAudience
	}
	switch {
	case o.Leeway == 0:
		o.Leeway = DefaultLeeway
	case o.Leeway < 0:
		o.Leeway = 0
	}
	if o.SpentCapacity <= 0 {
		o.SpentCapacity = DefaultSpentCapacity
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Algorithms) == 0 {
		o.Algorithms = []string{"EdDSA"}
	}
	return o
}

// Issuer signs role tokens and join tickets with the coordinator's private
// key. It is safe for concurrent use.
type Issuer struct {
	keys atomic.Pointer[KeySet]
	opts Options
}

// NewIssuer returns an Issuer signing with key.
func NewIssuer(key ed25519.PrivateKey, opts Options) (*Issuer, error) {
	ks, err := NewKeySet(key)
	if err != nil {
		return nil, fmt.Errorf("new issuer: %w", err)
	}
	return NewKeySetIssuer(ks, opts), nil
}

// NewKeySetIssuer returns an Issuer signing with the active key of ks,
// naming it in each token's "kid" header.
func NewKeySetIssuer(ks *KeySet, opts Options) *Issuer {
	i := &Issuer{opts: opts.withDefaults()}
	i.keys.Store(ks)
	return i
}

// SetKeySet makes the issuer sign with ks's active key from now on (a
// rotation, without a restart).
func (i *Issuer) SetKeySet(ks *KeySet) { i.keys.Store(ks) }

// KeySet returns the key set the issuer signs with.
func (i *Issuer) KeySet() *KeySet { return i.keys.Load() }

// PublicKey returns the public key that verifies the tokens this issuer
// signs now (its active key).
func (i *Issuer) PublicKey() ed25519.PublicKey {
	return i.keys.Load().Active().Public().(ed25519.PublicKey)
}

// RoleToken signs a token granting role to subject (an operator name, a tool,
// an executor id) for ttl. Admin tokens may be long-lived (months); there is
// no upper bound.
func (i *Issuer) RoleToken(role Role, subject string, ttl time.Duration) (Token, Claims, error) {
	if !role.Valid() {
		return "", Claims{}, fmt.Errorf("issue role token: %w: %q", ErrUnknownRole, role)
	}
	if subject == "" {
		return "", Claims{}, errors.New("issue role token: empty subject")
	}
	if ttl <= 0 {
		return "", Claims{}, fmt.Errorf("issue role token: ttl %v is not positive", ttl)
	}
	wc := i.registered(subject, ttl)
	wc.Kind = kindRole
	wc.Role = role
	tok, err := i.sign(wc)
	if err != nil {
		return "", Claims{}, fmt.Errorf("issue role token: %w", err)
	}
	return tok, claimsOf(wc), nil
}

// TicketRequest says whom a join ticket admits, where.
type TicketRequest struct {
	// PlayerID is the player the ticket admits.
	PlayerID string
	// InstanceID is the game instance the player joins.
	InstanceID string
	// ExecutorID is the executor running the instance, the only one that
	// accepts the ticket.
	ExecutorID string
	// TTL is how long the ticket is valid; DefaultTicketTTL if zero, at most
	// MaxTicketTTL.
	TTL time.Duration
}

// Ticket signs a single-use join ticket.
func (i *Issuer) Ticket(req TicketRequest) (Token, Ticket, error) {
	switch {
	case req.PlayerID == "":
		return "", Ticket{}, errors.New("issue ticket: empty player id")
	case req.InstanceID == "":
		return "", Ticket{}, errors.New("issue ticket: empty instance id")
	case req.ExecutorID == "":
		return "", Ticket{}, errors.New("issue ticket: empty executor id")
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultTicketTTL
	}
	if ttl < 0 || ttl > MaxTicketTTL {
		return "", Ticket{}, fmt.Errorf("issue ticket: ttl %v outside (0, %v]", ttl, MaxTicketTTL)
	}
	wc := i.registered(req.PlayerID, ttl)
	wc.Kind = kindTicket
	wc.Instance = req.InstanceID
	wc.Executor = req.ExecutorID
	tok, err := i.sign(wc)
	if err != nil {
		return "", Ticket{}, fmt.Errorf("issue ticket: %w", err)
	}
	return tok, ticketOf(wc), nil
}

func (i *Issuer) registered(subject string, ttl time.Duration) *wireClaims {
	now := i.opts.Now()
	return &wireClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    i.opts.Issuer,
		Subject:   subject,
		Audience:  jwt.ClaimStrings{i.opts.Audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        rand.Text(),
	}}
}

func (i *Issuer) sign(wc *wireClaims) (Token, error) {
	ks := i.keys.Load()
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, wc)
	t.Header["kid"] = ks.ActiveID
	s, err := t.SignedString(ks.Active())
	if err != nil {
		return "", err
	}
	return Token(s), nil
}

func claimsOf(wc *wireClaims) Claims {
	return Claims{
		Issuer:    wc.Issuer,
		Audience:  []string(wc.Audience),
		Subject:   wc.Subject,
		Role:      wc.Role,
		ID:        wc.ID,
		IssuedAt:  timeOf(wc.IssuedAt),
		NotBefore: timeOf(wc.NotBefore),
		ExpiresAt: timeOf(wc.ExpiresAt),
	}
}

func ticketOf(wc *wireClaims) Ticket {
	return Ticket{
		Issuer:     wc.Issuer,
		Audience:   []string(wc.Audience),
		PlayerID:   wc.Subject,
		InstanceID: wc.Instance,
		ExecutorID: wc.Executor,
		ID:         wc.ID,
		IssuedAt:   timeOf(wc.IssuedAt),
		NotBefore:  timeOf(wc.NotBefore),
		ExpiresAt:  timeOf(wc.ExpiresAt),
	}
}
