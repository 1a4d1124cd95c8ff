package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/data"
)

// mnistSubset loads the first ntrain + nvalid MNIST training digits, scaled to unit norm, or
// skips the test where MNIST is not on this machine.
func mnistSubset(t *testing.T, ntrain, nvalid int) (train, valid *data.Dataset) {
	t.Helper()
	tr, _, err := data.LoadMNIST("")
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	sub, _ := tr.Split(ntrain + nvalid)
	sub = sub.Clone()
	sub.NormalizeL2()
	return sub.Split(ntrain)
}

func smallDrSAE(t *testing.T, train *data.Dataset, units, T int) *DrSAE {
	t.Helper()
	cfg := DrSAEConfig{Inputs: train.Dim(), Units: units, Classes: 10, T: T, Rows: train.Rows, Cols: train.Cols}
	cfg.SetDefaults()
	m, err := NewDrSAE(drsaeTestBackend(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Init(train.Pixels, 1); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDrSAETrainShort trains a small DrSAE briefly on 2000 digits: the unsupervised loss must
// fall, and the validation error must beat chance (90%) by far.
func TestDrSAETrainShort(t *testing.T) {
	train, valid := mnistSubset(t, 2000, 500)
	m := smallDrSAE(t, train, 64, 5)
	cfg := DefaultDrSAETrainConfig()
	// 40 minibatches an epoch: a larger step than the default's, for 50,000 digits, to learn
	// something in a few epochs.
	cfg.UnsupEpochs, cfg.SupEpochs, cfg.Patience, cfg.LR, cfg.LRDecay = 2, 6, 0, 0.03, 0
	before, err := m.Evaluate(valid, 500, false)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewDrSAETrainer(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var epochs []DrSAEEpoch
	steps := 0
	err = tr.Run(context.Background(), train, valid, func(p Progress) { steps++ }, func(e DrSAEEpoch) error {
		t.Logf("%s epoch %d: train loss %.4f recon %.4f l1 %.3f xent %.3f err %.3f | valid loss %.4f err %.4f L0 %.1f",
			e.Phase, e.Epoch, e.Train.Total, e.Train.Recon, e.Train.Sparsity, e.Train.Class, e.Train.ErrorRate(), e.Valid.Total, e.Valid.ErrorRate(), e.Valid.L0)
		epochs = append(epochs, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(epochs) != 8 || steps != 8*(2000/cfg.Batch+1) {
		t.Fatalf("%d epochs and %d progress reports, want 8 and %d", len(epochs), steps, 8*(2000/cfg.Batch+1))
	}
	if first, last := before.Total, epochs[1].Valid.Total; !(last < 0.8*first) {
		t.Errorf("unsupervised validation loss did not fall by 20%%: %.4f → %.4f", first, last)
	}
	if e := epochs[len(epochs)-1].Valid.ErrorRate(); !(e < 0.25) {
		t.Errorf("validation error %.3f after training, want < 0.25 (chance is 0.9)", e)
	}
	if tr.State.Phase != PhaseDone || !tr.State.HasBest {
		t.Errorf("state after training: %+v", tr.State)
	}
}

// synthData makes a small labelled set: k noisy prototypes in n dimensions, unit norm.
func synthData(n, k, count int, seed uint64) *data.Dataset {
	rng := newTestRand(seed)
	protos := randSlice(rng, k*n, 1, 0.5)
	d := &data.Dataset{Name: "synth", N: count, Rows: 1, Cols: n, Classes: k,
		Pixels: make([]float32, count*n), Labels: make([]uint8, count)}
	for s := 0; s < count; s++ {
		c := s % k
		d.Labels[s] = uint8(c)
		for j := 0; j < n; j++ {
			d.Pixels[s*n+j] = float32(protos[c*n+j] + 0.6*rng.NormFloat64())
		}
	}
	d.NormalizeL2()
	return d
}

func synthTrainer(t *testing.T, train *data.Dataset, cfg DrSAETrainConfig) *DrSAETrainer {
	t.Helper()
	mc := DrSAEConfig{Inputs: train.Dim(), Units: 12, Classes: train.Classes, T: 4}
	mc.SetDefaults()
	m, err := NewDrSAE(drsaeTestBackend(t), mc)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Init(train.Pixels, 5); err != nil {
		t.Fatal(err)
	}
	tr, err := NewDrSAETrainer(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func hostParams(t *testing.T, m *DrSAE) map[string]HostTensor {
	t.Helper()
	p, err := m.HostParams()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDrSAEResume: training 2+3 epochs straight and training them with a checkpoint saved,
// reloaded and resumed in between give the same parameters bit for bit (parameters, velocities,
// best parameters, epoch counter and minibatch order are all restored).
// With Config.Average, the parameter average is restored too.
func TestDrSAEResume(t *testing.T) {
	for _, avg := range []float64{0, 0.9} {
		t.Run(fmt.Sprintf("average=%g", avg), func(t *testing.T) { testDrSAEResume(t, avg) })
	}
}

func testDrSAEResume(t *testing.T, avg float64) {
	train := synthData(16, 3, 240, 1)
	valid := synthData(16, 3, 60, 2)
	cfg := DefaultDrSAETrainConfig()
	cfg.Batch, cfg.UnsupEpochs, cfg.SupEpochs, cfg.Patience, cfg.EvalBatch = 20, 2, 3, 0, 25
	cfg.Average = avg

	straight := synthTrainer(t, train, cfg)
	if err := straight.Run(context.Background(), train, valid, nil, nil); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ck := filepath.Join(dir, "checkpoint.safetensors")
	first := synthTrainer(t, train, cfg)
	stopAfter := errors.New("stop here")
	n := 0
	err := first.Run(context.Background(), train, valid, nil, func(e DrSAEEpoch) error {
		if err := first.SaveCheckpoint(ck); err != nil {
			return err
		}
		if n++; n == 3 { // in the supervised phase, after a best exists
			return stopAfter
		}
		return nil
	})
	if !errors.Is(err, stopAfter) {
		t.Fatalf("first run: %v", err)
	}
	resumed, err := LoadDrSAECheckpoint(drsaeTestBackend(t), ck)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.State.Phase != PhaseSupervised || resumed.State.Epoch != 1 || !resumed.State.HasBest || resumed.State.HasAverage != (avg > 0) {
		t.Fatalf("resumed state %+v", resumed.State)
	}
	if err := resumed.Run(context.Background(), train, valid, nil, nil); err != nil {
		t.Fatal(err)
	}
	a, b := hostParams(t, straight.Model), hostParams(t, resumed.Model)
	for _, name := range DrSAEParams {
		for i := range a[name].Data {
			if a[name].Data[i] != b[name].Data[i] {
				t.Fatalf("%s[%d]: straight %g, resumed %g", name, i, a[name].Data[i], b[name].Data[i])
			}
		}
	}
	if straight.State.BestValidError != resumed.State.BestValidError || straight.State.Samples != resumed.State.Samples {
		t.Errorf("states differ: straight %+v, resumed %+v", straight.State, resumed.State)
	}

	// The checkpoint is also a model file.
	if m, err := LoadDrSAE(drsaeTestBackend(t), ck); err != nil {
		t.Errorf("checkpoint as a model: %v", err)
	} else if m.Config != straight.Model.Config {
		t.Errorf("config %+v, want %+v", m.Config, straight.Model.Config)
	}
}

// TestDrSAENotFinite: a learning rate that blows up stops training with ErrNotFinite naming
// the epoch and step, and the checkpoint of the last good epoch stays as it was.
func TestDrSAENotFinite(t *testing.T) {
	train := synthData(16, 3, 240, 1)
	valid := synthData(16, 3, 60, 2)
	cfg := DefaultDrSAETrainConfig()
	cfg.Batch, cfg.UnsupEpochs, cfg.SupEpochs, cfg.ReportEvery, cfg.Momentum = 20, 1, 3, 1, 0
	tr := synthTrainer(t, train, cfg)
	dir := t.TempDir()
	ck := filepath.Join(dir, "checkpoint.safetensors")
	err := tr.Run(context.Background(), train, valid, nil, func(e DrSAEEpoch) error {
		if err := tr.SaveCheckpoint(ck); err != nil {
			return err
		}
		tr.Config.LR = 1e30 // after the first good epoch
		return nil
	})
	if !errors.Is(err, ErrNotFinite) {
		t.Fatalf("err = %v, want ErrNotFinite", err)
	}
	if !strings.Contains(err.Error(), "epoch 1, step") || !strings.Contains(err.Error(), "supervised") {
		t.Errorf("error %q does not name the phase, epoch and step", err)
	}
	back, err := LoadDrSAECheckpoint(drsaeTestBackend(t), ck)
	if err != nil {
		t.Fatalf("the last good checkpoint: %v", err)
	}
	if back.State.Phase != PhaseUnsupervised || back.State.Epoch != 1 {
		t.Errorf("checkpoint state %+v, want unsupervised epoch 1", back.State)
	}
}

// TestDrSAELoadErrors: a model whose tensors disagree with its config, or a corrupt config,
// is one error naming the file.
func TestDrSAELoadErrors(t *testing.T) {
	be := drsaeTestBackend(t)
	cfg := DrSAEConfig{Inputs: 8, Units: 4, Classes: 3, T: 2}
	cfg.SetDefaults()
	m, err := NewDrSAE(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	back, err := LoadDrSAE(be, path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := hostParams(t, m), hostParams(t, back)
	for _, n := range DrSAEParams {
		if len(a[n].Data) != len(b[n].Data) || a[n].Data[0] != b[n].Data[0] {
			t.Errorf("%s differs after a round trip", n)
		}
	}
	js, _ := os.ReadFile(ConfigPath(path))
	for _, tc := range []struct{ name, from, to, want string }{
		{"shape", `"units": 4`, `"units": 5`, `tensor "C" has shape [3 4], the config says [3 5]`},
		{"range", `"T": 2`, `"T": 0`, "T = 0"},
		{"json", `{`, `[`, "not valid JSON"},
	} {
		os.WriteFile(ConfigPath(path), []byte(strings.Replace(string(js), tc.from, tc.to, 1)), 0o644)
		_, err := LoadDrSAE(be, path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: err = %v, want one naming the file and %q", tc.name, err, tc.want)
		}
	}
	os.WriteFile(ConfigPath(path), js, 0o644)
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)-7], 0o644)
	if _, err := LoadDrSAE(be, path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: err = %v", err)
	}
	_ = math.Pi
}

// TestDrSAEAverage: with Config.Average, every step updates a ← a·avg + (1 − a)·θ; the
// discriminative epochs report the raw parameters' validation beside the average's; and the
// model left at the end is the average of the best epoch, as saved in that epoch's checkpoint.
func TestDrSAEAverage(t *testing.T) {
	train := synthData(16, 3, 240, 1)
	valid := synthData(16, 3, 60, 2)
	cfg := DefaultDrSAETrainConfig()
	cfg.Batch, cfg.UnsupEpochs, cfg.SupEpochs, cfg.Patience, cfg.EvalBatch = 20, 1, 4, 0, 25
	cfg.Average = 0.75

	// The update rule, on the backend.
	tr := synthTrainer(t, train, cfg)
	be := tr.Model.be
	if err := tr.average(); err != nil { // starts the average at θ
		t.Fatal(err)
	}
	theta0 := hostParams(t, tr.Model)
	for _, p := range tr.Model.Params() {
		be.Axpby(1, p, 1, p) // θ ← 2θ
	}
	if err := tr.average(); err != nil {
		t.Fatal(err)
	}
	tr.swapAverage()
	got := hostParams(t, tr.Model)
	tr.swapAverage()
	for _, name := range DrSAEParams {
		for i, v := range theta0[name].Data {
			want := 0.75*v + 0.25*2*v
			if d := math.Abs(float64(got[name].Data[i]) - float64(want)); d > 1e-6*(1+math.Abs(float64(want))) {
				t.Fatalf("average %s[%d] = %g, want %g", name, i, got[name].Data[i], want)
			}
		}
	}
	tr.Free()

	tr = synthTrainer(t, train, cfg)
	defer tr.Free()
	ck := filepath.Join(t.TempDir(), "best.safetensors")
	raws := 0
	err := tr.Run(context.Background(), train, valid, nil, func(e DrSAEEpoch) error {
		if (e.Raw != nil) != (e.Phase == PhaseSupervised) {
			t.Errorf("%s epoch %d: raw validation reported: %v", e.Phase, e.Epoch, e.Raw != nil)
		}
		if e.Raw != nil {
			raws++
		}
		if e.Improved {
			return tr.SaveCheckpoint(ck)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if raws != cfg.SupEpochs {
		t.Errorf("%d discriminative epochs reported the raw parameters, want %d", raws, cfg.SupEpochs)
	}
	expectSavedAverage(t, tr.Model, ck)
}

// TestDrSAENoValidation: without a validation set, training runs every epoch (no early stop),
// the model left is the last epoch's average, and the checkpoint's JSON stays valid.
func TestDrSAENoValidation(t *testing.T) {
	train := synthData(16, 3, 240, 1)
	cfg := DefaultDrSAETrainConfig()
	cfg.Batch, cfg.UnsupEpochs, cfg.SupEpochs, cfg.Patience, cfg.EvalBatch = 20, 1, 4, 1, 25
	cfg.Average = 0.5
	tr := synthTrainer(t, train, cfg)
	defer tr.Free()
	ck := filepath.Join(t.TempDir(), "last.safetensors")
	epochs := 0
	err := tr.Run(context.Background(), train, &data.Dataset{}, nil, func(e DrSAEEpoch) error {
		epochs++
		if e.Phase == PhaseSupervised && !e.Improved {
			t.Errorf("discriminative epoch %d not kept as the best without validation", e.Epoch)
		}
		return tr.SaveCheckpoint(ck)
	})
	if err != nil {
		t.Fatal(err)
	}
	if epochs != cfg.UnsupEpochs+cfg.SupEpochs || tr.State.BestEpoch != cfg.SupEpochs {
		t.Fatalf("%d epochs, best epoch %d: want %d and %d", epochs, tr.State.BestEpoch, cfg.UnsupEpochs+cfg.SupEpochs, cfg.SupEpochs)
	}
	resumed, err := LoadDrSAECheckpoint(drsaeTestBackend(t), ck)
	if err != nil {
		t.Fatalf("checkpoint of a run without validation: %v", err)
	}
	defer resumed.Free()
	expectSavedAverage(t, tr.Model, ck)
}

// expectSavedAverage checks that m's parameters equal, bit for bit, the "average." tensors of
// the checkpoint ck.
func expectSavedAverage(t *testing.T, m *DrSAE, ck string) {
	t.Helper()
	tensors, _, err := LoadTensors(ck)
	if err != nil {
		t.Fatal(err)
	}
	final := hostParams(t, m)
	for _, name := range DrSAEParams {
		a := tensors["average."+name].Data
		if len(a) == 0 {
			t.Fatalf("%s has no average.%s", ck, name)
		}
		for i := range a {
			if a[i] != final[name].Data[i] {
				t.Fatalf("final %s[%d] = %g, the checkpoint's average %g", name, i, final[name].Data[i], a[i])
			}
		}
	}
}
