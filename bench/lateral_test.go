package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model/lateral"
)

// Inference with lateral inhibition (the default config: 8×8 patches, a binary tree of 63
// units, 50 proximal steps each with the threshold λ + 2(S|z|)_i, one step-size estimate) at a
// ladder of batch sizes: one Forward per iteration of the benchmark. Reports samples/s.
func BenchmarkLateralInference(b *testing.B) {
	forEachBackend(b, func(b *testing.B, be kernels.Backend) {
		for _, batch := range []int{16, 64, 256} {
			b.Run(fmt.Sprintf("B%d", batch), func(b *testing.B) {
				cfg := lateral.DefaultConfig()
				l, err := lateral.New(be, cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Free()
				if err := l.Init(nil, 1); err != nil {
					b.Fatal(err)
				}
				w, err := l.NewWork(batch)
				if err != nil {
					b.Fatal(err)
				}
				defer w.Free()
				x := make([]float32, batch*cfg.Inputs)
				for i := range x {
					x[i] = float32(math.Sin(float64(i)))
				}
				be.Upload(w.Inputs(), x)
				b.ResetTimer()
				for range b.N {
					if err := l.Forward(w, 0); err != nil {
						b.Fatal(err)
					}
				}
				if err := be.Sync(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	})
}
