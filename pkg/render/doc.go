// Package render draws world snapshots with OpenGL 3.3 core: every shape
// of docs/world.md, instanced (one draw call per shape for the opaque
// entities, runs of one shape for the translucent ones sorted back to
// front), lit in linear light by a directional sun and a sky/ground
// ambient, with sRGB output (an sRGB framebuffer on a GPU, encoding in the
// shaders on software renderers: see Encoding); soft ground shadows, a
// sky, a ground grid, name tags that face the camera and a HUD of text
// lines drawn with the Go fonts.
//
// Every frame is drawn into an offscreen framebuffer of the size asked
// (multisampled when Options.Samples > 0); Present copies it to the window
// and ReadImage reads it back as an *image.RGBA, for screenshots and tests.
// The pure parts live in subpackages that need no OpenGL: mesh (the unit
// meshes), batch (instances, culling, sort order) and text (glyph atlas and
// layout); the camera is pkg/camera and the math pkg/geom.
//
// It is the daemon's insides of rcc-view, not public API. A Renderer uses
// the OpenGL context current on the calling thread: create, use and close
// it on one OS thread (runtime.LockOSThread).
package render
