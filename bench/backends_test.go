package bench

import (
	"os"
	"sync"
	"testing"

	"github.com/drsae/drsae/kernels"

	_ "github.com/drsae/drsae/cpu"
	_ "github.com/drsae/drsae/gpu"
)

var (
	openOnce sync.Once
	opened   = map[string]kernels.Backend{}
	failed   = map[string]error{}
)

// backends opens every registered backend once for the whole benchmark binary.
func backends() {
	openOnce.Do(func() {
		for _, name := range kernels.Names() {
			b, err := kernels.Open(name)
			if err != nil {
				failed[name] = err
				continue
			}
			opened[name] = b
		}
	})
}

// forEachBackend runs f as a sub-benchmark per backend: b.Run(name, …).
func forEachBackend(b *testing.B, f func(b *testing.B, be kernels.Backend)) {
	backends()
	for _, name := range kernels.Names() {
		be, ok := opened[name]
		b.Run(name, func(b *testing.B) {
			if !ok {
				if os.Getenv("DRSAE_REQUIRE_GPU") == "1" {
					b.Fatalf("backend %s: %v", name, failed[name])
				}
				b.Skipf("backend %s unavailable: %v", name, failed[name])
			}
			f(b, be)
		})
	}
}

// mustNew allocates a tensor or stops the benchmark.
func mustNew(b *testing.B, be kernels.Backend, shape ...int) kernels.Tensor {
	b.Helper()
	t, err := be.New(shape...)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// waitDevice waits for the device and stops the benchmark on error.
func waitDevice(b *testing.B, be kernels.Backend) {
	if err := be.Sync(); err != nil {
		b.Fatal(err)
	}
}
