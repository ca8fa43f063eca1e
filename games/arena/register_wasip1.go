//go:build wasip1

package main

import "github.com/rcc-games/rcc/pkg/sdk"

// A reactor never runs main; _initialize runs package initialisation, so
// this is where the game is handed to the SDK.
func init() {
	sdk.Register(newGame())
	warmParams()
}

// warmParams decodes the params once during package initialisation, so
// that encoding/json builds its caches for the params type in _initialize
// (and so into the module's image, docs/snapshots.md) rather than in every
// instance's init: half of what init costs otherwise.
func warmParams() {
	p := defaultParams()
	_ = sdk.Config{Params: []byte(`{"orbs":6}`)}.DecodeParams(&p)
}
