// Package buildinfo says which build of RCC a binary is: its version, the
// commit it was built from and the Go toolchain that built it, read from
// the module's build information and the -ldflags the Makefile passes. It
// is the binaries' insides, not public API.
package buildinfo
