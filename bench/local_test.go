package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model/local"
)

// The locally connected ops alone — LocalForward, LocalBackwardData and LocalBackwardFilter —
// and one training step of the locally connected sparse auto-encoder (encoder, decoder, complex
// cells forward and backward, both filter gradients, the SGD update and the decoder's
// projection), on the default geometry (48×48 images, 9×9 windows at stride 3 with 4×4 units
// each: a 56×56 map, 254,016 weights) and on 64×64 images with 10×10 windows at stride 1 and 2×2
// units each (a 110×110 map, 1,210,000 weights). Reports GFLOP/s of
// the ops (2·B·weights each) and images/s of the step.
func BenchmarkLocal(b *testing.B) {
	forEachBackend(b, func(b *testing.B, be kernels.Backend) {
		for _, c := range []struct{ side, filter, stride, site, batch int }{{48, 9, 3, 4, 32}, {64, 10, 1, 2, 16}} {
			cfg := local.DefaultConfig()
			cfg.Rows, cfg.Cols, cfg.Inputs, cfg.Filter, cfg.Stride, cfg.Site = c.side, c.side, c.side*c.side, c.filter, c.stride, c.site
			name := fmt.Sprintf("%dx%d/F%d/S%d/site%d/B%d", c.side, c.side, c.filter, c.stride, c.site, c.batch)
			ho, wo := cfg.Positions()
			k := c.site * c.site
			flops := 2 * float64(c.batch) * float64(cfg.Weights())
			g := cfg.Geometry()
			x, y := mustNew(b, be, c.batch, 1, c.side, c.side), mustNew(b, be, c.batch, k, ho, wo)
			w := mustNew(b, be, ho, wo, k, 1, c.filter, c.filter)
			upload(be, x, 1)
			upload(be, y, 2)
			upload(be, w, 3)
			for _, op := range []struct {
				name string
				run  func()
			}{
				{"forward", func() { be.LocalForward(y, x, w, g) }},
				{"backward-data", func() { be.LocalBackwardData(x, y, w, g) }},
				{"backward-filter", func() { be.LocalBackwardFilter(w, x, y, g) }},
			} {
				b.Run(name+"/"+op.name, func(b *testing.B) {
					op.run()
					waitDevice(b, be)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						op.run()
						waitDevice(b, be)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			be.Free(x)
			be.Free(y)
			be.Free(w)
			b.Run(name+"/step", func(b *testing.B) {
				m, err := local.New(be, cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer m.Free()
				if err := m.Init(nil, 1); err != nil {
					b.Fatal(err)
				}
				xs := make([]float32, c.batch*cfg.Inputs)
				for i := range xs {
					xs[i] = float32(math.Sin(float64(i)))
				}
				trainSteps(b, m, c.batch, xs, nil, 0, 1)
				b.ReportMetric(float64(c.batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	})
}
