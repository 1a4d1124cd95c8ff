package kernels

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// An Opener makes a backend; it returns an error that says why the device is unusable.
type Opener func() (Backend, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Opener{}
	preference = map[string]int{}
)

// Register makes a backend available by name. Backends register themselves in an init function
// (cpu as "cpu", gpu as "gpu"); a program imports the packages it wants. Higher priority wins in
// Open("auto").
func Register(name string, priority int, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = open
	preference[name] = priority
}

// Names lists the registered backends, most preferred first.
func Names() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if preference[names[i]] != preference[names[j]] {
			return preference[names[i]] > preference[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}

// Open returns the backend called name. "auto" (or "") tries the registered backends from the
// most preferred down and returns the first that opens on real hardware: a GPU backend running
// on a software rasterizer (Info().Software) is passed over, since the cpu backend is faster;
// name it explicitly to use it anyway. The environment variable DRSAE_BACKEND, when set,
// replaces "auto".
func Open(name string) (Backend, error) {
	if name == "" || name == "auto" {
		if env := os.Getenv("DRSAE_BACKEND"); env != "" && env != "auto" {
			return Open(env)
		}
		var reasons []string
		for _, n := range Names() {
			b, err := Open(n)
			if err == nil && !b.Info().Software {
				return b, nil
			}
			if err == nil {
				err = fmt.Errorf("%s is a software rasterizer, slower than the cpu backend", b.Info().Device)
				b.Close()
			}
			reasons = append(reasons, fmt.Sprintf("%s: %v", n, err))
		}
		return nil, fmt.Errorf("no backend could be opened (%s)", strings.Join(reasons, "; "))
	}
	registryMu.Lock()
	open, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown backend %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return open()
}
