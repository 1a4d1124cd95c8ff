package cpu_test

import (
	"testing"

	"github.com/drsae/drsae/cpu"
	"github.com/drsae/drsae/kernels/kerneltest"
)

// TestConformance runs the shared conformance suite on the CPU backend.
func TestConformance(t *testing.T) { kerneltest.Run(t, cpu.New()) }
