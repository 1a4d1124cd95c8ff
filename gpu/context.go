package gpu

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// Context is an OpenGL 4.3 (or later) core context made current on the calling OS thread.
// A ContextFactory creates one; the backend calls the factory, ProcAddr, and Destroy on its own
// locked GL thread only.
type Context interface {
	// ProcAddr returns the address of a GL function, for gl.InitWithProcAddrFunc.
	ProcAddr(name string) unsafe.Pointer
	// Describe says how the context was made, e.g. "EGL device platform, device 0".
	Describe() string
	// Destroy releases the context; it is current on the calling thread.
	Destroy()
}

// ContextFactory creates a Context and makes it current on the calling (locked) thread.
// Errors say what is missing and what to install or run.
type ContextFactory func() (Context, error)

var (
	contextsMu sync.Mutex
	contexts   = map[string]ContextFactory{}
)

// RegisterContext makes a context kind available under name, for DRSAE_GL=name and WithContext.
// Package gpu registers "egl" itself (with cgo on Linux); package gpu/glfw registers "glfw" when a
// program imports it, usually with a blank import:
//
//	import _ "github.com/drsae/drsae/gpu/glfw"
func RegisterContext(name string, f ContextFactory) {
	contextsMu.Lock()
	defer contextsMu.Unlock()
	contexts[name] = f
}

func registeredContexts() []string {
	contextsMu.Lock()
	defer contextsMu.Unlock()
	var names []string
	for n := range contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultContext is the context kind used when neither WithContext nor DRSAE_GL names one.
const DefaultContext = "egl"

// contextFactory resolves a context name ("" means DRSAE_GL, then DefaultContext).
func contextFactory(name string) (string, ContextFactory, error) {
	if name == "" {
		name = strings.ToLower(strings.TrimSpace(os.Getenv("DRSAE_GL")))
	}
	if name == "" {
		name = DefaultContext
	}
	contextsMu.Lock()
	f := contexts[name]
	contextsMu.Unlock()
	if f != nil {
		return name, f, nil
	}
	if !cgoEnabled {
		return name, nil, errNoCgo
	}
	hint := ""
	if name == "glfw" {
		hint = `: a program links the GLFW context in with import _ "github.com/drsae/drsae/gpu/glfw"`
	}
	return name, nil, fmt.Errorf("gpu: no OpenGL context kind %q in this binary (have %s)%s",
		name, strings.Join(registeredContexts(), ", "), hint)
}

// Option configures New.
type Option func(*config)

type config struct {
	context   string
	maxGroups int               // if > 0, pretend GL_MAX_COMPUTE_WORK_GROUP_COUNT is this (tests)
	maxBytes  int64             // if > 0, pretend GL_MAX_SHADER_STORAGE_BLOCK_SIZE is this (tests)
	maxShared int               // if > 0, pretend GL_MAX_COMPUTE_SHARED_MEMORY_SIZE is this (tests)
	shaders   map[string]string // replacement shader sources by file name (tests)
}

// WithContext chooses the context kind ("egl", "glfw", or any registered name) instead of
// DRSAE_GL.
func WithContext(name string) Option {
	return func(c *config) { c.context = name }
}

// withMaxGroups lowers the work-group count limit, so tests can exercise the 2D grids and
// grid-stride loops on small sizes.
func withMaxGroups(n int) Option {
	return func(c *config) { c.maxGroups = n }
}

// withMaxBytes lowers the storage-block limit, so tests can check the refusal cheaply.
func withMaxBytes(n int64) Option {
	return func(c *config) { c.maxBytes = n }
}

// withMaxShared lowers the shared-memory limit, so tests can check the refusal.
func withMaxShared(n int) Option {
	return func(c *config) { c.maxShared = n }
}

// withShader replaces the source of one shader file (tests of compile-error reporting).
func withShader(name, src string) Option {
	return func(c *config) {
		if c.shaders == nil {
			c.shaders = map[string]string{}
		}
		c.shaders[name] = src
	}
}
