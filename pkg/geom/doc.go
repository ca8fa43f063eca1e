// Package geom is the small, pure-Go 3D math rcc-view's renderer and camera
// share: vectors, quaternions, column-major 4×4 matrices (the layout OpenGL
// reads), perspective projection and the projection of a world point to
// screen pixels. It is the daemon's insides of rcc-view, not public API; it
// has no cgo and no OpenGL dependency, so everything in it tests without a
// display.
package geom
