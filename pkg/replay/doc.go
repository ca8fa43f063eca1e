// Package replay reads and writes an instance's input log: everything that
// enters a game instance (its configuration and every join, leave and input
// with its frame), plus the hash of the state after every frame, so that
// the instance can be replayed and checked frame by frame.
//
// It is a public format, documented in docs/replay.md: JSON Lines, one
// object per line. The first line is the Header; each following line is a
// Frame that had events or whose state hash is recorded. A log records
// every frame's hash, so a replay finds the first frame where the states
// differ.
package replay
