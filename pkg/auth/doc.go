// Package auth signs and verifies the JSON Web Tokens of the RCC control
// plane and the player join tickets of its data plane.
//
// The coordinator holds a key set of Ed25519 keys ([LoadKeySet]: the
// active key and retired ones, [RotateKey]) and signs, with an [Issuer],
// tokens that name their key in the "kid" header ([KeyID]); the public
// keys travel as a JWKS ([KeySet.JWKS], [ParseJWKS]). It signs three kinds
// of token:
//
//   - role tokens, carrying a [Role]: [RoleAdmin] for operators and rccctl,
//     [RoleExecutor] for executor services, [RolePlayer] for a player's
//     client. They authenticate gRPC calls as "authorization: Bearer <JWT>"
//     metadata ([BearerCredentials] or [RenewableCredentials] on the
//     client, [Interceptor] on the server, which also trusts identity
//     providers' tokens as player tokens, [NewExternalVerifier]).
//   - grants: single-use, one-minute tokens allowing one action on one
//     instance at one executor ([Issuer.Grant], [Verifier.VerifyGrant]),
//     what operators' tools present to executors instead of their own
//     tokens.
//   - join tickets: short-lived (60 s by default), single-use tokens bound to
//     one player, one instance and one executor. The executor checks them
//     alone, with the coordinator's public key, before it accepts a player's
//     WebSocket.
//
// A [Verifier] needs only the public key ([MarshalPublicKey],
// [ParsePublicKey]). Every refusal wraps one of the exported sentinel errors
// ([ErrMissingToken], [ErrExpired], [ErrBadSignature], ...), so callers
// branch with errors.Is and never import the JWT library.
//
// Tokens are carried as [Token] values, which print and log as REDACTED.
//
// This package is internal to the RCC daemon and its tools; it is not a
// stable API for other modules.
package auth
