package model_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
)

// meanModel is the smallest module: it learns the mean of its samples, w ≈ E[x], on the loss
// ½‖x − w‖², so that every trainer feature can be checked against arithmetic done by hand.
// Its config chooses one or two phases (the second identical to the first).
type meanConfig struct {
	Inputs int     `json:"inputs" cfg:"required,noflag"`
	Phases int     `json:"phases" help:"phases of training"`
	Radius float64 `json:"radius" help:"bound on ‖w‖ (0: none)"`
}

func (c meanConfig) Validate() error {
	if c.Inputs <= 0 || c.Phases < 1 || c.Phases > 2 || c.Radius < 0 {
		return fmt.Errorf("inputs = %d, phases = %d, radius = %g: want > 0, 1 or 2, ≥ 0", c.Inputs, c.Phases, c.Radius)
	}
	return nil
}

type meanModel struct {
	cfg meanConfig
	be  kernels.Backend
	ps  []*model.Param
}

type meanWork struct {
	x, r kernels.Tensor
	sums *model.Scalars
	be   kernels.Backend
}

func (w *meanWork) Size() int               { return w.x.Shape()[0] }
func (w *meanWork) Inputs() kernels.Tensor  { return w.x }
func (w *meanWork) Targets() kernels.Tensor { return nil }
func (w *meanWork) Free()                   { model.FreeTensors(w.be, w.x, w.r); w.sums.Free() }

func (m *meanModel) Kind() string             { return "mean" }
func (m *meanModel) Config() model.Config     { return &m.cfg }
func (m *meanModel) Backend() kernels.Backend { return m.be }
func (m *meanModel) Params() []*model.Param   { return m.ps }
func (m *meanModel) Phases() []string {
	if m.cfg.Phases == 1 {
		return []string{"train"}
	}
	return []string{"first", "second"}
}
func (m *meanModel) Criterion() string { return "loss" }
func (m *meanModel) Free()             { model.FreeParams(m.be, m.ps) }
func (m *meanModel) Init(_ *model.Samples, seed uint64) error {
	w := make([]float32, m.cfg.Inputs)
	for i := range w {
		w[i] = float32(seed) + float32(i)
	}
	m.be.Upload(m.ps[0].Value, w)
	return nil
}
func (m *meanModel) NewWork(b int) (model.Work, error) {
	ts, err := model.NewTensors(m.be, []int{b, m.cfg.Inputs}, []int{b, m.cfg.Inputs})
	if err != nil {
		return nil, err
	}
	s, _ := model.NewScalars(m.be, 1)
	return &meanWork{x: ts[0], r: ts[1], sums: s, be: m.be}, nil
}
func (m *meanModel) Forward(mw model.Work, phase int) error {
	w := mw.(*meanWork)
	m.be.BroadcastAdd(w.r, w.x, -1, m.ps[0].Value, kernels.PerCol) // r = x − w
	return nil
}
func (m *meanModel) Backward(mw model.Work, phase int) {
	w := mw.(*meanWork)
	g := m.ps[0].Grad
	m.be.Reduce(g, w.r, kernels.ReduceSum, kernels.PerCol)
	m.be.Axpby(-1/float32(w.Size()), g, 0, g) // ∂/∂w mean ½‖x − w‖² = −mean(x − w)
}
func (m *meanModel) Loss(mw model.Work, phase int) (model.Sums, error) {
	w := mw.(*meanWork)
	w.sums.Sum(w.r, kernels.ReduceSquares)
	v, err := w.sums.Read()
	s := model.Sums{N: w.Size()}
	if err == nil {
		s.Set("loss", v[0]/2)
	}
	return s, err
}
func (m *meanModel) Code(w model.Work) kernels.Tensor { return w.(*meanWork).r }

