package render

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rcc-games/rcc/pkg/camera"
	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/render/batch"
	"github.com/rcc-games/rcc/pkg/render/mesh"
	"github.com/rcc-games/rcc/pkg/render/text"
	"github.com/rcc-games/rcc/pkg/world"
)

// ErrGLVersion is wrapped by the error New returns when the context's
// OpenGL is older than 3.3 (see GLVersionError).
var ErrGLVersion = errors.New("OpenGL 3.3 core or newer is required")

// GLVersionError says which OpenGL was found instead of 3.3.
type GLVersionError struct {
	// Version and Renderer are the context's GL_VERSION and GL_RENDERER
	// strings ("" when they could not be read).
	Version, Renderer string
}

func (e *GLVersionError) Error() string {
	found := e.Version
	if found == "" {
		found = "an unknown version"
	}
	if e.Renderer != "" {
		found += " (" + e.Renderer + ")"
	}
	return "OpenGL 3.3 core or newer is required, found " + found
}

// Unwrap makes errors.Is(err, ErrGLVersion) hold.
func (e *GLVersionError) Unwrap() error { return ErrGLVersion }

// Options configure a Renderer.
type Options struct {
	// Samples is the number of multisampling samples per pixel: 0 for
	// none, -1 for the default (4 on a GPU; none on a software renderer
	// such as llvmpipe, where 4× costs about three times the frame).
	Samples int
	// Encode says where linear colour becomes sRGB (see Encoding).
	Encode Encoding
	// ProcAddress, when set, loads the OpenGL functions (a headless EGL
	// context's eglGetProcAddress); nil uses GLX's, as a GLFW window needs.
	ProcAddress func(name string) unsafe.Pointer
	// UIScale multiplies the size of text (the window's content scale on
	// HiDPI screens); 0 means 1.
	UIScale float32
}

// Encoding is where the renderer turns linear light into sRGB.
type Encoding int

const (
	// EncodeAuto is EncodeFramebuffer on a GPU and EncodeShader on a
	// software renderer.
	EncodeAuto Encoding = iota
	// EncodeFramebuffer renders into an sRGB framebuffer: the hardware
	// encodes every write, and blending (translucent entities, text)
	// happens in linear light. Exact, and free on a GPU.
	EncodeFramebuffer
	// EncodeShader encodes in the fragment shaders into a plain RGBA8
	// framebuffer: lighting is still linear, blending happens between
	// sRGB values. llvmpipe draws a frame about a quarter faster so.
	EncodeShader
)

// Frame is what one call to Render draws.
type Frame struct {
	// Snapshot is the world to draw (nil: only the sky and the grid).
	Snapshot *world.Snapshot
	// Camera is the view.
	Camera *camera.Camera
	// Lines are the HUD's information lines, top left.
	Lines []string
	// Side are lines drawn top right (a scoreboard).
	Side []string
	// Message is a line drawn large in the middle of the screen ("" for
	// none): a disconnection reason, "reconnecting…".
	Message string
}

// Stats describe the last frame drawn.
type Stats struct {
	// Drawn and Culled count entities drawn and skipped.
	Drawn, Culled int
	// DrawCalls counts the draw calls of the frame.
	DrawCalls int
	// Labels counts the name tags drawn.
	Labels int
}

// Light, sky and fog, in linear light.
var (
	sunDir      = geom.Vec3{X: 0.42, Y: 0.82, Z: 0.38}.Normalize()
	sunColor    = [3]float32{1.05, 0.97, 0.86}
	skyAmbient  = [3]float32{0.22, 0.26, 0.33}
	groundAmb   = [3]float32{0.09, 0.08, 0.07}
	zenith      = [3]float32{0.10, 0.22, 0.52}
	horizon     = [3]float32{0.55, 0.64, 0.76}
	fogDensity  = float32(0.0055)
	textColor   = [4]float32{1, 1, 1, 1}
	dimColor    = [4]float32{0.75, 0.78, 0.82, 1}
	panelColor  = [4]float32{0, 0, 0, 0.45}
	tagColor    = [4]float32{0.004, 0.006, 0.01, 0.55}
	accentColor = [4]float32{1, 0.78, 0.2, 1}
)

// HUD layout, in pixels at UIScale 1.
const (
	// HUDMargin is the distance of the HUD panels from the screen edges.
	HUDMargin = 12
	// HUDPadding is the space between a panel's edge and its text.
	HUDPadding = 8
	// HUDFontSize, MessageFontSize and LabelFontSize are the em sizes.
	HUDFontSize     = 15
	MessageFontSize = 24
	LabelFontSize   = 14
)

// shapeGL is one shape at one level of detail.
type shapeGL struct {
	mesh            uint32 // vertex buffer
	index           uint32
	count           int32
	opaque, transl  uint32 // vertex arrays
	opaqueInstances *stream
}

