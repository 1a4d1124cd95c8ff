package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// gemmShapes are the products of a DrSAE step at B = 256, 784 inputs, 400 units: encoder
// X·Eᵀ, recurrence Z·S, decoder Z·Dᵀ, and the weight gradients (Aᵀ·B), plus square ladders.
var gemmShapes = []struct {
	name    string
	tA, tB  bool
	m, n, k int
}{
	{"enc_256x400x784_NT", false, true, 256, 400, 784},
	{"rec_256x400x400_NN", false, false, 256, 400, 400},
	{"rec_256x400x400_NT", false, true, 256, 400, 400},
	{"dec_256x784x400_NT", false, true, 256, 784, 400},
	{"gradE_400x784x256_TN", true, false, 400, 784, 256},
	{"gradS_400x400x256_TN", true, false, 400, 400, 256},
	{"back_256x784x400_NN", false, false, 256, 784, 400},
	{"sq_64", false, false, 64, 64, 64},
	{"sq_256", false, false, 256, 256, 256},
	{"sq_1024", false, false, 1024, 1024, 1024},
}

func benchGemm(b *testing.B, run func(tA, tB bool, m, n, k int, a, bm, c []float32)) {
	for _, s := range gemmShapes {
		b.Run(s.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			a, bm, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
			run(s.tA, s.tB, s.m, s.n, s.k, a, bm, c)
			for b.Loop() {
				run(s.tA, s.tB, s.m, s.n, s.k, a, bm, c)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkGemm measures the backend's Gemm on each shape, with every micro-kernel this CPU has.
func BenchmarkGemm(b *testing.B) {
	for _, kern := range gemmKernels() {
		b.Run(kern.name, func(b *testing.B) {
			be := New()
			benchGemm(b, func(tA, tB bool, m, n, k int, a, bm, c []float32) {
				lda, ldb := k, n
				if tA {
					lda = m
				}
				if tB {
					ldb = k
				}
				be.gemmFast(kern, tA, tB, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
			})
		})
	}
}

// BenchmarkGemmGonum measures gonum's Sgemm (Go with SSE helpers, its own goroutines) on the
// same shapes: the baseline the blocked product is measured against.
func BenchmarkGemmGonum(b *testing.B) {
	var impl gonum.Implementation
	tr := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	benchGemm(b, func(tA, tB bool, m, n, k int, a, bm, c []float32) {
		lda, ldb := k, n
		if tA {
			lda = m
		}
		if tB {
			ldb = k
		}
		impl.Sgemm(tr(tA), tr(tB), m, n, k, 1, a, lda, bm, ldb, 0, c, n)
	})
}

// BenchmarkGemmKernel measures one micro-kernel call on packed slivers that sit in L1: the
// ceiling of the blocked product.
func BenchmarkGemmKernel(b *testing.B) {
	for _, kern := range gemmKernels() {
		for _, k := range []int{64, 256, 512} {
			b.Run(fmt.Sprintf("%s/k=%d", kern.name, k), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				a, bp, c := randSlice(r, k*kern.mr), randSlice(r, k*kern.nr), make([]float32, kern.mr*kern.nr)
				for b.Loop() {
					kern.fn(k, 1, a, bp, c, kern.nr)
				}
				b.ReportMetric(2*float64(k*kern.mr*kern.nr)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkGemmPack measures packing one whole sliver (6 rows of A, 16 columns of B) of depth
// 256 out of a 400×784 matrix, in each orientation.
func BenchmarkGemmPack(b *testing.B) {
	const rows, cols, kb = 400, 784, 256
	src := randSlice(rand.New(rand.NewPCG(1, 2)), rows*cols)
	dst := make([]float32, 16*kb)
	for _, c := range []struct {
		name string
		n    int
		pack func()
	}{
		{"A", 6, func() { packA(dst, false, src, cols, 6, 6, 0, kb, 6) }},
		{"At", 6, func() { packA(dst, true, src, cols, 0, 6, 6, kb, 6) }},
		{"B", 16, func() { packB(dst, false, src, cols, 0, kb, 16, 16, 16) }},
		{"Bt", 16, func() { packB(dst, true, src, cols, 0, kb, 16, 16, 16) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.pack()
			}
			b.ReportMetric(float64(c.n*kb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
		})
	}
}
