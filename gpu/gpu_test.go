package gpu

import (
	"fmt"
	"os"
	"testing"
)

// The backend shared by the tests, made once: each Backend owns its GL thread, so the tests'
// goroutines may call it directly.
var (
	shared    *Backend
	noContext error
)

func TestMain(m *testing.M) {
	shared, noContext = New()
	if noContext != nil {
		if os.Getenv("DRSAE_REQUIRE_GPU") == "1" {
			fmt.Fprintln(os.Stderr, "DRSAE_REQUIRE_GPU=1, but no OpenGL context:", noContext)
			os.Exit(1)
		}
		fmt.Println("gpu tests skipped:", noContext)
	} else {
		info := shared.Info()
		fmt.Printf("gpu: %s | %s | %s | GLSL %s | %s\n", info.Vendor, info.Device, info.Version, info.Extra["glsl"], info.Extra["context"])
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

// backend returns the shared backend, or skips the test when there is no context.
func backend(t testing.TB) *Backend {
	t.Helper()
	if shared == nil {
		t.Skip("no OpenGL context:", noContext)
	}
	return shared
}
