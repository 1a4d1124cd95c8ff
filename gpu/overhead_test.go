package gpu

import (
	"testing"
)

// BenchmarkOpOverhead measures queueing a small op (Axpby over a 256×400 batch) with a Sync
// every 100 ops: the per-op cost seen by a model's inner loop.
func BenchmarkOpOverhead(bm *testing.B) {
	b := backend(bm)
	x, _ := b.New(256, 400)
	y, _ := b.New(256, 400)
	defer b.Free(x)
	defer b.Free(y)
	bm.ReportAllocs()
	bm.ResetTimer()
	for i := 0; i < bm.N; i++ {
		b.Axpby(0.5, x, 0.5, y)
		if i%100 == 99 {
			if err := b.Sync(); err != nil {
				bm.Fatal(err)
			}
		}
	}
	if err := b.Sync(); err != nil {
		bm.Fatal(err)
	}
}

// BenchmarkSubmit measures the caller's side alone: checks, program lookup and queueing of an op
// over an empty tensor, which the GL thread skips... (n = 0 submits nothing), so Fill of one value.
func BenchmarkSubmit(bm *testing.B) {
	b := backend(bm)
	x, _ := b.New(1)
	defer b.Free(x)
	bm.ReportAllocs()
	bm.ResetTimer()
	for i := 0; i < bm.N; i++ {
		b.Fill(x, 1)
		if i%1000 == 999 {
			if err := b.Sync(); err != nil {
				bm.Fatal(err)
			}
		}
	}
	if err := b.Sync(); err != nil {
		bm.Fatal(err)
	}
}

// BenchmarkGemm: C[256,400] = A[256,784]·B[400,784]ᵀ, the encoder product of a batch of MNIST
// digits (W_e is [m, n]).
func BenchmarkGemm(bm *testing.B) {
	b := backend(bm)
	const m, n, k = 256, 400, 784
	a, _ := b.New(m, k)
	w, _ := b.New(n, k)
	c, _ := b.New(m, n)
	defer b.Free(a)
	defer b.Free(w)
	defer b.Free(c)
	b.Fill(a, 1)
	b.Fill(w, 0.5)
	if err := b.Sync(); err != nil {
		bm.Fatal(err)
	}
	bm.ResetTimer()
	for i := 0; i < bm.N; i++ {
		b.Gemm(false, true, 1, a, w, 0, c)
	}
	if err := b.Sync(); err != nil {
		bm.Fatal(err)
	}
	bm.ReportMetric(2*m*n*k*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
}
