// Package testenv holds the test helpers every package shares: one reading
// of the CI environment variable, one "skip here, fail on CI" for tests whose
// requirement (a display, a tool, a database) is missing, and one
// wait-for-condition loop. It is for the project's own tests, not public API.
package testenv
