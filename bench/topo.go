package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/topo"
)

// topoStep: one training step of the topographic auto-encoder (12×12 patches, 16×16 torus map,
// 5×5 Gaussian pools; the default config) and of its predictive variant (15 solver iterations
// per step), at a ladder of batch sizes: encoder, decoder, pooling forward and backward, the SGD
// update with momentum and the decoder's renormalization. Reports samples/s.
var topoStep = Group{Name: "TopoStep", BackendFirst: true, Cases: topoStepCases()}

func topoStepCases() []Case {
	var cases []Case
	for _, predictive := range []bool{false, true} {
		name := "autoencoder"
		if predictive {
			name = "predictive"
		}
		for _, batch := range []int{16, 64, 256} {
			cases = append(cases, Case{Name: fmt.Sprintf("%s/B%d", name, batch), Unit: "samples/s", Quick: batch == 16 && !predictive,
				Run: func(b *testing.B, be kernels.Backend) {
					cfg := topo.DefaultConfig()
					// No step-size re-estimate (a host round trip) inside the timing.
					cfg.Predictive, cfg.InferIters, cfg.LipschitzEvery = predictive, 15, 1<<30
					t, err := topo.New(be, cfg)
					if err != nil {
						stop(b, err)
					}
					defer t.Free()
					if err := t.Init(nil, 1); err != nil {
						stop(b, err)
					}
					x := make([]float32, batch*cfg.Inputs)
					for i := range x {
						x[i] = float32(math.Sin(float64(i)))
					}
					trainSteps(b, t, batch, x, nil, 0, 1)
				}})
		}
	}
	return cases
}

// groupSparse: group-sparse inference, 50 iterations of block FISTA (disjoint groups of 4) and
// of the smoothed majorize–minimize solver (the 16×16 torus with 5×5 Gaussian pools), 144
// inputs, 256 units. Reports samples·iterations/s.
var groupSparse = Group{Name: "GroupSparse", BackendFirst: true, Cases: groupSparseCases()}

func groupSparseCases() []Case {
	const n, m, iters = 144, 256, 50
	var cases []Case
	for _, smoothed := range []bool{false, true} {
		name := "block-fista"
		if smoothed {
			name = "smoothed-mm"
		}
		for _, batch := range []int{16, 256} {
			cases = append(cases, Case{Name: fmt.Sprintf("%s/B%d", name, batch), Unit: "sample-iters/s",
				Run: func(b *testing.B, be kernels.Backend) {
					layout, err := kernels.DisjointPools(256, 4)
					if smoothed {
						layout, err = kernels.TorusPools(16, 16, 5, 1, 1.5)
					}
					if err != nil {
						stop(b, err)
					}
					pools, err := be.NewPools(layout)
					if err != nil {
						stop(b, err)
					}
					defer be.FreePools(pools)
					d, x, z := mustNew(b, be, n, m), mustNew(b, be, batch, n), mustNew(b, be, batch, m)
					defer be.Free(d)
					defer be.Free(x)
					defer be.Free(z)
					upload(be, d, 9)
					upload(be, x, 10)
					s, err := model.NewGroupSparse(be, d, pools, model.GroupSparseOptions{Lambda: 0.5, Eps: 1e-4, Iters: iters})
					if err != nil {
						stop(b, err)
					}
					defer s.Free()
					sec := timeLoop(b, be, func() {
						be.Fill(z, 0)
						if err := s.Solve(z, x, nil); err != nil {
							stop(b, err)
						}
					})
					b.ReportMetric(float64(batch*iters*b.N)/sec, "sample-iters/s")
				}})
		}
	}
	return cases
}
