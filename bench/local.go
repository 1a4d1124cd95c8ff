package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model/local"
)

// localOps: the locally connected ops alone — LocalForward, LocalBackwardData and
// LocalBackwardFilter — and one training step of the locally connected sparse auto-encoder
// (encoder, decoder, complex cells forward and backward, both filter gradients, the SGD update and
// the decoder's projection), on the default geometry (48×48 images, 9×9 windows at stride 3 with
// 4×4 units each: a 56×56 map, 254,016 weights) and on 64×64 images with 10×10 windows at stride 1
// and 2×2 units each (a 110×110 map, 1,210,000 weights); on the default geometry also the step
// with the surround inhibition of docs/local.md (μ 60, λ 1.5: one more [B, 3136]×[3136, 3136]
// product, whose result serves the loss and the gradient) and with the orientation prior (ν 0.03,
// computed on the host: D downloaded, its gradient uploaded). Reports GFLOP/s of the ops
// (2·B·weights each) and samples/s (also as images/s) of the steps.
var localOps = Group{Name: "Local", BackendFirst: true, Cases: localCases()}

// localStep names a training step's config.
type localStep struct {
	name string
	cfg  local.Config
}

func localCases() []Case {
	var cases []Case
	for _, c := range []struct{ side, filter, stride, site, batch int }{{48, 9, 3, 4, 32}, {64, 10, 1, 2, 16}} {
		cfg := local.DefaultConfig()
		cfg.Rows, cfg.Cols, cfg.Inputs, cfg.Filter, cfg.Stride, cfg.Site = c.side, c.side, c.side*c.side, c.filter, c.stride, c.site
		name := fmt.Sprintf("%dx%d/F%d/S%d/site%d/B%d", c.side, c.side, c.filter, c.stride, c.site, c.batch)
		for _, op := range []string{"forward", "backward-data", "backward-filter"} {
			cases = append(cases, Case{Name: name + "/" + op, Unit: "GFLOP/s", Quick: c.side == 48 && op == "forward",
				Run: func(b *testing.B, be kernels.Backend) {
					ho, wo := cfg.Positions()
					k := c.site * c.site
					g := cfg.Geometry()
					x, y := mustNew(b, be, c.batch, 1, c.side, c.side), mustNew(b, be, c.batch, k, ho, wo)
					w := mustNew(b, be, ho, wo, k, 1, c.filter, c.filter)
					defer be.Free(x)
					defer be.Free(y)
					defer be.Free(w)
					upload(be, x, 1)
					upload(be, y, 2)
					upload(be, w, 3)
					run := func() { be.LocalForward(y, x, w, g) }
					switch op {
					case "backward-data":
						run = func() { be.LocalBackwardData(x, y, w, g) }
					case "backward-filter":
						run = func() { be.LocalBackwardFilter(w, x, y, g) }
					}
					sec := timeLoop(b, be, run)
					b.ReportMetric(2*float64(c.batch)*float64(cfg.Weights())*float64(b.N)/sec/1e9, "GFLOP/s")
				}})
		}
		steps := []localStep{{"step", cfg}}
		if c.side == 48 {
			ring := cfg
			ring.Surround, ring.Lambda = 60, 1.5
			prior := cfg
			prior.OrientationPrior = 0.03
			steps = append(steps, localStep{"step-surround", ring}, localStep{"step-prior", prior})
		}
		for _, st := range steps {
			cfg := st.cfg
			cases = append(cases, Case{Name: name + "/" + st.name, Unit: "samples/s",
				Run: func(b *testing.B, be kernels.Backend) {
					m, err := local.New(be, cfg)
					if err != nil {
						stop(b, err)
					}
					defer m.Free()
					if err := m.Init(nil, 1); err != nil {
						stop(b, err)
					}
					xs := make([]float32, c.batch*cfg.Inputs)
					for i := range xs {
						xs[i] = float32(math.Sin(float64(i)))
					}
					trainSteps(b, m, c.batch, xs, nil, 0, 1)
					b.ReportMetric(float64(c.batch*b.N)/b.Elapsed().Seconds(), "images/s")
				}})
		}
	}
	return cases
}
