package gpu

import (
	"testing"

	"github.com/drsae/drsae/kernels/kerneltest"
)

// TestKernels is the acceptance test: the conformance suite against float64 references.
func TestKernels(t *testing.T) {
	kerneltest.Run(t, backend(t))
}

// TestKernelsSmallGroupLimit runs the suite again with GL_MAX_COMPUTE_WORK_GROUP_COUNT lowered to
// 2, so that every op's dispatch is folded and strided: a grid that does not cover its work shows
// up as unwritten sentinels. Skipped with -short.
func TestKernelsSmallGroupLimit(t *testing.T) {
	backend(t)
	if testing.Short() {
		t.Skip("the whole suite a second time: skipped with -short")
	}
	b, err := New(withMaxGroups(2))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	kerneltest.Run(t, b)
}