// Renderer draws frames. Create it with New on a thread with a current
// OpenGL 3.3 core context.
type Renderer struct {
	opts  Options
	scale float32
	meshP *program
	// meshVertexP is meshP with the fog and the sRGB encoding per
	// vertex, so that its fragments only copy a colour: for the tiny
	// level of detail (a few pixels across, where neither varies
	// visibly) and for planes (flat, finely divided when near: floors
	// cover much of the screen).
	meshVertexP *program
	skyP        *program
	gridP       *program
	textP       *program
	shadowP     *program
	shapes      [mesh.NumLODs][batch.NumShapes]shapeGL
	transl      *stream
	order       []drawList // opaqueOrder

	skyVAO, skyVBO, gridVAO, gridVBO uint32
	skyCount, gridCount              int32
	textVAO                          uint32
	textStream                       *stream
	shadowVAO                        uint32
	shadowStream                     *stream

	atlas        *text.Atlas
	atlasTex     uint32
	atlasVersion int
	hudFace      text.Face
	msgFace      text.Face
	tagFace      text.Face

	// Offscreen targets: ms (multisampled, when Samples > 0) resolves
	// into out, which Present and ReadImage read.
	w, h                  int
	msFBO, msColor, msDep uint32
	outFBO, outColor      uint32
	outDepth              uint32

	batch    batch.Batch
	quads    []text.Quad
	hudQuads []text.Quad
	floats   []float32
	img      *image.RGBA
	row      []byte
	mat      geom.Mat4 // a matrix handed to OpenGL (a field, so no allocation)
	stats    Stats
	version  string
	renderer string
}

// New creates a Renderer for the current OpenGL context. It loads the
// OpenGL functions, checks for OpenGL 3.3 or newer (an error wrapping
// ErrGLVersion otherwise), and builds the shaders, meshes and font atlas.
func New(opts Options) (*Renderer, error) {
	load := gl.Init
	if opts.ProcAddress != nil {
		load = func() error { return gl.InitWithProcAddrFunc(opts.ProcAddress) }
	}
	if err := load(); err != nil {
		return nil, &GLVersionError{Version: "functions missing: " + err.Error()}
	}
	r := &Renderer{opts: opts, scale: opts.UIScale}
	if r.scale <= 0 {
		r.scale = 1
	}
	r.version = gl.GoStr(gl.GetString(gl.VERSION))
	r.renderer = gl.GoStr(gl.GetString(gl.RENDERER))
	if major, minor, ok := parseVersion(r.version); !ok || major < 3 || major == 3 && minor < 3 {
		return nil, &GLVersionError{Version: r.version, Renderer: r.renderer}
	}
	if r.opts.Samples < 0 {
		r.opts.Samples = 4
		if Software(r.renderer) {
			r.opts.Samples = 0
		}
	}
	if r.opts.Encode == EncodeAuto {
		r.opts.Encode = EncodeFramebuffer
		if Software(r.renderer) {
			r.opts.Encode = EncodeShader
		}
	}
	var err error
	if r.meshP, err = newProgram(meshVS, meshFS); err != nil {
		return nil, fmt.Errorf("mesh shader: %w", err)
	}
	if r.meshVertexP, err = newProgram(vertexFog(meshVS), vertexFog(meshFS)); err != nil {
		return nil, fmt.Errorf("tiny mesh shader: %w", err)
	}
	if r.skyP, err = newProgram(skyVS, skyFS); err != nil {
		return nil, fmt.Errorf("sky shader: %w", err)
	}
	if r.gridP, err = newProgram(gridVS, gridFS); err != nil {
		return nil, fmt.Errorf("grid shader: %w", err)
	}
	if r.textP, err = newProgram(textVS, textFS); err != nil {
		return nil, fmt.Errorf("text shader: %w", err)
	}
	if r.shadowP, err = newProgram(shadowVS, shadowFS); err != nil {
		return nil, fmt.Errorf("shadow shader: %w", err)
	}
	r.transl = newStream()
	r.order = opaqueOrder()
	for l := mesh.Near; l < mesh.NumLODs; l++ {
		for s := world.ShapeBox; s <= world.ShapeCone; s++ {
			m, _ := mesh.ForLOD(s, l)
			r.shapes[l][s] = r.newShape(m)
		}
	}
	gl.GenVertexArrays(1, &r.skyVAO)
	r.initGrid()
	r.initText()
	r.initShadows()
	if err := r.initFonts(); err != nil {
		return nil, err
	}
	if e := gl.GetError(); e != gl.NO_ERROR {
		return nil, fmt.Errorf("renderer set-up: OpenGL error 0x%x", e)
	}
	return r, nil
}

// parseVersion reads "4.5 (Core Profile) Mesa 22.3.6" or "OpenGL ES 3.2 …".
func parseVersion(v string) (major, minor int, ok bool) {
	f := strings.Fields(v)
	for _, w := range f {
		parts := strings.SplitN(w, ".", 3)
		if len(parts) < 2 {
			continue
		}
		a, err1 := strconv.Atoi(parts[0])
		b, err2 := strconv.Atoi(parts[1])
		if err1 == nil && err2 == nil {
			return a, b, true
		}
	}
	return 0, 0, false
}

// Software reports whether a GL_RENDERER string names one of Mesa's
// software renderers.
func Software(renderer string) bool {
	r := strings.ToLower(renderer)
	return strings.Contains(r, "llvmpipe") || strings.Contains(r, "softpipe") || strings.Contains(r, "swrast")
}

// Encoding returns where linear light becomes sRGB.
func (r *Renderer) Encoding() Encoding { return r.opts.Encode }

func (r *Renderer) colorFormat() uint32 {
	if r.opts.Encode == EncodeShader {
		return gl.RGBA8
	}
	return gl.SRGB8_ALPHA8
}

