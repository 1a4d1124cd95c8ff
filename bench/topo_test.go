package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/topo"
)

// One training step of the topographic auto-encoder (12×12 patches, 16×16 torus map, 5×5
// Gaussian pools; the default config) and of its predictive variant (15 solver iterations per
// step), at a ladder of batch sizes: encoder, decoder, pooling forward and backward, the SGD
// update with momentum and the decoder's renormalization. Reports samples/s.
func BenchmarkTopoStep(b *testing.B) {
	forEachBackend(b, func(b *testing.B, be kernels.Backend) {
		for _, predictive := range []bool{false, true} {
			name := "autoencoder"
			if predictive {
				name = "predictive"
			}
			for _, batch := range []int{16, 64, 256} {
				b.Run(fmt.Sprintf("%s/B%d", name, batch), func(b *testing.B) {
					cfg := topo.DefaultConfig()
					// No step-size re-estimate (a host round trip) inside the timing.
					cfg.Predictive, cfg.InferIters, cfg.LipschitzEvery = predictive, 15, 1<<30
					t, err := topo.New(be, cfg)
					if err != nil {
						b.Fatal(err)
					}
					defer t.Free()
					if err := t.Init(nil, 1); err != nil {
						b.Fatal(err)
					}
					x := make([]float32, batch*cfg.Inputs)
					for i := range x {
						x[i] = float32(math.Sin(float64(i)))
					}
					trainSteps(b, t, batch, x, nil, 0, 1)
				})
			}
		}
	})
}

// Group-sparse inference: 50 iterations of block FISTA (disjoint groups of 4) and of the
// smoothed majorize–minimize solver (the 16×16 torus with 5×5 Gaussian pools), 144 inputs,
// 256 units. Reports samples·iterations/s.
func BenchmarkGroupSparse(b *testing.B) {
	torus, err := kernels.TorusPools(16, 16, 5, 1, 1.5)
	if err != nil {
		b.Fatal(err)
	}
	groups, err := kernels.DisjointPools(256, 4)
	if err != nil {
		b.Fatal(err)
	}
	const n, m, iters = 144, 256, 50
	forEachBackend(b, func(b *testing.B, be kernels.Backend) {
		for _, c := range []struct {
			name   string
			layout *kernels.PoolLayout
		}{{"block-fista", groups}, {"smoothed-mm", torus}} {
			pools, err := be.NewPools(c.layout)
			if err != nil {
				b.Fatal(err)
			}
			d := mustNew(b, be, n, m)
			upload(be, d, 9)
			for _, batch := range []int{16, 256} {
				b.Run(fmt.Sprintf("%s/B%d", c.name, batch), func(b *testing.B) {
					x, z := mustNew(b, be, batch, n), mustNew(b, be, batch, m)
					defer be.Free(x)
					defer be.Free(z)
					upload(be, x, 10)
					s, err := model.NewGroupSparse(be, d, pools, model.GroupSparseOptions{Lambda: 0.5, Eps: 1e-4, Iters: iters})
					if err != nil {
						b.Fatal(err)
					}
					defer s.Free()
					if err := s.Solve(z, x, nil); err != nil {
						b.Fatal(err)
					}
					waitDevice(b, be)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						be.Fill(z, 0)
						if err := s.Solve(z, x, nil); err != nil {
							b.Fatal(err)
						}
						waitDevice(b, be)
					}
					b.ReportMetric(float64(batch*iters*b.N)/b.Elapsed().Seconds(), "sample-iters/s")
				})
			}
			be.Free(d)
			be.FreePools(pools)
		}
	})
}
