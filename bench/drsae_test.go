package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// BenchmarkDrSAEStep times one DrSAE training step — forward through the T recurrent steps,
// backpropagation through time, the SGD update and (every 5th step, as in training) the
// projection onto the constraints — on random unit-norm inputs, per backend, and reports
// samples/s. The paper's net is 784-400, T = 11; the default of `drsae train drsae` is
// 784-200, T = 5.
func BenchmarkDrSAEStep(b *testing.B) {
	for _, sz := range []struct{ batch, units, T int }{{256, 400, 11}, {50, 400, 11}, {50, 200, 5}, {256, 200, 5}} {
		b.Run(fmt.Sprintf("B%d-784-%d-T%d", sz.batch, sz.units, sz.T), func(b *testing.B) {
			forEachBackend(b, func(b *testing.B, be kernels.Backend) {
				drsaeStep(b, be, sz.batch, sz.units, sz.T)
			})
		})
	}
}

func drsaeStep(b *testing.B, be kernels.Backend, batch, units, T int) {
	cfg := model.DrSAEConfig{Inputs: 784, Units: units, Classes: 10, T: T}
	cfg.SetDefaults()
	m, err := model.NewDrSAE(be, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Free()
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*784)
	labels := make([]float32, batch)
	for s := 0; s < batch; s++ {
		var n float64
		for j := 0; j < 784; j++ {
			v := rng.Float64()
			x[s*784+j] = float32(v)
			n += v * v
		}
		for j := 0; j < 784; j++ {
			x[s*784+j] /= float32(n)
		}
		labels[s] = float32(s % 10)
	}
	if err := m.Init(x, 1); err != nil {
		b.Fatal(err)
	}
	w, err := m.NewBatch(batch)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Free()
	g, err := m.NewGrads()
	if err != nil {
		b.Fatal(err)
	}
	defer g.Free(be)
	opt, err := model.NewSGD(be, m.Params(), 0.9, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer opt.Free()
	be.Upload(w.Labels, labels)
	waitDevice(b, be)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		be.Upload(w.X, x) // a new minibatch arrives every step in training
		m.Forward(w, true)
		m.Backward(w, g, true)
		opt.Step(m.Params(), g.List(), 1e-3)
		if i%5 == 4 {
			m.Project()
		}
		waitDevice(b, be)
	}
	b.StopTimer()
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
