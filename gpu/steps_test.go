package gpu

import (
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/drsae"
)

// maxStepBarriers bounds the dependent dispatches of one DrSAE training step (issue 12: at most
// 20): on a GPU every barrier waits for all earlier work, about 13 µs each on an H200, so they,
// not the arithmetic, bound a step at the paper's size.
const maxStepBarriers = 20

// TestDrSAEStepDispatches counts what one training step of the paper's DrSAE, 784-400¹¹-10 at a
// minibatch of 256 in the supervised phase, issues to the device, as the trainer issues it: a new
// minibatch uploaded, Forward, Backward, an SGD step with momentum. The recurrent encoder's 11
// steps and their backpropagation are one dispatch each (ShrinkRecurrence). With -short the
// minibatch is 16: the counts do not depend on it (27 dispatches, 16 barriers, 3 transfers at 10,
// 16 and 256), and llvmpipe takes 2 s for the step instead of 20.
func TestDrSAEStepDispatches(t *testing.T) {
	be := backend(t)
	batch := 256
	if testing.Short() {
		batch = 16
	}
	cfg := drsae.DefaultConfig()
	m, err := drsae.New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float32, batch*cfg.Inputs), make([]float32, batch)
	for i := range x {
		x[i] = float32(rng.Float64()) / 28
	}
	for i := range y {
		y[i] = float32(i % cfg.Classes)
	}
	if err := m.Init(&model.Samples{X: x, Dim: cfg.Inputs}, 1); err != nil {
		t.Fatal(err)
	}
	w, err := m.NewWork(batch)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	if err := model.AllocGrads(be, m.Params()); err != nil {
		t.Fatal(err)
	}
	tc := drsae.DefaultTrainConfig()
	tc.Momentum = 0.9
	opt, err := model.NewOptimizer(be, m.Params(), tc)
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Free()
	step := func() Counters {
		if err := be.Sync(); err != nil {
			t.Fatal(err)
		}
		before := be.Counters()
		model.Upload(be, w, x, y)
		if err := m.Forward(w, 1); err != nil {
			t.Fatal(err)
		}
		m.Backward(w, 1)
		opt.Step(m.Params(), 1e-3)
		if err := be.Sync(); err != nil {
			t.Fatal(err)
		}
		after := be.Counters()
		return Counters{after.Dispatches - before.Dispatches, after.Barriers - before.Barriers, after.Transfers - before.Transfers}
	}
	step() // compiles the programs
	c := step()
	t.Logf("one DrSAE 784-400¹¹-10 step at B=%d: %d dispatches, %d barriers, %d transfers", batch, c.Dispatches, c.Barriers, c.Transfers)
	if c.Barriers > maxStepBarriers {
		t.Errorf("a step issues %d barriers (dependent dispatches), want at most %d", c.Barriers, maxStepBarriers)
	}
	if c.Dispatches == 0 {
		t.Error("no dispatches counted")
	}
}