// use makes p current and tells it how to write colour.
func (r *Renderer) use(p *program) {
	gl.UseProgram(p.id)
	v := int32(0)
	if r.opts.Encode == EncodeShader {
		v = 1
	}
	gl.Uniform1i(p.loc("u_encode"), v)
}

// Samples returns the multisampling in use.
func (r *Renderer) Samples() int { return r.opts.Samples }

// Version returns the context's GL_VERSION and GL_RENDERER strings.
func (r *Renderer) Version() (version, renderer string) { return r.version, r.renderer }

// Stats returns the statistics of the last frame.
func (r *Renderer) Stats() Stats { return r.stats }

func instanceAttribs(offset int) {
	const stride = batch.FloatsPerInstance * 4
	for i, n := range [4]int32{3, 3, 4, 4} {
		loc := uint32(3 + i)
		gl.EnableVertexAttribArray(loc)
		gl.VertexAttribPointerWithOffset(loc, n, gl.FLOAT, false, stride, uintptr(offset))
		gl.VertexAttribDivisor(loc, 1)
		offset += int(n) * 4
	}
}

func (r *Renderer) newShape(m *mesh.Mesh) shapeGL {
	s := shapeGL{count: int32(len(m.Indices)), opaqueInstances: newStream()}
	gl.GenBuffers(1, &s.mesh)
	gl.BindBuffer(gl.ARRAY_BUFFER, s.mesh)
	v := m.Floats()
	gl.BufferData(gl.ARRAY_BUFFER, len(v)*4, gl.Ptr(v), gl.STATIC_DRAW)
	gl.GenBuffers(1, &s.index)
	for _, vao := range []*uint32{&s.opaque, &s.transl} {
		gl.GenVertexArrays(1, vao)
		gl.BindVertexArray(*vao)
		gl.BindBuffer(gl.ELEMENT_ARRAY_BUFFER, s.index)
		if vao == &s.opaque {
			gl.BufferData(gl.ELEMENT_ARRAY_BUFFER, len(m.Indices)*2, gl.Ptr(m.Indices), gl.STATIC_DRAW)
		}
		gl.BindBuffer(gl.ARRAY_BUFFER, s.mesh)
		const stride = mesh.FloatsPerVertex * 4
		gl.EnableVertexAttribArray(0)
		gl.VertexAttribPointerWithOffset(0, 3, gl.FLOAT, false, stride, uintptr(0))
		gl.EnableVertexAttribArray(1)
		gl.VertexAttribPointerWithOffset(1, 3, gl.FLOAT, false, stride, uintptr(12))
		gl.EnableVertexAttribArray(2)
		gl.VertexAttribPointerWithOffset(2, 1, gl.FLOAT, false, stride, uintptr(24))
		if vao == &s.opaque {
			gl.BindBuffer(gl.ARRAY_BUFFER, s.opaqueInstances.id)
		} else {
			gl.BindBuffer(gl.ARRAY_BUFFER, r.transl.id)
		}
		instanceAttribs(0)
	}
	gl.BindVertexArray(0)
	return s
}

// Sky mesh resolution (cells across and down the screen) and the grid's
// half extent in metres.
const (
	skyCellsX, skyCellsY = 24, 16
	gridHalf             = 80
	gridMinor            = 30
)

func (r *Renderer) initGrid() {
	// The sky: triangles over the screen in NDC.
	var sky []float32
	for j := 0; j < skyCellsY; j++ {
		for i := 0; i < skyCellsX; i++ {
			x0, x1 := float32(i)/skyCellsX*2-1, float32(i+1)/skyCellsX*2-1
			y0, y1 := float32(j)/skyCellsY*2-1, float32(j+1)/skyCellsY*2-1
			sky = append(sky, x0, y0, x1, y0, x1, y1, x0, y0, x1, y1, x0, y1)
		}
	}
	r.skyCount = int32(len(sky) / 2)
	gl.BindVertexArray(r.skyVAO)
	gl.GenBuffers(1, &r.skyVBO)
	gl.BindBuffer(gl.ARRAY_BUFFER, r.skyVBO)
	gl.BufferData(gl.ARRAY_BUFFER, len(sky)*4, gl.Ptr(sky), gl.STATIC_DRAW)
	gl.EnableVertexAttribArray(0)
	gl.VertexAttribPointerWithOffset(0, 2, gl.FLOAT, false, 8, uintptr(0))

	// The grid: lines along X and Z every metre out to gridMinor, every
	// 10 m out to gridHalf (long lines are what llvmpipe pays for); y = 1
	// marks the 10 m ones.
	var lines []float32
	for i := -gridHalf; i <= gridHalf; i += 10 {
		f := float32(i)
		lines = append(lines,
			f, 1, -gridHalf, f, 1, gridHalf,
			-gridHalf, 1, f, gridHalf, 1, f)
	}
	for i := -gridMinor; i <= gridMinor; i++ {
		if i%10 == 0 {
			continue
		}
		f := float32(i)
		lines = append(lines,
			f, 0, -gridMinor, f, 0, gridMinor,
			-gridMinor, 0, f, gridMinor, 0, f)
	}
	r.gridCount = int32(len(lines) / 3)
	gl.GenVertexArrays(1, &r.gridVAO)
	gl.BindVertexArray(r.gridVAO)
	gl.GenBuffers(1, &r.gridVBO)
	gl.BindBuffer(gl.ARRAY_BUFFER, r.gridVBO)
	gl.BufferData(gl.ARRAY_BUFFER, len(lines)*4, gl.Ptr(lines), gl.STATIC_DRAW)
	gl.EnableVertexAttribArray(0)
	gl.VertexAttribPointerWithOffset(0, 3, gl.FLOAT, false, 12, uintptr(0))
	gl.BindVertexArray(0)
}

