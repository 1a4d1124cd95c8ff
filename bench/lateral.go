package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model/lateral"
)

// lateralInference: inference with lateral inhibition (the default config: 8×8 patches, a
// binary tree of 63 units, 50 proximal steps each with the threshold λ + 2(S|z|)_i, one
// step-size estimate) at a ladder of batch sizes, one Forward per iteration, in samples/s.
var lateralInference = Group{Name: "LateralInference", BackendFirst: true, Cases: lateralCases()}

func lateralCases() []Case {
	var cases []Case
	for _, batch := range []int{16, 64, 256} {
		cases = append(cases, Case{Name: fmt.Sprintf("B%d", batch), Unit: "samples/s", Quick: batch == 16,
			Run: func(b *testing.B, be kernels.Backend) {
				cfg := lateral.DefaultConfig()
				l, err := lateral.New(be, cfg)
				if err != nil {
					stop(b, err)
				}
				defer l.Free()
				if err := l.Init(nil, 1); err != nil {
					stop(b, err)
				}
				w, err := l.NewWork(batch)
				if err != nil {
					stop(b, err)
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
						stop(b, err)
					}
				}
				waitDevice(b, be)
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
			}})
	}
	return cases
}
