package render

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
)

func compileShader(src string, kind uint32) (uint32, error) {
	s := gl.CreateShader(kind)
	csrc, free := gl.Strs(src + "\x00")
	gl.ShaderSource(s, 1, csrc, nil)
	free()
	gl.CompileShader(s)
	var ok int32
	gl.GetShaderiv(s, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		var n int32
		gl.GetShaderiv(s, gl.INFO_LOG_LENGTH, &n)
		log := strings.Repeat("\x00", int(n+1))
		gl.GetShaderInfoLog(s, n, nil, gl.Str(log))
		gl.DeleteShader(s)
		return 0, fmt.Errorf("compile shader: %s", strings.TrimRight(log, "\x00\n"))
	}
	return s, nil
}

// program is a linked shader program and its uniform locations.
type program struct {
	id       uint32
	uniforms map[string]int32
}

func newProgram(vs, fs string) (*program, error) {
	v, err := compileShader(vs, gl.VERTEX_SHADER)
	if err != nil {
		return nil, err
	}
	defer gl.DeleteShader(v)
	f, err := compileShader(fs, gl.FRAGMENT_SHADER)
	if err != nil {
		return nil, err
	}
	defer gl.DeleteShader(f)
	id := gl.CreateProgram()
	gl.AttachShader(id, v)
	gl.AttachShader(id, f)
	gl.LinkProgram(id)
	var ok int32
	gl.GetProgramiv(id, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		var n int32
		gl.GetProgramiv(id, gl.INFO_LOG_LENGTH, &n)
		log := strings.Repeat("\x00", int(n+1))
		gl.GetProgramInfoLog(id, n, nil, gl.Str(log))
		gl.DeleteProgram(id)
		return nil, fmt.Errorf("link program: %s", strings.TrimRight(log, "\x00\n"))
	}
	return &program{id: id, uniforms: map[string]int32{}}, nil
}

// loc returns the location of a uniform (cached).
func (p *program) loc(name string) int32 {
	if l, ok := p.uniforms[name]; ok {
		return l
	}
	l := gl.GetUniformLocation(p.id, gl.Str(name+"\x00"))
	p.uniforms[name] = l
	return l
}

func (p *program) vec3(name string, v [3]float32) { gl.Uniform3f(p.loc(name), v[0], v[1], v[2]) }

// stream is a vertex buffer refilled every frame; it grows (and only then
// reallocates its storage) when a frame needs more room.
type stream struct {
	id  uint32
	cap int // bytes
}

func newStream() *stream {
	s := &stream{}
	gl.GenBuffers(1, &s.id)
	return s
}

// upload replaces the buffer's contents with data (float32 values).
func (s *stream) upload(data []float32) {
	gl.BindBuffer(gl.ARRAY_BUFFER, s.id)
	n := len(data) * 4
	if n > s.cap {
		s.cap = max(n, 2*s.cap, 4096)
		gl.BufferData(gl.ARRAY_BUFFER, s.cap, nil, gl.STREAM_DRAW)
	} else {
		// Orphan the old storage so the driver need not wait for the
		// previous frame's draws.
		gl.BufferData(gl.ARRAY_BUFFER, s.cap, nil, gl.STREAM_DRAW)
	}
	if n > 0 {
		gl.BufferSubData(gl.ARRAY_BUFFER, 0, n, unsafe.Pointer(&data[0]))
	}
}