// floatsPerQuad: anchor (3), rect (4), uv (4), colour (4).
const floatsPerQuad = 15

func (r *Renderer) initText() {
	r.textStream = newStream()
	gl.GenVertexArrays(1, &r.textVAO)
	gl.BindVertexArray(r.textVAO)
	gl.BindBuffer(gl.ARRAY_BUFFER, r.textStream.id)
	off := 0
	for i, n := range [4]int32{3, 4, 4, 4} {
		gl.EnableVertexAttribArray(uint32(i))
		gl.VertexAttribPointerWithOffset(uint32(i), n, gl.FLOAT, false, floatsPerQuad*4, uintptr(off))
		gl.VertexAttribDivisor(uint32(i), 1)
		off += int(n) * 4
	}
	gl.BindVertexArray(0)
}

func (r *Renderer) initShadows() {
	r.shadowStream = newStream()
	gl.GenVertexArrays(1, &r.shadowVAO)
	gl.BindVertexArray(r.shadowVAO)
	gl.BindBuffer(gl.ARRAY_BUFFER, r.shadowStream.id)
	gl.EnableVertexAttribArray(0)
	gl.VertexAttribPointerWithOffset(0, 4, gl.FLOAT, false, batch.FloatsPerShadow*4, uintptr(0))
	gl.VertexAttribDivisor(0, 1)
	gl.BindVertexArray(0)
}

// drawShadows lays the ground shadows on y = 0, pulled towards the eye
// so that they win against a floor there, hidden by what stands nearer.
func (r *Renderer) drawShadows(vp geom.Mat4) {
	if len(r.batch.Shadows) == 0 && len(r.batch.SmallShadows) == 0 {
		return
	}
	p := r.shadowP
	r.use(p)
	r.mat = vp
	gl.UniformMatrix4fv(p.loc("u_viewproj"), 1, false, &r.mat[0])
	gl.DepthMask(false)
	gl.Disable(gl.CULL_FACE)
	gl.Enable(gl.POLYGON_OFFSET_FILL)
	gl.PolygonOffset(-1, -2)
	gl.BindVertexArray(r.shadowVAO)
	for _, l := range [2]struct {
		data    []float32
		octagon int32
	}{{r.batch.Shadows, 1}, {r.batch.SmallShadows, 0}} {
		n := len(l.data) / batch.FloatsPerShadow
		if n == 0 {
			continue
		}
		// Octagons are strips of 8 vertices, squares of 4.
		gl.Uniform1i(p.loc("u_octagon"), l.octagon)
		r.shadowStream.upload(l.data)
		gl.DrawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4+4*l.octagon, int32(n))
		r.stats.DrawCalls++
	}
	gl.Disable(gl.POLYGON_OFFSET_FILL)
	gl.Enable(gl.CULL_FACE)
	gl.DepthMask(true)
}

func (r *Renderer) initFonts() error {
	r.atlas = text.NewAtlas(1024)
	var err error
	if r.hudFace, err = r.atlas.AddFace(text.Regular, float64(HUDFontSize*r.scale)); err != nil {
		return err
	}
	if r.msgFace, err = r.atlas.AddFace(text.Bold, float64(MessageFontSize*r.scale)); err != nil {
		return err
	}
	if r.tagFace, err = r.atlas.AddFace(text.Bold, float64(LabelFontSize*r.scale)); err != nil {
		return err
	}
	gl.GenTextures(1, &r.atlasTex)
	gl.BindTexture(gl.TEXTURE_2D, r.atlasTex)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
	r.uploadAtlas()
	return nil
}

func (r *Renderer) uploadAtlas() {
	img := r.atlas.Image
	gl.BindTexture(gl.TEXTURE_2D, r.atlasTex)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
	gl.TexImage2D(gl.TEXTURE_2D, 0, gl.R8, int32(img.Rect.Dx()), int32(img.Rect.Dy()), 0, gl.RED, gl.UNSIGNED_BYTE, gl.Ptr(img.Pix))
	r.atlasVersion = r.atlas.Version
}

// HUDFace returns the atlas and face the HUD's lines are drawn with, for
// tests that rasterise the same text independently.
func (r *Renderer) HUDFace() (*text.Atlas, text.Face) { return r.atlas, r.hudFace }

