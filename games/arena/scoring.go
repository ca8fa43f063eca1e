//go:build !arena_double_points

package main

// orbPoints is what an orb is worth. Building with the tag
// arena_double_points makes an arena that scores 2 per orb: the version the
// hot-upgrade tests move a running arena to.
const orbPoints = 1
