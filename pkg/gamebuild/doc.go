// Package gamebuild compiles a Go game directory into a WASI reactor module
// that RCC can run.
//
// It is part of RCC's tooling (rccctl and tests), not a public API.
package gamebuild