// resize (re)creates the offscreen targets for width×height.
func (r *Renderer) resize(width, height int) error {
	if width == r.w && height == r.h {
		return nil
	}
	r.deleteTargets()
	r.w, r.h = width, height
	w, h := int32(width), int32(height)
	if r.opts.Samples > 0 {
		gl.GenFramebuffers(1, &r.msFBO)
		gl.BindFramebuffer(gl.FRAMEBUFFER, r.msFBO)
		gl.GenRenderbuffers(1, &r.msColor)
		gl.BindRenderbuffer(gl.RENDERBUFFER, r.msColor)
		gl.RenderbufferStorageMultisample(gl.RENDERBUFFER, int32(r.opts.Samples), r.colorFormat(), w, h)
		gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.RENDERBUFFER, r.msColor)
		gl.GenRenderbuffers(1, &r.msDep)
		gl.BindRenderbuffer(gl.RENDERBUFFER, r.msDep)
		gl.RenderbufferStorageMultisample(gl.RENDERBUFFER, int32(r.opts.Samples), gl.DEPTH_COMPONENT24, w, h)
		gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, r.msDep)
		if st := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); st != gl.FRAMEBUFFER_COMPLETE {
			return fmt.Errorf("multisampled framebuffer %dx%d incomplete: 0x%x", width, height, st)
		}
	}
	gl.GenFramebuffers(1, &r.outFBO)
	gl.BindFramebuffer(gl.FRAMEBUFFER, r.outFBO)
	gl.GenRenderbuffers(1, &r.outColor)
	gl.BindRenderbuffer(gl.RENDERBUFFER, r.outColor)
	gl.RenderbufferStorage(gl.RENDERBUFFER, r.colorFormat(), w, h)
	gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.RENDERBUFFER, r.outColor)
	if r.opts.Samples == 0 {
		gl.GenRenderbuffers(1, &r.outDepth)
		gl.BindRenderbuffer(gl.RENDERBUFFER, r.outDepth)
		gl.RenderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT24, w, h)
		gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, r.outDepth)
	}
	if st := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); st != gl.FRAMEBUFFER_COMPLETE {
		return fmt.Errorf("framebuffer %dx%d incomplete: 0x%x", width, height, st)
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	return nil
}

func (r *Renderer) deleteTargets() {
	for _, f := range []*uint32{&r.msFBO, &r.outFBO} {
		if *f != 0 {
			gl.DeleteFramebuffers(1, f)
			*f = 0
		}
	}
	for _, b := range []*uint32{&r.msColor, &r.msDep, &r.outColor, &r.outDepth} {
		if *b != 0 {
			gl.DeleteRenderbuffers(1, b)
			*b = 0
		}
	}
	r.w, r.h = 0, 0
}

// MaxSize is the largest framebuffer side Render accepts.
const MaxSize = 8192

// Render draws f into the offscreen framebuffer at width×height pixels.
func (r *Renderer) Render(f *Frame, width, height int) error {
	if width <= 0 || height <= 0 || width > MaxSize || height > MaxSize {
		return fmt.Errorf("render: framebuffer size %dx%d out of range 1..%d", width, height, MaxSize)
	}
	if f.Camera == nil {
		return errors.New("render: no camera")
	}
	if err := r.resize(width, height); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	target := r.outFBO
	if r.msFBO != 0 {
		target = r.msFBO
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, target)
	gl.Viewport(0, 0, int32(width), int32(height))
	if r.opts.Encode == EncodeFramebuffer {
		gl.Enable(gl.FRAMEBUFFER_SRGB)
	}
	gl.DepthMask(true)
	if r.opts.Encode == EncodeShader {
		e := func(v float32) float32 { return float32(geom.LinearToSRGB(v)) / 255 }
		gl.ClearColor(e(horizon[0]), e(horizon[1]), e(horizon[2]), 1)
	} else {
		gl.ClearColor(horizon[0], horizon[1], horizon[2], 1)
	}
	gl.Clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT)
	r.stats = Stats{}

	cam := f.Camera
	vp := cam.ViewProjection(width, height)
	eye := cam.Position()
	if f.Snapshot != nil {
		fr := geom.FrustumOf(vp)
		ppu := float32(height) / (2 * float32(math.Tan(float64(cam.FovY)/2)))
		r.batch.Build(f.Snapshot, eye, &fr, ppu)
	} else {
		r.batch.Build(&world.Snapshot{}, eye, nil, 0)
	}
	r.stats.Drawn, r.stats.Culled = r.batch.Drawn, r.batch.Culled

	gl.Enable(gl.DEPTH_TEST)
	gl.DepthFunc(gl.LESS)
	gl.Enable(gl.CULL_FACE)
	gl.CullFace(gl.BACK)
	gl.Disable(gl.BLEND)
	// Nearest first: the near level of detail, then the far ones, planes
	// (floors, mostly behind everything) last, each list sorted front to
	// back, so that llvmpipe's depth test rejects hidden fragments before
	// shading them.
	var cur *program
	for _, d := range r.order {
		inst := r.batch.Opaque[d.lod][d.shape]
		if len(inst) == 0 {
			continue
		}
		if p := r.meshFor(d.lod, d.shape); p != cur {
			cur = p
			r.useMesh(p, vp, eye)
		}
		sh := &r.shapes[d.lod][d.shape]
		sh.opaqueInstances.upload(inst)
		r.setCapsule(cur, d.shape)
		gl.BindVertexArray(sh.opaque)
		gl.DrawElementsInstanced(gl.TRIANGLES, sh.count, gl.UNSIGNED_SHORT, nil, int32(len(inst)/batch.FloatsPerInstance))
		r.stats.DrawCalls++
	}

	// The sky after the opaque entities, at the far plane with the depth
	// test on: the pixels they cover are rejected before shading.
	r.drawSky(cam, width, height)

	gl.Enable(gl.BLEND)
	gl.BlendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA)
	r.drawShadows(vp)
	r.drawGrid(vp, eye)

	if len(r.batch.Runs) > 0 {
		gl.DepthMask(false)
		r.transl.upload(r.batch.Translucent)
		cur = nil
		for _, run := range r.batch.Runs {
			sh := &r.shapes[run.LOD][run.Shape]
			p := r.meshFor(run.LOD, run.Shape)
			if p != cur {
				r.useMesh(p, vp, eye)
				cur = p
			}
			r.setCapsule(p, run.Shape)
			gl.BindVertexArray(sh.transl)
			gl.BindBuffer(gl.ARRAY_BUFFER, r.transl.id)
			instanceAttribs(run.First * batch.FloatsPerInstance * 4)
			gl.DrawElementsInstanced(gl.TRIANGLES, sh.count, gl.UNSIGNED_SHORT, nil, int32(run.Count))
			r.stats.DrawCalls++
		}
		gl.DepthMask(true)
	}

	gl.Disable(gl.CULL_FACE)
	r.drawLabels(vp, width, height)
	gl.Disable(gl.DEPTH_TEST)
	r.drawHUD(f, width, height)
	gl.BindVertexArray(0)

	if r.msFBO != 0 {
		gl.Disable(gl.FRAMEBUFFER_SRGB)
		gl.BindFramebuffer(gl.READ_FRAMEBUFFER, r.msFBO)
		gl.BindFramebuffer(gl.DRAW_FRAMEBUFFER, r.outFBO)
		gl.BlitFramebuffer(0, 0, int32(width), int32(height), 0, 0, int32(width), int32(height), gl.COLOR_BUFFER_BIT, gl.NEAREST)
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	gl.Disable(gl.FRAMEBUFFER_SRGB)
	if e := gl.GetError(); e != gl.NO_ERROR {
		return fmt.Errorf("render: OpenGL error 0x%x", e)
	}
	return nil
}

