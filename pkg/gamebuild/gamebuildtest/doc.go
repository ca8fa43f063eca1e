// Package gamebuildtest builds the repository's example games for tests,
// once per test binary.
package gamebuildtest