func init() {
	model.Register(model.Kind{Name: "mean", Summary: "a test module", Phases: []string{"first", "second"},
		NewConfig: func() model.Config { return &meanConfig{Phases: 1} },
		NewTrain:  model.DefaultTrainConfig,
		New: func(be kernels.Backend, c model.Config) (model.Module, error) {
			cfg := *c.(*meanConfig)
			ps, err := model.NewParams(be, []string{"w"}, [][]int{{cfg.Inputs}})
			if err != nil {
				return nil, err
			}
			if cfg.Radius > 0 {
				ps[0].Project = func(x kernels.Tensor) {
					be.ProjectNormBall(be.Reshape(x, 1, cfg.Inputs), float32(cfg.Radius), kernels.PerRow)
				}
			}
			return &meanModel{cfg: cfg, be: be, ps: ps}, nil
		}})
}

// meanSamples are count samples of dim values around centre, and a validation set.
func meanSamples(dim, count int, centre float64) *model.Samples {
	x := make([]float32, dim*count)
	for i := range x {
		x[i] = float32(centre + math.Sin(float64(7*i+1)))
	}
	return &model.Samples{Name: "mean", X: x, Dim: dim}
}

func newMean(t *testing.T, be kernels.Backend, cfg meanConfig) model.Module {
	t.Helper()
	m, err := model.NewModule(be, "mean", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	return m
}

func meanTrain() model.TrainConfig {
	tc := model.DefaultTrainConfig()
	tc.Batch, tc.Epochs, tc.LR, tc.Momentum, tc.EvalBatch, tc.ReportEvery = 8, 4, 0.3, 0, 16, 1
	return tc
}

func param(t *testing.T, m model.Module) []float32 {
	t.Helper()
	return modeltest.Download(t, m.Backend(), m.Params()[0].Value)
}

// TestTrainerOptimizers: SGD, SGD with momentum and Adam all bring w to the samples' mean, and
// plain SGD takes exactly the steps w ← w − lr·(w − mean of the batch).
func TestTrainerOptimizers(t *testing.T) {
	be := modeltest.Backend(t)
	train := meanSamples(3, 64, 2)
	for _, c := range []struct {
		opt      string
		momentum float64
	}{{model.OptSGD, 0}, {model.OptSGD, 0.5}, {model.OptAdam, 0}} {
		tc := meanTrain()
		tc.Optimizer, tc.Momentum, tc.Epochs = c.opt, c.momentum, 20
		if c.opt == model.OptAdam {
			tc.LR = 0.1
		}
		m := newMean(t, be, meanConfig{Inputs: 3, Phases: 1})
		tr, err := model.NewTrainer(m, tc)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Run(context.Background(), train, nil); err != nil {
			t.Fatal(err)
		}
		w := param(t, m)
		for i, v := range w {
			if math.Abs(float64(v)-2) > 0.2 {
				t.Errorf("%s μ=%g: w[%d] = %g after training, want the mean ≈ 2", c.opt, c.momentum, i, v)
			}
		}
		tr.Free()
		m.Free()
	}
}

// TestTrainerSchedule: the learning rate decays with the samples seen and restarts at the phase
// boundary with lr_restart; the optimizer restarts from rest there; and the state counts both
// phases' epochs.
func TestTrainerSchedule(t *testing.T) {
	be := modeltest.Backend(t)
	train := meanSamples(2, 32, 1)
	for _, restart := range []bool{false, true} {
		tc := meanTrain()
		tc.PretrainEpochs, tc.Epochs, tc.LRDecay, tc.LRRestart = 2, 1, 0.01, restart
		m := newMean(t, be, meanConfig{Inputs: 2, Phases: 2})
		tr, err := model.NewTrainer(m, tc)
		if err != nil {
			t.Fatal(err)
		}
		var lrs []float64
		tr.OnEpoch = func(e model.Epoch) error { lrs = append(lrs, tr.LR()); return nil }
		if err := tr.Run(context.Background(), train, nil); err != nil {
			t.Fatal(err)
		}
		// 4 steps of 8 samples an epoch: after epoch e of the first phase 32e samples.
		want := []float64{0.3 / (1 + 0.01*32), 0.3 / (1 + 0.01*64), 0.3 / (1 + 0.01*96)}
		if restart {
			want[2] = 0.3 / (1 + 0.01*32)
		}
		for i := range want {
			if math.Abs(lrs[i]-want[i]) > 1e-12 {
				t.Errorf("restart=%v: learning rate after epoch %d = %g, want %g", restart, i+1, lrs[i], want[i])
			}
		}
		if tr.State.Phase != model.PhaseDone || tr.State.Samples != 96 || tr.State.OptSteps != 4 {
			t.Errorf("restart=%v: state %+v", restart, tr.State)
		}
		tr.Free()
		m.Free()
	}
}

// TestTrainerAverage: with Average a, the parameters left after training are the moving average
// a_k = a·a_{k−1} + (1 − a)·w_k over the steps of the last phase, computed here on the host from
// the steps plain SGD takes.
func TestTrainerAverage(t *testing.T) {
	be := modeltest.Backend(t)
	train := &model.Samples{Name: "twos", X: []float32{2, 2, 2, 2, 2, 2, 2, 2}, Dim: 1}
	tc := meanTrain()
	tc.Batch, tc.Epochs, tc.Average, tc.LR = 2, 2, 0.75, 0.5
	m := newMean(t, be, meanConfig{Inputs: 1, Phases: 1})
	tr, err := model.NewTrainer(m, tc)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), train, nil); err != nil {
		t.Fatal(err)
	}
	// Every batch has mean 2: w ← w − 0.5·(w − 2).
	w, avg := float32(1), float32(0)
	for k := range 8 {
		w = w - 0.5*(w-2)
		if k == 0 {
			avg = w
		} else {
			avg = 0.25*w + 0.75*avg
		}
	}
	if got := param(t, m)[0]; math.Abs(float64(got-avg)) > 1e-6 {
		t.Errorf("parameters after training %g, want the average %g (last raw %g)", got, avg, w)
	}
}

