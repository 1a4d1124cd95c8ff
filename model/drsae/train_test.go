package drsae

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
)

// TestDrSAETrainShort trains a small DrSAE briefly on 2000 digits: the unsupervised loss must
// fall, and the validation error must beat chance (90%) by far.
func TestDrSAETrainShort(t *testing.T) {
	all, _ := modeltest.MNIST(t)
	sub, _ := all.Split(2500)
	sub = sub.Clone()
	sub.NormalizeL2()
	tr, va := sub.Split(2000)
	train, valid := model.FromDataset(tr), model.FromDataset(va)
	be := modeltest.Backend(t)
	cfg := DefaultConfig()
	cfg.Units, cfg.T = 64, 5
	m, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if err := m.Init(train, 1); err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	// 40 minibatches an epoch: a larger step than the default's, for 50,000 digits, to learn
	// something in a few epochs.
	tc.PretrainEpochs, tc.Epochs, tc.Patience, tc.LR, tc.LRDecay = 2, 6, 0, 0.03, 0
	works := model.NewWorks(m)
	defer works.Free()
	before, err := model.Evaluate(m, works, valid, 500, 0)
	if err != nil {
		t.Fatal(err)
	}
	trainer, err := model.NewTrainer(m, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer trainer.Free()
	var epochs []model.Epoch
	steps := 0
	trainer.Progress = func(model.Progress) { steps++ }
	trainer.OnEpoch = func(e model.Epoch) error {
		t.Logf("%s epoch %d: train %v | valid %v", e.Phase, e.Epoch, e.Train.Metrics(""), e.Valid.Metrics(""))
		epochs = append(epochs, e)
		return nil
	}
	if err := trainer.Run(context.Background(), train, valid); err != nil {
		t.Fatal(err)
	}
	if len(epochs) != 8 || steps != 8*(2000/tc.Batch+1) {
		t.Fatalf("%d epochs and %d progress reports, want 8 and %d", len(epochs), steps, 8*(2000/tc.Batch+1))
	}
	if first, last := before.Mean("loss"), epochs[1].Valid.Mean("loss"); !(last < 0.8*first) {
		t.Errorf("unsupervised validation loss did not fall by 20%%: %.4f → %.4f", first, last)
	}
	if e := epochs[len(epochs)-1].Valid.Mean("err"); !(e < 0.25) {
		t.Errorf("validation error %.3f after training, want < 0.25 (chance is 0.9)", e)
	}
	if trainer.State.Phase != model.PhaseDone || !trainer.State.HasBest {
		t.Errorf("state after training: %+v", trainer.State)
	}
}

// TestDrSAEResume: training 2+3 epochs straight and with a checkpoint saved, reloaded and
// resumed in the supervised phase give the same parameters bit for bit, with and without the
// parameter average.
func TestDrSAEResume(t *testing.T) {
	be := modeltest.Backend(t)
	train, valid := model.FromDataset(modeltest.Synth(16, 3, 240, 1)), model.FromDataset(modeltest.Synth(16, 3, 60, 2))
	for _, avg := range []float64{0, 0.9} {
		t.Run(fmt.Sprintf("average=%g", avg), func(t *testing.T) {
			tc := DefaultTrainConfig()
			tc.Batch, tc.PretrainEpochs, tc.Epochs, tc.Patience, tc.EvalBatch, tc.Average = 20, 2, 3, 0, 25, avg
			traintest.Resume(t, func() model.Module {
				cfg := DefaultConfig()
				cfg.Inputs, cfg.Rows, cfg.Cols, cfg.Units, cfg.Classes, cfg.T = 16, 0, 0, 12, 3, 4
				m, err := New(be, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Init(train, 5); err != nil {
					t.Fatal(err)
				}
				return m
			}, tc, train, valid, 3)
		})
	}
}

// TestUnits: at initialization every encoder row is α times its decoder column (angle 0); a row
// turned orthogonal to its column measures π/2; ‖(S−I)ᵢ‖ leaves out S's identity and ‖Cᵢ‖ is a
// column's norm; GroupUnits splits at the paper's thresholds and sums the classifier's weight.
func TestUnits(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := DefaultConfig()
	cfg.Inputs, cfg.Rows, cfg.Cols, cfg.Units, cfg.Classes, cfg.T = 4, 0, 0, 3, 2, 2
	m, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	be.Upload(m.d.Value, []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}) // D [4,3]: columns e0, e1, e2
	be.Upload(m.e.Value, []float32{2, 0, 0, 0, 0, 0, 0, 3, 0, 1, 1, 0}) // rows 2e0, 3e3, e1+e2
	be.Upload(m.s.Value, []float32{1, 0.3, 0.4, 0, 1, 0, 0, 0, 3})      // (S−I) rows: 0.5, 0, 2
	be.Upload(m.c.Value, []float32{3, 0, 1, 4, 0, 0})                   // C columns: 5, 0, 1
	units, err := Units(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []Unit{{0, 0.5, 5}, {math.Pi / 2, 0, 0}, {math.Pi / 4, 2, 1}}
	for i, w := range want {
		g := units[i]
		if math.Abs(g.Angle-w.Angle) > 1e-6 || math.Abs(g.Recurrent-w.Recurrent) > 1e-6 || math.Abs(g.Class-w.Class) > 1e-6 {
			t.Errorf("unit %d = %+v, want %+v", i, g, w)
		}
	}
	part, mid, cat := GroupUnits(units)
	close := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if part.N != 1 || !close(part.Recurrent, 0.5) || !close(part.Class, 5) || !close(part.ClassShare, 25.0/26) {
		t.Errorf("part-units %+v, want 1 unit, 0.5, 5, 25/26", part)
	}
	if mid.N != 0 || mid.ClassShare != 0 {
		t.Errorf("between %+v, want none", mid)
	}
	if cat.N != 2 || !close(cat.Recurrent, 1) || !close(cat.Class, 0.5) || !close(cat.ClassShare, 1.0/26) {
		t.Errorf("categorical %+v, want 2 units, medians 1 and 0.5, 1/26", cat)
	}
}
