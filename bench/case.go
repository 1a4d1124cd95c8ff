package bench

import (
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/drsae/drsae/kernels"

	_ "github.com/drsae/drsae/cpu"
	_ "github.com/drsae/drsae/gpu"
)

// A Case is one benchmark of a ladder: a kernel or a model step at one size, on a backend the
// caller opened. Run times b.N calls (setup before b.ResetTimer, a Sync inside the timed loop)
// and reports Unit, a rate, through b.ReportMetric.
type Case struct {
	// Name is the case's name below its group, as go test prints it without the backend:
	// "1024", "forward/B16". In the cases Select returns it is prefixed with the group's name:
	// "Gemm/1024".
	Name  string
	Unit  string // the rate the table shows: "GFLOP/s", "GB/s", "samples/s", …
	Quick bool   // one of the small cases drsae bench --quick runs
	Run   func(b *testing.B, be kernels.Backend)
}

// A Group is the ladder of one Benchmark function: go test runs Benchmark<Name> over Cases on
// every backend.
type Group struct {
	Name string
	// BackendFirst: go test names the sub-benchmarks <Name>/<backend>/<case>; otherwise
	// <Name>/<case>/<backend>. Both are kept as they were first written, so that earlier
	// results (bench/RESULTS.md) stay comparable.
	BackendFirst bool
	Cases        []Case
}

// groups lists every ladder in the order of the table: kernels, then solvers, then model steps.
var groups = []*Group{&gemm, &shrink, &poolNorms, &memory, &conv2D, &recurrence, &fista, &groupSparse,
	&listaForward, &listaTrainStep, &drsaeStep, &topoStep, &convStep, &lateralInference, &localOps}

// Select returns, in table order, the cases whose full name ("Gemm/1024") match accepts (nil
// accepts all), only the Quick ones if quick is set.
func Select(match func(name string) bool, quick bool) []Case {
	var out []Case
	for _, g := range groups {
		for _, c := range g.Cases {
			c.Name = g.Name + "/" + c.Name
			if (quick && !c.Quick) || (match != nil && !match(c.Name)) {
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

// Bench runs the group as go test sub-benchmarks on every registered backend.
func (g *Group) Bench(b *testing.B) {
	if g.BackendFirst {
		forEachBackend(b, func(b *testing.B, be kernels.Backend) {
			for _, c := range g.Cases {
				b.Run(c.Name, func(b *testing.B) { c.Run(b, be) })
			}
		})
		return
	}
	for _, c := range g.Cases {
		b.Run(c.Name, func(b *testing.B) { forEachBackend(b, c.Run) })
	}
}

var (
	openOnce sync.Once
	opened   = map[string]kernels.Backend{}
	failed   = map[string]error{}
)

// forEachBackend runs f as a sub-benchmark per backend, b.Run(name, …), each backend opened
// once for the whole benchmark binary. One that cannot open is skipped with its reason, or fails
// the benchmark if DRSAE_REQUIRE_GPU=1.
func forEachBackend(b *testing.B, f func(b *testing.B, be kernels.Backend)) {
	openOnce.Do(func() {
		for _, name := range kernels.Names() {
			be, err := kernels.Open(name)
			if err != nil {
				failed[name] = err
				continue
			}
			opened[name] = be
		}
	})
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

// failures keeps the message of each benchmark that stop ended, for Run: testing.Benchmark
// throws a failed benchmark's output away.
var failures sync.Map // *testing.B → string

// stop ends the benchmark with err.
func stop(b *testing.B, err error) {
	b.Helper()
	failures.Store(b, err.Error())
	b.Fatal(err)
}

// mustNew allocates a tensor or stops the benchmark.
func mustNew(b *testing.B, be kernels.Backend, shape ...int) kernels.Tensor {
	b.Helper()
	t, err := be.New(shape...)
	if err != nil {
		stop(b, err)
	}
	return t
}

// waitDevice waits for the device and stops the benchmark on error.
func waitDevice(b *testing.B, be kernels.Backend) {
	if err := be.Sync(); err != nil {
		stop(b, err)
	}
}

// upload fills t with seeded uniform values in [-1, 1).
func upload(be kernels.Backend, t kernels.Tensor, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	h := make([]float32, t.Len())
	for i := range h {
		h[i] = 2*r.Float32() - 1
	}
	be.Upload(t, h)
}

// timeLoop times b.N calls of op, each followed by a Sync, after one untimed call, and returns
// the seconds they took.
func timeLoop(b *testing.B, be kernels.Backend, op func()) float64 {
	op()
	waitDevice(b, be)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op()
		waitDevice(b, be)
	}
	return b.Elapsed().Seconds()
}