// TestTrainerEarlyStop: with patience, training stops once the validation loss has not improved
// for that many epochs, and the module holds the parameters of the best epoch.
func TestTrainerEarlyStop(t *testing.T) {
	be := modeltest.Backend(t)
	train := meanSamples(2, 32, 5)
	valid := meanSamples(2, 16, 0) // far from the training mean: validation gets worse
	tc := meanTrain()
	tc.Epochs, tc.Patience, tc.LR = 10, 2, 0.05
	m := newMean(t, be, meanConfig{Inputs: 2, Phases: 1})
	tr, err := model.NewTrainer(m, tc)
	if err != nil {
		t.Fatal(err)
	}
	var first []float32
	tr.OnEpoch = func(e model.Epoch) error {
		if e.Epoch == 1 {
			first = param(t, m)
		}
		return nil
	}
	if err := tr.Run(context.Background(), train, valid); err != nil {
		t.Fatal(err)
	}
	if tr.State.BestEpoch != 1 || tr.State.Epoch != 3 || !strings.Contains(tr.State.StopReason, "early stop") {
		t.Errorf("state %+v: want the best at epoch 1 and a stop after epoch 3", tr.State)
	}
	if got := param(t, m); got[0] != first[0] || got[1] != first[1] {
		t.Errorf("parameters %v, want the best epoch's %v", got, first)
	}
}

// TestTrainerDeadline: a deadline already passed stops after one epoch, keeping it.
func TestTrainerDeadline(t *testing.T) {
	be := modeltest.Backend(t)
	m := newMean(t, be, meanConfig{Inputs: 2, Phases: 1})
	tr, err := model.NewTrainer(m, meanTrain())
	if err != nil {
		t.Fatal(err)
	}
	tr.Deadline = time.Now()
	if err := tr.Run(context.Background(), meanSamples(2, 32, 1), nil); err != nil {
		t.Fatal(err)
	}
	if tr.State.Epoch != 1 || !strings.Contains(tr.State.StopReason, "time budget") {
		t.Errorf("state %+v", tr.State)
	}
}

