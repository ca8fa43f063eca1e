// Package styles holds the look and the key bindings shared by every screen
// of rccctl's terminal interface (the packages under tui/): one place for
// colours, borders and keys, so that screens agree. It is rccctl's insides,
// not public API.
package styles
