// Package auth signs and verifies the JSON Web Tokens of the RCC control
// plane and the player join tickets of its data plane.
//
// The coordinator holds an Ed25519 private key ([LoadOrCreateKey]) and signs
// two kinds of token with an [Issuer]:
//
//   - role tokens, carrying a [Role]: [RoleAdmin] for operators and rccctl,
//     [RoleExecutor] for executor services. They authenticate gRPC calls as
//     "authorization: Bearer <JWT>" metadata ([BearerCredentials] on the
//     client, [Interceptor] on the server).
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
