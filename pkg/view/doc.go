// Package view is rcc-view's window and frame loop: a GLFW window (or a
// hidden one for --screenshot) with an OpenGL 3.3 core context, the
// renderer of pkg/render, the camera of pkg/camera, keyboard, mouse and
// gamepad input turned into world.Controller, and a Source the loop pulls
// a world snapshot and HUD text from every frame.
//
// Source is the seam to the network: PlaySource shows a live game through
// a play.Session (pkg/play), ScriptedSource plays an input script into
// another source, SceneSource shows a snapshot from a file (or any fixed
// snapshot) and CrowdSource N moving entities, for benchmarks. With
// Config.FrameJSON a screenshot comes with a FrameReport of what it shows.
//
// It is the daemon's insides of rcc-view, not public API.
package view