// meshFor returns the program that draws shape s at level of detail l.
func (r *Renderer) meshFor(l mesh.LOD, s world.Shape) *program {
	if l == mesh.Tiny || s == world.ShapePlane {
		return r.meshVertexP
	}
	return r.meshP
}

// drawList names one opaque instance list of a Batch.
type drawList struct {
	lod   mesh.LOD
	shape world.Shape
}

// opaqueOrder returns the order the opaque instance lists are drawn in:
// by level of detail, nearest first, and the planes after everything.
func opaqueOrder() []drawList {
	var o []drawList
	for l := mesh.Near; l < mesh.NumLODs; l++ {
		for s := world.ShapeBox; s <= world.ShapeCone; s++ {
			if s != world.ShapePlane {
				o = append(o, drawList{l, s})
			}
		}
	}
	for l := mesh.Near; l < mesh.NumLODs; l++ {
		o = append(o, drawList{l, world.ShapePlane})
	}
	return o
}

func (r *Renderer) useMesh(p *program, vp geom.Mat4, eye geom.Vec3) {
	r.use(p)
	r.mat = vp
	gl.UniformMatrix4fv(p.loc("u_viewproj"), 1, false, &r.mat[0])
	p.vec3("u_sun_dir", [3]float32{sunDir.X, sunDir.Y, sunDir.Z})
	p.vec3("u_sun_color", sunColor)
	p.vec3("u_sky", skyAmbient)
	p.vec3("u_ground", groundAmb)
	p.vec3("u_eye", [3]float32{eye.X, eye.Y, eye.Z})
	p.vec3("u_fog", horizon)
	gl.Uniform1f(p.loc("u_fog_density"), fogDensity)
}

func (r *Renderer) setCapsule(p *program, s world.Shape) {
	v := int32(0)
	if s == world.ShapeCapsule {
		v = 1
	}
	gl.Uniform1i(p.loc("u_capsule"), v)
}

func (r *Renderer) drawSky(cam *camera.Camera, width, height int) {
	p := r.skyP
	gl.Enable(gl.DEPTH_TEST)
	gl.DepthFunc(gl.LEQUAL)
	gl.DepthMask(false)
	gl.Disable(gl.BLEND)
	gl.Disable(gl.CULL_FACE)
	defer func() {
		gl.DepthFunc(gl.LESS)
		gl.DepthMask(true)
		gl.Enable(gl.CULL_FACE)
	}()
	r.use(p)
	fw := cam.Forward()
	right := fw.Cross(geom.Vec3{Y: 1}).Normalize()
	if right.Len() == 0 {
		right = cam.Right()
	}
	up := right.Cross(fw)
	t := float32(math.Tan(float64(cam.FovY) / 2))
	p.vec3("u_forward", [3]float32{fw.X, fw.Y, fw.Z})
	p.vec3("u_right", [3]float32{right.X, right.Y, right.Z})
	p.vec3("u_up", [3]float32{up.X, up.Y, up.Z})
	gl.Uniform2f(p.loc("u_tan"), t*float32(width)/float32(height), t)
	p.vec3("u_zenith", zenith)
	p.vec3("u_horizon", horizon)
	p.vec3("u_fog", horizon)
	p.vec3("u_sun_dir", [3]float32{sunDir.X, sunDir.Y, sunDir.Z})
	gl.BindVertexArray(r.skyVAO)
	gl.DrawArrays(gl.TRIANGLES, 0, r.skyCount)
	r.stats.DrawCalls++
}

