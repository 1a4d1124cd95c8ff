//go:build cgo

package glfw

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/drsae/drsae/gpu"
)

func init() {
	gpu.RegisterContext("glfw", newContext)
}

// GLFW is one library state per process: Init once, Terminate when the last window is gone, and
// never two GLFW calls at once.
var (
	mu      sync.Mutex
	windows int
)

type context struct {
	w    *glfw.Window
	desc string
}

func (c *context) ProcAddr(name string) unsafe.Pointer { return glfw.GetProcAddress(name) }
func (c *context) Describe() string                    { return c.desc }

func (c *context) Destroy() {
	mu.Lock()
	defer mu.Unlock()
	glfw.DetachCurrentContext()
	c.w.Destroy()
	windows--
	if windows == 0 {
		glfw.Terminate()
	}
}

// newContext opens a hidden 16×16 window with an OpenGL 4.3 core context and makes it current on
// the calling thread.
func newContext() (ctx gpu.Context, err error) {
	display := os.Getenv("DISPLAY")
	if display == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return nil, errors.New("gpu/glfw: DISPLAY is not set, and GLFW needs an X server: " +
			"run under Xvfb (xvfb-run -a <command>; apt-get install xvfb xauth), or use the headless EGL context (DRSAE_GL=egl)")
	}
	mu.Lock()
	defer mu.Unlock()
	// go-gl/glfw panics on some errors (and only logs others, such as an unreachable display,
	// after which the next call panics): turn those into errors.
	defer func() {
		if r := recover(); r != nil {
			ctx, err = nil, fmt.Errorf("gpu/glfw: no OpenGL 4.3 core context on display %q: %v "+
				"(is an X server running there? xvfb-run -a starts one)", display, r)
			if windows == 0 {
				glfw.Terminate()
			}
		}
	}()
	if windows == 0 {
		if err := glfw.Init(); err != nil {
			return nil, fmt.Errorf("gpu/glfw: initializing GLFW on display %q: %v", display, err)
		}
	}
	glfw.DefaultWindowHints()
	glfw.WindowHint(glfw.Visible, glfw.False)
	glfw.WindowHint(glfw.ContextVersionMajor, 4)
	glfw.WindowHint(glfw.ContextVersionMinor, 3)
	glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
	glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
	w, err := glfw.CreateWindow(16, 16, "drsae", nil, nil)
	if err != nil {
		if windows == 0 {
			glfw.Terminate()
		}
		return nil, fmt.Errorf("gpu/glfw: creating a hidden window with an OpenGL 4.3 core context on display %q: %v", display, err)
	}
	w.MakeContextCurrent()
	windows++
	return &context{w: w, desc: "GLFW hidden window on display " + display}, nil
}
