// Package glfw registers the "glfw" OpenGL context kind with package gpu: a hidden GLFW window
// with an OpenGL 4.3 core context, for desktops with an X display. A program links it in with a
// blank import and chooses it with DRSAE_GL=glfw (or gpu.WithContext("glfw")):
//
//	import _ "github.com/drsae/drsae/gpu/glfw"
//
// GLFW 3.3 has no headless platform: without an X server (DISPLAY unset) the context fails with
// an error saying so; run under Xvfb (xvfb-run -a), or use the default headless EGL context. The
// backend creates the window on its own locked GL thread, which X11 allows. Without cgo this
// package registers nothing.
package glfw