func (r *Renderer) drawGrid(vp geom.Mat4, eye geom.Vec3) {
	p := r.gridP
	r.use(p)
	r.mat = vp
	gl.UniformMatrix4fv(p.loc("u_viewproj"), 1, false, &r.mat[0])
	// Snap the lines to 10 m so they stay put as the eye moves.
	c := [3]float32{float32(math.Round(float64(eye.X)/10) * 10), 0, float32(math.Round(float64(eye.Z)/10) * 10)}
	p.vec3("u_center", c)
	p.vec3("u_eye", [3]float32{eye.X, eye.Y, eye.Z})
	gl.Uniform2f(p.loc("u_extent"), gridMinor, gridHalf)
	gl.DepthMask(false)
	gl.BindVertexArray(r.gridVAO)
	gl.DrawArrays(gl.LINES, 0, r.gridCount)
	r.stats.DrawCalls++
	gl.DepthMask(true)
}

// drawLabels draws the name tags: a dark plate and the label, centred
// above the entity, facing the screen, hidden behind nearer geometry.
func (r *Renderer) drawLabels(vp geom.Mat4, width, height int) {
	if len(r.batch.Labels) == 0 {
		return
	}
	r.floats = r.floats[:0]
	a := r.atlas
	pad := 4 * r.scale
	asc := a.Ascent(r.tagFace)
	lh := a.LineHeight(r.tagFace)
	for _, l := range r.batch.Labels {
		w := a.Measure(r.tagFace, l.Text)
		x0 := float32(math.Round(float64(-w/2 - pad)))
		y1 := float32(math.Round(float64(-6 * r.scale)))
		y0 := y1 - lh - pad
		fade := 1 - max(0, (l.Distance-0.6*batch.MaxLabelDistance)/(0.4*batch.MaxLabelDistance))
		plate := tagColor
		plate[3] *= fade
		col := textColor
		col[3] *= fade
		r.quads = a.Rect(r.quads[:0], x0, y0, -x0, y1, plate)
		r.quads, _ = a.Append(r.quads, r.tagFace, l.Text, x0+pad, y0+pad/2+asc, col)
		r.floats = appendQuads(r.floats, r.quads, l.Anchor)
		r.stats.Labels++
	}
	gl.DepthFunc(gl.LEQUAL)
	gl.DepthMask(false)
	r.drawQuads(vp, width, height, true)
	gl.DepthMask(true)
	gl.DepthFunc(gl.LESS)
}

func appendQuads(dst []float32, qs []text.Quad, anchor geom.Vec3) []float32 {
	for _, q := range qs {
		dst = append(dst, anchor.X, anchor.Y, anchor.Z,
			q.X0, q.Y0, q.X1, q.Y1, q.U0, q.V0, q.U1, q.V1,
			q.Color[0], q.Color[1], q.Color[2], q.Color[3])
	}
	return dst
}

func (r *Renderer) drawQuads(vp geom.Mat4, width, height int, worldSpace bool) {
	n := len(r.floats) / floatsPerQuad
	if n == 0 {
		return
	}
	if r.atlas.Version != r.atlasVersion {
		r.uploadAtlas()
	}
	p := r.textP
	r.use(p)
	gl.Uniform2f(p.loc("u_size"), float32(width), float32(height))
	w := int32(0)
	if worldSpace {
		w = 1
	}
	gl.Uniform1i(p.loc("u_world"), w)
	r.mat = vp
	gl.UniformMatrix4fv(p.loc("u_viewproj"), 1, false, &r.mat[0])
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, r.atlasTex)
	gl.Uniform1i(p.loc("u_atlas"), 0)
	r.textStream.upload(r.floats)
	gl.BindVertexArray(r.textVAO)
	gl.DrawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, int32(n))
	r.stats.DrawCalls++
}

// HUDTextOrigin returns where the HUD draws the pen of its first
// information line (left end of the baseline), in pixels from the top
// left, and the distance between lines.
func (r *Renderer) HUDTextOrigin() (x, y, lineHeight float32) {
	s := r.scale
	return float32(math.Round(float64((HUDMargin + HUDPadding) * s))),
		float32(math.Round(float64((HUDMargin+HUDPadding)*s))) + r.atlas.Ascent(r.hudFace),
		r.atlas.LineHeight(r.hudFace)
}

