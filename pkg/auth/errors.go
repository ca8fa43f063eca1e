package auth

import "errors"

// Sentinel errors returned, wrapped, by [Verifier], [Interceptor] and the key
// functions. Compare with errors.Is.
var (
	// ErrMissingToken means no token was presented.
	ErrMissingToken = errors.New("missing token")
	// ErrMalformedToken means the token is not a well-formed JWT.
	ErrMalformedToken = errors.New("malformed token")
	// ErrUnsupportedAlgorithm means the token is not signed with EdDSA
	// (Ed25519): "alg": "none", HS256 and every other algorithm are refused.
	ErrUnsupportedAlgorithm = errors.New("unsupported signing algorithm")
	// ErrBadSignature means the signature does not match the verifier's key.
	ErrBadSignature = errors.New("bad token signature")
	// ErrExpired means the token's expiry time has passed.
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid means the token's not-before or issued-at time is in the
	// future.
	ErrNotYetValid = errors.New("token not valid yet")
	// ErrWrongAudience means the token was issued for another audience.
	ErrWrongAudience = errors.New("wrong token audience")
	// ErrWrongIssuer means the token was issued by another issuer.
	ErrWrongIssuer = errors.New("wrong token issuer")
	// ErrMissingClaim means a claim every RCC token carries (sub, jti, exp,
	// iat) is absent.
	ErrMissingClaim = errors.New("missing token claim")
	// ErrUnknownRole means a role token names a role this package does not
	// know.
	ErrUnknownRole = errors.New("unknown role")
	// ErrNotRoleToken means a join ticket was presented where a role token is
	// required.
	ErrNotRoleToken = errors.New("not a role token")
	// ErrNotTicket means a role token (or any other token) was presented
	// where a join ticket is required.
	ErrNotTicket = errors.New("not a join ticket")
	// ErrNotGrant means a role token or a ticket was presented where a
	// grant is required.
	ErrNotGrant = errors.New("not a grant")
	// ErrWrongAction means the grant allows another action.
	ErrWrongAction = errors.New("grant is for another action")
	// ErrWrongExecutor means the ticket was issued for another executor.
	ErrWrongExecutor = errors.New("ticket is for another executor")
	// ErrWrongInstance means the ticket was issued for another instance.
	ErrWrongInstance = errors.New("ticket is for another instance")
	// ErrTicketReused means the ticket was already used once.
	ErrTicketReused = errors.New("ticket already used")
	// ErrReuseGuardFull means the reuse guard holds its maximum number of
	// unexpired spent tickets; the ticket is refused rather than risk its
	// reuse.
	ErrReuseGuardFull = errors.New("too many unexpired spent tickets")
	// ErrRevoked means the token's id is on the deny-list of revoked
	// tokens.
	ErrRevoked = errors.New("token revoked")
	// ErrKeyPermissions means a private key file is readable or writable by
	// users other than its owner.
	ErrKeyPermissions = errors.New("key file permissions too open")
)
