package main

// The backends compiled into the command; each registers itself with package kernels.
import (
	_ "github.com/drsae/drsae/cpu"
	_ "github.com/drsae/drsae/gpu"
	_ "github.com/drsae/drsae/gpu/glfw"
)
