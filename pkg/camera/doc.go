// Package camera is rcc-view's camera, in pure Go: a third-person camera
// that orbits and smoothly follows the entity a player controls, and a free
// spectator camera that flies when the player follows none. Its yaw and
// pitch use the convention of world.Controller (yaw 0 looks towards -Z,
// positive yaw turns left, positive pitch looks up), so the heading the
// player sees is the heading the controller input carries. It is the
// daemon's insides of rcc-view, not public API.
package camera
