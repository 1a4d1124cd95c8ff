package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/drsae"
)

// drsaeStep: one DrSAE training step — forward through the T recurrent steps, backpropagation
// through time, the SGD update and (every 5th step, as in training) the projection onto the
// constraints — on random unit-norm inputs, in samples/s. The paper's net is 784-400, T = 11
// (the authors trained it on minibatches of 10: --recipe paper); make run trains 784-200, T = 5.
var drsaeStep = Group{Name: "DrSAEStep", Cases: drsaeStepCases()}

func drsaeStepCases() []Case {
	var cases []Case
	for _, sz := range []struct{ batch, units, T int }{{256, 400, 11}, {50, 400, 11}, {10, 400, 11}, {50, 200, 5}, {256, 200, 5}} {
		cases = append(cases, Case{Name: fmt.Sprintf("B%d-784-%d-T%d", sz.batch, sz.units, sz.T), Unit: "samples/s",
			Quick: sz.batch == 50 && sz.units == 200,
			Run: func(b *testing.B, be kernels.Backend) {
				cfg := drsae.DefaultConfig()
				cfg.Units, cfg.T = sz.units, sz.T
				m, err := drsae.New(be, cfg)
				if err != nil {
					stop(b, err)
				}
				defer m.Free()
				rng := rand.New(rand.NewPCG(1, 2))
				x := make([]float32, sz.batch*784)
				labels := make([]float32, sz.batch)
				for s := range sz.batch {
					var n float64
					for j := range 784 {
						v := rng.Float64()
						x[s*784+j] = float32(v)
						n += v * v
					}
					for j := range 784 {
						x[s*784+j] /= float32(n)
					}
					labels[s] = float32(s % 10)
				}
				if err := m.Init(&model.Samples{X: x, Dim: 784}, 1); err != nil {
					stop(b, err)
				}
				trainSteps(b, m, sz.batch, x, labels, 1, 5)
			}})
	}
	return cases
}

// trainSteps times b.N training steps of m on one minibatch of batch samples, issued as the
// trainer issues them: a new upload of the inputs, Forward, Backward, an SGD step with momentum
// 0.9, and the projections every projectEvery steps. It reports samples/s.
func trainSteps(b *testing.B, m model.Module, batch int, x, y []float32, phase, projectEvery int) {
	be := m.Backend()
	w, err := m.NewWork(batch)
	if err != nil {
		stop(b, err)
	}
	defer w.Free()
	if err := model.AllocGrads(be, m.Params()); err != nil {
		stop(b, err)
	}
	tc := model.DefaultTrainConfig()
	opt, err := model.NewOptimizer(be, m.Params(), tc)
	if err != nil {
		stop(b, err)
	}
	defer opt.Free()
	if y != nil {
		be.Upload(w.Targets(), y)
	}
	step := func(i int) {
		model.Upload(be, w, x, nil) // a new minibatch arrives every step in training
		if err := m.Forward(w, phase); err != nil {
			stop(b, err)
		}
		m.Backward(w, phase)
		opt.Step(m.Params(), 1e-4)
		if i%projectEvery == projectEvery-1 {
			for _, p := range m.Params() {
				if p.Project != nil {
					p.Project(p.Value)
				}
			}
		}
	}
	step(0)
	waitDevice(b, be)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i)
		waitDevice(b, be)
	}
	b.StopTimer()
	b.ReportMetric(float64(w.Size())*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
