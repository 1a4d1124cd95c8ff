package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// upload fills t with seeded uniform values in [-1, 1).
func upload(be kernels.Backend, t kernels.Tensor, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	h := make([]float32, t.Len())
	for i := range h {
		h[i] = 2*r.Float32() - 1
	}
	be.Upload(t, h)
}

// Gemm ladder: square sizes, then the shapes of a DrSAE step (B=256, n=784, m=400).
func BenchmarkGemm(b *testing.B) {
	type shape struct {
		name           string
		m, n, k        int
		transA, transB bool
	}
	shapes := []shape{
		{"64", 64, 64, 64, false, false},
		{"256", 256, 256, 256, false, false},
		{"512", 512, 512, 512, false, false},
		{"1024", 1024, 1024, 1024, false, false},
		{"Ex_256x400x784_NT", 256, 400, 784, false, true}, // X·Eᵀ
		{"Sz_256x400x400_NT", 256, 400, 400, false, true}, // Z·Sᵀ
		{"dE_400x784x256_TN", 400, 784, 256, true, false}, // dZᵀ·X
	}
	forEachBackend(b, func(b *testing.B, be kernels.Backend) {
		for _, s := range shapes {
			b.Run(s.name, func(b *testing.B) {
				ar, ac := s.m, s.k
				if s.transA {
					ar, ac = ac, ar
				}
				br, bc := s.k, s.n
				if s.transB {
					br, bc = bc, br
				}
				a, x, c := mustNew(b, be, ar, ac), mustNew(b, be, br, bc), mustNew(b, be, s.m, s.n)
				defer be.Free(a)
				defer be.Free(x)
				defer be.Free(c)
				upload(be, a, 1)
				upload(be, x, 2)
				be.Gemm(s.transA, s.transB, 1, a, x, 0, c)
				waitDevice(b, be)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					be.Gemm(s.transA, s.transB, 1, a, x, 0, c)
					waitDevice(b, be)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	})
}

// Shrinkage is memory bound: report GB/s of x read plus dst written.
func BenchmarkShrink(b *testing.B) {
	forEachBackend(b, func(b *testing.B, be kernels.Backend) {
		for _, rows := range []int{16, 256, 4096} {
			const m = 400
			b.Run(fmt.Sprintf("%dx%d", rows, m), func(b *testing.B) {
				x, y, th := mustNew(b, be, rows, m), mustNew(b, be, rows, m), mustNew(b, be, m)
				defer be.Free(x)
				defer be.Free(y)
				defer be.Free(th)
				upload(be, x, 3)
				be.Fill(th, 0.1)
				waitDevice(b, be)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					be.SoftShrink(y, x, th)
					waitDevice(b, be)
				}
				b.ReportMetric(8*float64(rows*m)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	})
}

// Group pooling over a 20×20 toroidal map of units with 3×3 Gaussian windows (400 pools of 9),
// forward and backward; FLOP counted as 3 per (pool, member) forward and 4 backward.
func BenchmarkPoolNorms(b *testing.B) {
	layout, err := kernels.TorusPools(20, 20, 3, 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	pairs := float64(len(layout.Index))
	forEachBackend(b, func(b *testing.B, be kernels.Backend) {
		pools, err := be.NewPools(layout)
		if err != nil {
			b.Fatal(err)
		}
		defer be.FreePools(pools)
		for _, batch := range []int{16, 256, 1024} {
			z, n := mustNew(b, be, batch, 400), mustNew(b, be, batch, layout.NumPools())
			dz, dy := mustNew(b, be, batch, 400), mustNew(b, be, batch, layout.NumPools())
			upload(be, z, 4)
			be.Fill(dy, 1)
			b.Run(fmt.Sprintf("forward/B%d", batch), func(b *testing.B) {
				waitDevice(b, be)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					be.PoolNorms(n, z, pools, 1e-4)
					waitDevice(b, be)
				}
				b.ReportMetric(3*pairs*float64(batch*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			b.Run(fmt.Sprintf("backward/B%d", batch), func(b *testing.B) {
				be.PoolNorms(n, z, pools, 1e-4)
				waitDevice(b, be)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					be.PoolNormsBackward(dz, dy, z, n, pools)
					waitDevice(b, be)
				}
				b.ReportMetric(4*pairs*float64(batch*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			for _, t := range []kernels.Tensor{z, n, dz, dy} {
				be.Free(t)
			}
		}
	})
}

// Convolution ladder: the first and second stages of a convolutional sparse auto-encoder.
func BenchmarkConv2D(b *testing.B) {
	type conv struct {
		name                  string
		n, c, h, w, k, kh, kw int
	}
	convs := []conv{
		{"N16_C1_28x28_K16_9x9", 16, 1, 28, 28, 16, 9, 9},
		{"N32_C1_64x64_K32_9x9", 32, 1, 64, 64, 32, 9, 9},
		{"N16_C16_24x24_K64_5x5", 16, 16, 24, 24, 64, 5, 5},
	}
	g := kernels.Conv2D{StrideH: 1, StrideW: 1}
	forEachBackend(b, func(b *testing.B, be kernels.Backend) {
		for _, c := range convs {
			ho, wo := g.OutSize(c.h, c.w, c.kh, c.kw)
			flop := 2 * float64(c.n*c.k*ho*wo) * float64(c.c*c.kh*c.kw)
			x, w, y := mustNew(b, be, c.n, c.c, c.h, c.w), mustNew(b, be, c.k, c.c, c.kh, c.kw), mustNew(b, be, c.n, c.k, ho, wo)
			dx, dw := mustNew(b, be, c.n, c.c, c.h, c.w), mustNew(b, be, c.k, c.c, c.kh, c.kw)
			upload(be, x, 5)
			upload(be, w, 6)
			upload(be, y, 7)
			for _, dir := range []string{"forward", "backward-data", "backward-filter"} {
				b.Run(dir+"/"+c.name, func(b *testing.B) {
					run := func() {
						switch dir {
						case "forward":
							be.Conv2DForward(y, x, w, g)
						case "backward-data":
							be.Conv2DBackwardData(dx, y, w, g)
						default:
							be.Conv2DBackwardFilter(dw, x, y, g)
						}
					}
					run()
					waitDevice(b, be)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						run()
						waitDevice(b, be)
					}
					b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			for _, t := range []kernels.Tensor{x, w, y, dx, dw} {
				be.Free(t)
			}
		}
	})
}
