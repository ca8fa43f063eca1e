// Package top is the dashboard screen of `rccctl top`: a Bubble Tea model
// over the coordinator's Watch stream (a snapshot, then every change), with
// instance and executor tables, a detail view per instance, filtering,
// sorting, pausing and the operator's actions behind a confirmation.
//
// Update is pure: every call to the coordinator happens in a tea.Cmd, and
// the rendered screen is computed in Update (on a key, or on the refresh
// tick) so that a burst of Watch events costs no rendering. It is rccctl's
// insides, not public API.
package top
