// Package localrun runs one game instance headless, with no server: the
// engine of `rccctl game run`. Simulated players join, send scripted or
// seeded-random input, and the run ends after a number of ticks or when the
// instance fails.
//
// It is part of RCC's tooling, not a public API.
package localrun
