package window

/*
#cgo linux pkg-config: egl
#include <stdlib.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>

typedef EGLDisplay (*getPlatformDisplayFn)(EGLenum, void *, const EGLint *);

static EGLDisplay surfacelessDisplay(void) {
	getPlatformDisplayFn f = (getPlatformDisplayFn)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (f == NULL) return EGL_NO_DISPLAY;
	return f(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
}

static EGLContext coreContext(EGLDisplay d, EGLint *err) {
	EGLint cfgAttrs[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE};
	EGLConfig cfg;
	EGLint n = 0;
	if (!eglBindAPI(EGL_OPENGL_API)) { *err = eglGetError(); return EGL_NO_CONTEXT; }
	if (!eglChooseConfig(d, cfgAttrs, &cfg, 1, &n) || n < 1) { *err = eglGetError(); return EGL_NO_CONTEXT; }
	EGLint ctxAttrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION, 3,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE};
	EGLContext c = eglCreateContext(d, cfg, EGL_NO_CONTEXT, ctxAttrs);
	if (c == EGL_NO_CONTEXT) { *err = eglGetError(); return c; }
	if (!eglMakeCurrent(d, EGL_NO_SURFACE, EGL_NO_SURFACE, c)) {
		*err = eglGetError();
		eglDestroyContext(d, c);
		return EGL_NO_CONTEXT;
	}
	return c;
}

static void *procAddress(const char *name) { return (void *)eglGetProcAddress(name); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Headless is an OpenGL 3.3 core context with no window and no window
// system at all: Mesa's EGL "surfaceless" platform. It renders only into
// framebuffer objects, which is all offscreen rendering needs.
type Headless struct {
	display C.EGLDisplay
	context C.EGLContext
}

// OpenHeadless creates a surfaceless EGL context with OpenGL 3.3 core and
// makes it current on the calling thread (which must stay locked:
// runtime.LockOSThread).
func OpenHeadless() (*Headless, error) {
	d := C.surfacelessDisplay()
	if d == C.EGLDisplay(C.EGL_NO_DISPLAY) {
		return nil, fmt.Errorf("window: EGL offers no surfaceless platform (EGL_MESA_platform_surfaceless)")
	}
	var major, minor C.EGLint
	if C.eglInitialize(d, &major, &minor) == C.EGL_FALSE {
		return nil, fmt.Errorf("window: initialise surfaceless EGL: error 0x%x", int(C.eglGetError()))
	}
	var e C.EGLint
	c := C.coreContext(d, &e)
	if c == C.EGLContext(C.EGL_NO_CONTEXT) {
		C.eglTerminate(d)
		return nil, fmt.Errorf("window: surfaceless EGL %d.%d: no OpenGL 3.3 core context: error 0x%x", int(major), int(minor), int(e))
	}
	return &Headless{display: d, context: c}, nil
}

// ProcAddress returns the address of an OpenGL function, for
// gl.InitWithProcAddrFunc.
func (h *Headless) ProcAddress(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.procAddress(cs)
}

// Close releases the context.
func (h *Headless) Close() {
	C.eglMakeCurrent(h.display, C.EGLSurface(C.EGL_NO_SURFACE), C.EGLSurface(C.EGL_NO_SURFACE), C.EGLContext(C.EGL_NO_CONTEXT))
	C.eglDestroyContext(h.display, h.context)
	C.eglTerminate(h.display)
}