// TestTrainerNotFinite: a learning rate that blows up stops training with ErrNotFinite naming
// the phase, epoch and step, and the checkpoint of the last good epoch stays whole.
func TestTrainerNotFinite(t *testing.T) {
	be := modeltest.Backend(t)
	m := newMean(t, be, meanConfig{Inputs: 2, Phases: 1})
	tc := meanTrain()
	tr, err := model.NewTrainer(m, tc)
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(t.TempDir(), "m.checkpoint.safetensors")
	tr.Checkpoint = ck
	tr.OnEpoch = func(model.Epoch) error { tr.Config.LR = 1e38; return nil }
	err = tr.Run(context.Background(), meanSamples(2, 32, 1), nil)
	if !errors.Is(err, model.ErrNotFinite) || !strings.Contains(err.Error(), "train phase, epoch 2, step") {
		t.Fatalf("err = %v, want ErrNotFinite naming the phase, epoch 2 and the step", err)
	}
	back, err := model.LoadCheckpoint(be, ck)
	if err != nil {
		t.Fatalf("the last good checkpoint: %v", err)
	}
	if back.State.Epoch != 1 {
		t.Errorf("checkpoint at epoch %d, want 1", back.State.Epoch)
	}

	// In a two-phase run the error numbers the epoch from the start of the run, as the progress
	// lines do: the first epoch of the second phase after 2 of pre-training is epoch 3.
	m = newMean(t, be, meanConfig{Inputs: 2, Phases: 2})
	tc.PretrainEpochs = 2
	if tr, err = model.NewTrainer(m, tc); err != nil {
		t.Fatal(err)
	}
	tr.OnEpoch = func(model.Epoch) error {
		if tr.State.Phase != m.Phases()[0] || tr.State.Epoch == 2 {
			tr.Config.LR = 1e38
		}
		return nil
	}
	err = tr.Run(context.Background(), meanSamples(2, 32, 1), nil)
	if !errors.Is(err, model.ErrNotFinite) || !strings.Contains(err.Error(), "phase, epoch 3, step") {
		t.Fatalf("two phases: err = %v, want ErrNotFinite naming epoch 3 of the run", err)
	}
}

// TestTrainerResume: resuming from a checkpoint is exact, for SGD with momentum and for Adam,
// with and without a parameter average, in either phase of a two-phase run; and a checkpoint is
// one file.
func TestTrainerResume(t *testing.T) {
	be := modeltest.Backend(t)
	train, valid := meanSamples(3, 40, 1), meanSamples(3, 16, 1.2)
	for _, c := range []struct {
		opt       string
		avg       float64
		stopAfter int
	}{{model.OptSGD, 0, 1}, {model.OptSGD, 0.9, 3}, {model.OptAdam, 0, 2}, {model.OptAdam, 0.5, 3}} {
		t.Run(fmt.Sprintf("%s/average=%g/stop=%d", c.opt, c.avg, c.stopAfter), func(t *testing.T) {
			tc := meanTrain()
			tc.Optimizer, tc.Momentum, tc.Average, tc.PretrainEpochs, tc.Epochs, tc.LR = c.opt, 0.5, c.avg, 2, 3, 0.05
			traintest.Resume(t, func() model.Module { return newMean(t, be, meanConfig{Inputs: 3, Phases: 2, Radius: 5}) }, tc, train, valid, c.stopAfter)
		})
	}
	m := newMean(t, be, meanConfig{Inputs: 3, Phases: 1})
	tr, _ := model.NewTrainer(m, meanTrain())
	dir := t.TempDir()
	tr.Checkpoint = filepath.Join(dir, "m.checkpoint.safetensors")
	if err := tr.Run(context.Background(), train, valid); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a checkpoint left %d files, want 1", len(entries))
	}
}

