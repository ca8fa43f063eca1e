//go:build wasip1

package main

import "github.com/rcc-games/rcc/pkg/sdk"

// A reactor never runs main; _initialize runs package initialisation, so
// this is where the game is handed to the SDK.
func init() { sdk.Register(newGame()) }
