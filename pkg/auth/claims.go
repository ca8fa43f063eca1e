package auth

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a role token allows its bearer to do.
type Role string

const (
	// RoleAdmin is the role of operators and of rccctl.
	RoleAdmin Role = "admin"
	// RoleExecutor is the role of executor services.
	RoleExecutor Role = "executor"
	// RolePlayer is the role of a player's client: it may only join games,
	// as the player named by the token's subject.
	RolePlayer Role = "player"
)

// Valid reports whether r is one of the roles this package knows.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleExecutor || r == RolePlayer
}

// ParseRole returns the role named s, or an error wrapping [ErrUnknownRole].
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("%w: %q (want %q, %q or %q)", ErrUnknownRole, s, RoleAdmin, RoleExecutor, RolePlayer)
	}
	return r, nil
}

// The values of the "knd" claim, which tells role tokens from join tickets so
// that neither is ever accepted as the other.
const (
	kindRole   = "role"
	kindTicket = "ticket"
)

// Claims are the verified claims of a role token.
type Claims struct {
	// Issuer is the "iss" claim: who signed the token.
	Issuer string
	// Audience is the "aud" claim.
	Audience []string
	// Subject is the "sub" claim: the operator, tool or executor the token
	// was issued to.
	Subject string
	// Role is the "role" claim.
	Role Role
	// ID is the "jti" claim, unique per token.
	ID string
	// IssuedAt, NotBefore and ExpiresAt are the "iat", "nbf" and "exp" claims.
	IssuedAt, NotBefore, ExpiresAt time.Time
}

// Ticket is the verified content of a player join ticket.
type Ticket struct {
	// Issuer is the "iss" claim.
	Issuer string
	// Audience is the "aud" claim.
	Audience []string
	// PlayerID is the player the ticket admits (the "sub" claim).
	PlayerID string
	// InstanceID is the game instance the ticket admits the player to.
	InstanceID string
	// ExecutorID is the executor that must accept the ticket.
	ExecutorID string
	// ID is the "jti" claim; a ticket is accepted once per ID.
	ID string
	// IssuedAt, NotBefore and ExpiresAt are the "iat", "nbf" and "exp" claims.
	IssuedAt, NotBefore, ExpiresAt time.Time
}

// wireClaims is the JSON payload of every token this package signs.
type wireClaims struct {
	jwt.RegisteredClaims
	Kind     string `json:"knd"`
	Role     Role   `json:"role,omitempty"`
	Instance string `json:"iid,omitempty"`
	Executor string `json:"eid,omitempty"`
	Action   Action `json:"act,omitempty"`
}

func timeOf(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}

// Token is a signed JWT in its compact form. It prints and logs as REDACTED,
// so it is safe to pass to fmt and slog by accident; string(t) is the token
// itself, and so is its JSON encoding, for credential files.
type Token string

// String returns "REDACTED"; use string(t) for the token itself.
func (t Token) String() string { return "REDACTED" }

// GoString returns "REDACTED", so %#v does not reveal the token either.
func (t Token) GoString() string { return "REDACTED" }

// LogValue implements [slog.LogValuer]: the token is logged as REDACTED.
func (t Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// ParseUnverified reads the id, subject, role and expiry of a token WITHOUT
// checking its signature, for a revocation list that must name a token it
// may not be able to verify. Given a bare token id (no dots), it returns
// Claims with only ID set. Never use its result to authorize anything.
func ParseUnverified(tokenOrID string) (Claims, error) {
	s := strings.TrimSpace(tokenOrID)
	if s == "" {
		return Claims{}, fmt.Errorf("%w: empty token or token id", ErrMissingToken)
	}
	if !strings.Contains(s, ".") {
		return Claims{ID: s}, nil
	}
	var wc wireClaims
	if _, _, err := jwt.NewParser().ParseUnverified(s, &wc); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	if wc.ID == "" {
		return Claims{}, fmt.Errorf("%w: jti", ErrMissingClaim)
	}
	return claimsOf(&wc), nil
}
