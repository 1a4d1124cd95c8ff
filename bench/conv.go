package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model/conv"
)

// convStep: one training step of the convolutional group-sparse auto-encoder (encoder
// convolution, ReLU and gains, decoder, complex-cell pooling over 2×2 cells of 2 maps, all
// gradients, Adam-free SGD update and the decoder's projection): MNIST-sized digits (28×28,
// B = 256, 32 filters 9×9) and whole 256×256 images (B = 8, 64 filters 9×9; on the GPU split into
// chunks where a tensor would pass the storage block). Reports samples/s and the GFLOP/s of the
// step's five convolutions (encoder, decoder, the decoder's adjoint and the two filter gradients,
// 2·B·K·C·F²·Ho·Wo each).
var convStep = Group{Name: "ConvStep", BackendFirst: true, Cases: convStepCases()}

func convStepCases() []Case {
	var cases []Case
	for _, c := range []struct{ side, batch, maps int }{{28, 256, 32}, {256, 8, 64}} {
		cases = append(cases, Case{Name: fmt.Sprintf("%dx%d/B%d/K%d", c.side, c.side, c.batch, c.maps), Unit: "samples/s",
			Run: func(b *testing.B, be kernels.Backend) {
				cfg := conv.DefaultConfig()
				cfg.Rows, cfg.Cols, cfg.Inputs, cfg.Maps = c.side, c.side, c.side*c.side, c.maps
				m, err := conv.New(be, cfg)
				if err != nil {
					stop(b, err)
				}
				defer m.Free()
				if err := m.Init(nil, 1); err != nil {
					stop(b, err)
				}
				x := make([]float32, c.batch*cfg.Inputs)
				for i := range x {
					x[i] = float32(math.Sin(float64(i)))
				}
				trainSteps(b, m, c.batch, x, nil, 0, 1)
				g := cfg.Geometry()
				flops := 5 * 2 * float64(c.batch*cfg.Maps*cfg.Channels*cfg.Filter*cfg.Filter*g.CodeH*g.CodeW)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}})
	}
	return cases
}
