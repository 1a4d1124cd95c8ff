// Package modeltest holds what the model packages' tests share: the backend they run on, MNIST
// loaded once, and small host helpers.
package modeltest

import (
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"

	_ "github.com/drsae/drsae/cpu"
	_ "github.com/drsae/drsae/gpu"
)

// Backend returns the backend the model tests run on: cpu, or the one DRSAE_TEST_BACKEND names
// (make test runs the gradient and closed-form tests again with DRSAE_TEST_BACKEND=gpu). A
// backend that does not open skips the test, unless DRSAE_REQUIRE_GPU=1 makes that a failure.
func Backend(t testing.TB) kernels.Backend {
	t.Helper()
	name := os.Getenv("DRSAE_TEST_BACKEND")
	if name == "" {
		name = "cpu"
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

// Upload makes a tensor of shape holding host.
func Upload(t testing.TB, be kernels.Backend, host []float32, shape ...int) kernels.Tensor {
	t.Helper()
	x, err := be.New(shape...)
	if err != nil {
		t.Fatal(err)
	}
	be.Upload(x, host)
	return x
}

// Download copies x to the host.
func Download(t testing.TB, be kernels.Backend, x kernels.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := be.Download(out, x); err != nil {
		t.Fatal(err)
	}
	return out
}

var mnist = sync.OnceValues(func() ([2]*data.Dataset, error) {
	train, test, err := data.LoadMNIST("")
	return [2]*data.Dataset{train, test}, err
})

// MNIST returns the MNIST training and test sets, loaded once per test binary, or skips the test
// where MNIST is not on this machine.
func MNIST(t testing.TB) (train, test *data.Dataset) {
	t.Helper()
	d, err := mnist()
	if err != nil {
		t.Skipf("MNIST: %v", err)
	}
	return d[0], d[1]
}

// Rows returns samples [from, from+k) of a data set as one [k, n] slice (a copy).
func Rows(ds *data.Dataset, from, k int) []float32 {
	n := ds.Dim()
	return append([]float32(nil), ds.Pixels[from*n:(from+k)*n]...)
}

// DigitDictionary returns a dictionary [n, m] whose atoms are m MNIST training digits scaled to
// unit norm: real, coherent atoms, the hard case for ISTA.
func DigitDictionary(ds *data.Dataset, m int, seed uint64) []float32 {
	n := ds.Dim()
	perm := data.Permutation(ds.N, seed)
	d := make([]float32, n*m)
	for j := range m {
		x := ds.Sample(perm[j])
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		for i, v := range x {
			d[i*m+j] = float32(float64(v) / math.Sqrt(s))
		}
	}
	return d
}

// Randn returns k normal values of standard deviation scale.
func Randn(rng *rand.Rand, k int, scale float64) []float32 {
	x := make([]float32, k)
	for i := range x {
		x[i] = float32(scale * rng.NormFloat64())
	}
	return x
}

// F64 widens x.
func F64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// F32 rounds x.
func F32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// Synth makes a small labelled set: k noisy prototypes in n dimensions, unit norm.
func Synth(n, k, count int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 99))
	protos := make([]float64, k*n)
	for i := range protos {
		protos[i] = 0.5 + rng.NormFloat64()
	}
	d := &data.Dataset{Name: "synth", N: count, Rows: 1, Cols: n, Classes: k,
		Pixels: make([]float32, count*n), Labels: make([]uint8, count)}
	for s := range count {
		c := s % k
		d.Labels[s] = uint8(c)
		for j := range n {
			d.Pixels[s*n+j] = float32(protos[c*n+j] + 0.6*rng.NormFloat64())
		}
	}
	d.NormalizeL2()
	return d
}
