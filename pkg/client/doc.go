// Package client is the Go client of the RCC coordinator API, used by
// rccctl, rcc-view, executors and tests. It is a public API: other modules may import
// it.
//
// A Client holds one gRPC connection and exposes the four generated service
// clients (Games, Instances, Executors, Watch) plus helpers for the calls
// that stream bytes (Deploy, FetchBlob). Every call carries the client's
// bearer token.
//
// Resolve picks the coordinator and token the way rccctl and rcc-view do:
// flags, RCC_* variables (read by the caller), named contexts (Config) and
// the credentials file rccd dev writes (Credentials).
package client