// TestTrainerShift: with shift, rotate, scale or flip, the training images move (the run ends
// elsewhere than without), a resumed run draws the same offsets (exact resume), and data that are
// not images, or images no wider than the shift, are refused with one line.
func TestTrainerShift(t *testing.T) {
	be := modeltest.Backend(t)
	images := func(count int, centre float64) *model.Samples {
		s := meanSamples(16, count, centre)
		s.Rows, s.Cols = 4, 4
		return s
	}
	train, valid := images(40, 1), images(16, 1.2)
	newModule := func() model.Module { return newMean(t, be, meanConfig{Inputs: 16, Phases: 1}) }
	type augment struct {
		shift         int
		rotate, scale float64
		flip          bool
	}
	run := func(a augment, s *model.Samples) ([]float32, error) {
		m := newModule()
		defer m.Free()
		tc := meanTrain()
		tc.Shift, tc.Rotate, tc.Scale, tc.Flip = a.shift, a.rotate, a.scale, a.flip
		tr, err := model.NewTrainer(m, tc)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Free()
		err = tr.Run(context.Background(), s, valid)
		return param(t, m), err
	}
	ends := map[augment][]float32{}
	for _, a := range []augment{{}, {shift: 1}, {shift: 1, rotate: 20}, {shift: 1, scale: 0.2}, {flip: true}, {shift: 1, flip: true}} {
		p, err := run(a, train)
		if err != nil {
			t.Fatal(err)
		}
		for b, q := range ends {
			if slices.Equal(p, q) {
				t.Errorf("training with %+v ended where training with %+v did: the images did not move", a, b)
			}
		}
		ends[a] = p
	}
	tc := meanTrain()
	tc.Shift = 1
	traintest.Resume(t, newModule, tc, train, valid, 2)
	tc.Rotate, tc.Scale = 15, 0.1
	traintest.Resume(t, newModule, tc, train, valid, 2)
	tc.Flip = true
	traintest.Resume(t, newModule, tc, train, valid, 2)

	flat := meanSamples(16, 40, 1)
	for _, c := range []struct {
		a    augment
		s    *model.Samples
		want string
	}{
		{augment{shift: 1}, flat, "is not images"}, {augment{shift: 4}, train, "less than the 4×4 images' side"},
		{augment{rotate: 10}, flat, "augmentation (rotate 10, scale 0 and shift 0) moves images, and"},
		{augment{flip: true}, flat, "augmentation (flip) moves images, and"},
		{augment{shift: 1, flip: true}, flat, "augmentation (flip, shift 1) moves images, and"},
	} {
		if _, err := run(c.a, c.s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v on %s: error %v, want one saying %q", c.a, c.s.Name, err, c.want)
		}
	}
	for _, c := range []struct {
		rotate, scale float64
		want          string
	}{{181, 0, "rotate = 181"}, {-1, 0, "rotate = -1"}, {math.NaN(), 0, "rotate = NaN"}, {0, 0.6, "scale = 0.6"}, {0, -0.1, "scale = -0.1"}} {
		tc := model.DefaultTrainConfig()
		tc.Rotate, tc.Scale = c.rotate, c.scale
		if err := tc.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rotate %g, scale %g: Validate says %v, want an error saying %q", c.rotate, c.scale, err, c.want)
		}
	}
}

// TestLastPhaseEpoch: the best epoch is named as the progress lines number it, and by its number
// within the last phase (what --epochs takes) when a pre-training phase comes first.
func TestLastPhaseEpoch(t *testing.T) {
	be := modeltest.Backend(t)
	tc := meanTrain()
	for _, c := range []struct {
		phases, pre int
		want        string
	}{{1, 0, "epoch 3"}, {2, 0, "epoch 3"}, {2, 2, "epoch 5 (3 of the second phase)"}} {
		m := newMean(t, be, meanConfig{Inputs: 2, Phases: c.phases})
		tc.PretrainEpochs = c.pre
		tr, err := model.NewTrainer(m, tc)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.LastPhaseEpoch(3); got != c.want {
			t.Errorf("%d phases, %d pre-training epochs: %q, want %q", c.phases, c.pre, got, c.want)
		}
		tr.Free()
	}
}

