package glfw_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/drsae/drsae/gpu"
	_ "github.com/drsae/drsae/gpu/glfw"
	"github.com/drsae/drsae/kernels/kerneltest"
)

// The conformance suite through a GLFW context: run under xvfb-run -a. Without DISPLAY the tests
// skip with the reason, unless DRSAE_REQUIRE_GPU=1.
var (
	shared    *gpu.Backend
	noContext error
)

func TestMain(m *testing.M) {
	shared, noContext = gpu.New(gpu.WithContext("glfw"))
	if noContext != nil {
		if os.Getenv("DRSAE_REQUIRE_GPU") == "1" {
			fmt.Fprintln(os.Stderr, "DRSAE_REQUIRE_GPU=1, but no GLFW context:", noContext)
			os.Exit(1)
		}
		fmt.Println("glfw tests skipped:", noContext)
	} else {
		info := shared.Info()
		fmt.Printf("gpu: %s | %s | %s | %s\n", info.Vendor, info.Device, info.Version, info.Extra["context"])
	}
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil && code == 0 {
			fmt.Fprintln(os.Stderr, "Close:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func backend(t *testing.T) *gpu.Backend {
	t.Helper()
	if shared == nil {
		t.Skip("no GLFW context:", noContext)
	}
	return shared
}

func TestFillAxpby(t *testing.T) {
	b := backend(t)
	x, _ := b.New(1000)
	y, _ := b.New(1000)
	src := make([]float32, 1000)
	for i := range src {
		src[i] = float32(i)
	}
	b.Upload(x, src)
	b.Fill(y, 2)
	b.Axpby(3, x, -1, y)
	got := make([]float32, 1000)
	if err := b.Download(got, y); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 3*float32(i)-2 {
			t.Fatalf("y[%d] = %v, want %v", i, v, 3*float32(i)-2)
		}
	}
}

// TestKernels runs the conformance suite on the GLFW context.
func TestKernels(t *testing.T) {
	kerneltest.Run(t, backend(t))
}
