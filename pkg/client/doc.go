// Package client is the Go client of the RCC coordinator API, used by
// rccctl, executors and tests. It is a public API: other modules may import
// it.
//
// A Client holds one gRPC connection and exposes the four generated service
// clients (Games, Instances, Executors, Watch) plus helpers for the calls
// that stream bytes (Deploy, FetchBlob). Every call carries the client's
// bearer token.
package client