// TestTrainerContinue: a run that has ended and is continued with a schedule that allows more —
// a longer patience after an early stop, epochs after pre-training only, or (with the schedule
// unchanged) a run the time budget stopped in pre-training, each from its checkpoint —
// ends exactly as the run with that schedule from the start: the same last epoch's parameters
// (which the ended run keeps beside its best ones), the same optimizer state and training state.
func TestTrainerContinue(t *testing.T) {
	be := modeltest.Backend(t)
	train, valid := meanSamples(2, 32, 5), meanSamples(2, 16, 0) // validation gets worse
	for _, c := range []struct {
		name        string
		phases      int
		short, long func(*model.TrainConfig)
		wantReason  string
		deadline    bool // the short run stops on the time budget after its first epoch
	}{
		{"patience", 1, func(tc *model.TrainConfig) { tc.Patience = 2 }, func(tc *model.TrainConfig) { tc.Patience = 4 }, "early stop", false},
		{"pretraining", 2, func(tc *model.TrainConfig) { tc.Epochs = 0 }, func(tc *model.TrainConfig) { tc.Epochs = 3 }, "all epochs done", false},
		{"deadline in pretraining", 2, func(*model.TrainConfig) {}, func(*model.TrainConfig) {}, "time budget", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tc := meanTrain()
			tc.Epochs, tc.LR, tc.Momentum = 10, 0.05, 0.5
			if c.phases == 2 {
				tc.PretrainEpochs = 2
			}
			newModule := func() model.Module { return newMean(t, be, meanConfig{Inputs: 2, Phases: c.phases}) }
			long := tc
			c.long(&long)
			// The training loss of every epoch, which follows the parameters from epoch to epoch.
			losses := func(tr *model.Trainer) map[string]float64 {
				l := map[string]float64{}
				tr.OnEpoch = func(e model.Epoch) error {
					l[fmt.Sprint(e.Phase, " epoch ", e.Epoch)] = e.Train.Mean("loss")
					return nil
				}
				return l
			}
			straight, err := model.NewTrainer(newModule(), long)
			if err != nil {
				t.Fatal(err)
			}
			want := losses(straight)
			if err := straight.Run(context.Background(), train, valid); err != nil {
				t.Fatal(err)
			}

			short := tc
			c.short(&short)
			first, err := model.NewTrainer(newModule(), short)
			if err != nil {
				t.Fatal(err)
			}
			ck := filepath.Join(t.TempDir(), "m.checkpoint.safetensors")
			first.Checkpoint = ck
			if c.deadline {
				first.Deadline = time.Now()
			}
			if err := first.Run(context.Background(), train, valid); err != nil {
				t.Fatal(err)
			}
			if first.State.Phase != model.PhaseDone || !strings.Contains(first.State.StopReason, c.wantReason) {
				t.Fatalf("short run: state %+v, want it ended (%s)", first.State, c.wantReason)
			}
			resumed, err := model.LoadCheckpoint(be, ck)
			if err != nil {
				t.Fatal(err)
			}
			if reopened, _ := resumed.Continue(); reopened != c.deadline {
				t.Fatalf("Continue with the schedule unchanged: reopened %v (only a run stopped by the time budget goes on)", reopened)
			}
			if !c.deadline {
				resumed.Config = long
				if reopened, exact := resumed.Continue(); !reopened || !exact {
					t.Fatalf("Continue with the longer schedule: reopened %v, exact %v", reopened, exact)
				}
			}
			got := losses(resumed)
			if err := resumed.Run(context.Background(), train, valid); err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Fatal("the continued run trained no epoch")
			}
			for e, l := range got {
				if l != want[e] {
					t.Fatalf("%s: training loss %v, straight %v", e, l, want[e])
				}
			}
			for _, tr := range []*model.Trainer{straight, resumed} {
				if tr.State.Phase != model.PhaseDone {
					t.Fatalf("state %+v: not ended", tr.State)
				}
			}
			a, b := straight.State, resumed.State
			a.Seconds, b.Seconds = 0, 0
			if a != b {
				t.Fatalf("states differ:\nstraight %+v\ncontinued %+v", a, b)
			}
			// The best parameters are in the modules; reopening both once more (a patience and
			// epochs without end) brings back the last epoch's, which must match too.
			if got, want := param(t, resumed.Module), param(t, straight.Module); got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("best parameters %v, straight %v", got, want)
			}
			for _, tr := range []*model.Trainer{straight, resumed} {
				tr.Config.Patience, tr.Config.Epochs = 0, 100
				if reopened, exact := tr.Continue(); !reopened || !exact {
					t.Fatalf("reopened %v, exact %v", reopened, exact)
				}
			}
			if got, want := param(t, resumed.Module), param(t, straight.Module); got[0] != want[0] || got[1] != want[1] {
				t.Errorf("last epoch's parameters %v, straight %v", got, want)
			}
		})
	}
}