func (r *Renderer) drawHUD(f *Frame, width, height int) {
	a := r.atlas
	s := r.scale
	q := r.hudQuads[:0]
	m, pad := HUDMargin*s, HUDPadding*s
	lh := a.LineHeight(r.hudFace)
	panel := func(lines []string, right bool) {
		if len(lines) == 0 {
			return
		}
		var w float32
		for _, l := range lines {
			w = max(w, a.Measure(r.hudFace, l))
		}
		x0, y0 := float32(math.Round(float64(m))), float32(math.Round(float64(m)))
		if right {
			x0 = float32(math.Round(float64(float32(width) - m - w - 2*pad)))
		}
		x1, y1 := x0+w+2*pad, y0+2*pad+lh*float32(len(lines))
		q = a.Rect(q, x0, y0, x1, y1, panelColor)
		ox, oy, _ := r.HUDTextOrigin()
		oy -= float32(math.Round(float64(m))) - y0
		for i, l := range lines {
			col := textColor
			if right && i == 0 || !right && i > 0 && strings.HasPrefix(l, " ") {
				col = dimColor
			}
			x := x0 + pad
			if !right {
				x = ox
			}
			q, _ = a.Append(q, r.hudFace, l, x, oy+lh*float32(i), col)
		}
	}
	panel(f.Lines, false)
	panel(f.Side, true)
	if f.Message != "" {
		w := a.Measure(r.msgFace, f.Message)
		mlh := a.LineHeight(r.msgFace)
		x0 := float32(math.Round(float64((float32(width) - w) / 2)))
		y0 := float32(math.Round(float64(float32(height)*0.42 - mlh/2)))
		p := 14 * s
		q = a.Rect(q, x0-p, y0-p*0.7, x0+w+p, y0+mlh+p*0.7, [4]float32{0, 0, 0, 0.6})
		q = a.Rect(q, x0-p, y0-p*0.7, x0-p+3*s, y0+mlh+p*0.7, accentColor)
		q, _ = a.Append(q, r.msgFace, f.Message, x0, y0+a.Ascent(r.msgFace), textColor)
	}
	r.hudQuads = q
	r.floats = appendQuads(r.floats[:0], q, geom.Vec3{})
	r.drawQuads(geom.Identity4, width, height, false)
}

// Present copies the last frame to the default framebuffer (the window)
// of fbWidth×fbHeight pixels, scaling it when the sizes differ.
func (r *Renderer) Present(fbWidth, fbHeight int) {
	if r.outFBO == 0 {
		return
	}
	gl.Disable(gl.FRAMEBUFFER_SRGB)
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, r.outFBO)
	gl.BindFramebuffer(gl.DRAW_FRAMEBUFFER, 0)
	filter := uint32(gl.NEAREST)
	if fbWidth != r.w || fbHeight != r.h {
		filter = gl.LINEAR
	}
	gl.BlitFramebuffer(0, 0, int32(r.w), int32(r.h), 0, 0, int32(fbWidth), int32(fbHeight), gl.COLOR_BUFFER_BIT, filter)
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
}

// ReadImage reads the last frame back (top row first). It reuses the
// image it returned last time, so copy it to keep it past the next call.
func (r *Renderer) ReadImage() (*image.RGBA, error) {
	if r.outFBO == 0 {
		return nil, errors.New("render: nothing rendered yet")
	}
	if r.img == nil || r.img.Rect.Dx() != r.w || r.img.Rect.Dy() != r.h {
		r.img = image.NewRGBA(image.Rect(0, 0, r.w, r.h))
	}
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, r.outFBO)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
	gl.ReadPixels(0, 0, int32(r.w), int32(r.h), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(r.img.Pix))
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, 0)
	// OpenGL's rows start at the bottom.
	stride := r.img.Stride
	if len(r.row) != stride {
		r.row = make([]byte, stride)
	}
	tmp := r.row
	for y := 0; y < r.h/2; y++ {
		a := r.img.Pix[y*stride : (y+1)*stride]
		b := r.img.Pix[(r.h-1-y)*stride : (r.h-y)*stride]
		copy(tmp, a)
		copy(a, b)
		copy(b, tmp)
	}
	if e := gl.GetError(); e != gl.NO_ERROR {
		return nil, fmt.Errorf("render: read pixels: OpenGL error 0x%x", e)
	}
	return r.img, nil
}

// Close frees the renderer's OpenGL objects. The context must still be
// current.
func (r *Renderer) Close() {
	r.deleteTargets()
	for l := range r.shapes {
		for i := range r.shapes[l] {
			s := &r.shapes[l][i]
			if s.mesh == 0 {
				continue
			}
			gl.DeleteBuffers(1, &s.mesh)
			gl.DeleteBuffers(1, &s.index)
			gl.DeleteBuffers(1, &s.opaqueInstances.id)
			gl.DeleteVertexArrays(1, &s.opaque)
			gl.DeleteVertexArrays(1, &s.transl)
		}
	}
	gl.DeleteBuffers(1, &r.transl.id)
	gl.DeleteBuffers(1, &r.textStream.id)
	gl.DeleteBuffers(1, &r.shadowStream.id)
	gl.DeleteVertexArrays(1, &r.shadowVAO)
	gl.DeleteBuffers(1, &r.gridVBO)
	gl.DeleteBuffers(1, &r.skyVBO)
	gl.DeleteVertexArrays(1, &r.gridVAO)
	gl.DeleteVertexArrays(1, &r.skyVAO)
	gl.DeleteVertexArrays(1, &r.textVAO)
	gl.DeleteTextures(1, &r.atlasTex)
	for _, p := range []*program{r.meshP, r.meshVertexP, r.skyP, r.gridP, r.textP, r.shadowP} {
		gl.DeleteProgram(p.id)
	}
}

// Finish waits until OpenGL has completed every command issued, so a
// benchmark measures the whole frame.
func (r *Renderer) Finish() { gl.Finish() }
