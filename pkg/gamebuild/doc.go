// Package gamebuild compiles a game's source directory into a WASI reactor
// module that RCC can run. It recognises four kinds of project (see Detect):
// a Go package, a Cargo crate (Rust), a directory of C files and an
// AssemblyScript project, and says which toolchain is missing, and how to
// install it, when one is.
//
// It is part of RCC's tooling (rccctl and tests), not a public API.
package gamebuild
