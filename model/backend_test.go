package model

import (
	"os"
	"testing"

	"github.com/drsae/drsae/cpu"
	"github.com/drsae/drsae/kernels"

	_ "github.com/drsae/drsae/gpu"
)

// openTestBackend returns the backend the model tests run on: the cpu backend, or the one that
// DRSAE_TEST_BACKEND names (make test runs the gradient and closed-form tests again with
// DRSAE_TEST_BACKEND=gpu). A backend that does not open skips the test, unless
// DRSAE_REQUIRE_GPU=1 makes that a failure.
func openTestBackend(t testing.TB) kernels.Backend {
	t.Helper()
	name := os.Getenv("DRSAE_TEST_BACKEND")
	if name == "" || name == "cpu" {
		return cpu.New()
	}
	be, err := kernels.Open(name)
	if err != nil {
		if os.Getenv("DRSAE_REQUIRE_GPU") == "1" {
			t.Fatalf("backend %s: %v", name, err)
		}
		t.Skipf("backend %s unavailable: %v", name, err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}
