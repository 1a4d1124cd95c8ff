package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
)

// DrSAETrainConfig is the schedule of DrSAE training: an unsupervised phase on
// ReconWeight·½‖x − Dz‖² + Lambda·‖z‖₁, then a discriminative phase on all three terms, both by
// minibatch SGD through the T unrolled steps (Rolfe & LeCun 2013, sec. 3).
type DrSAETrainConfig struct {
	Batch       int     `json:"batch"`        // samples per minibatch
	UnsupEpochs int     `json:"unsup_epochs"` // epochs of the unsupervised phase
	SupEpochs   int     `json:"sup_epochs"`   // at most this many epochs of the discriminative phase
	LR          float64 `json:"lr"`           // base learning rate, for the minibatch mean of the loss
	LRDecay     float64 `json:"lr_decay"`     // lr/(1 + LRDecay·samples seen)
	Momentum    float64 `json:"momentum"`     // heavy-ball momentum, 0 for plain SGD
	// Each matrix's learning rate is divided by the number of times it appears in the unrolled
	// network (the paper): E and b T times (E·x − b enters every step), S T−1 times (z⁰ = 0),
	// D and C once; C's further by ClassLRDivisor (5 in the authors' code).
	ClassLRDivisor float64 `json:"class_lr_divisor"`
	RepairEvery    int     `json:"repair_every"` // minibatches between projections onto the constraints
	Patience       int     `json:"patience"`     // stop after this many discriminative epochs without a better validation error; 0: never
	Seed           uint64  `json:"seed"`         // the minibatch order of epoch e is a function of (Seed, phase, e)
	ReportEvery    int     `json:"report_every"` // minibatches between read-backs of the loss (and NaN checks)
	// Average, when > 0, keeps an exponential moving average of the parameters over the steps of
	// the discriminative phase, a ← Average·a + (1 − Average)·θ after every step (Polyak–Ruppert
	// averaging; not in the paper). Validation, early stopping and the saved model then use the
	// average; the raw parameters' validation error is reported beside it.
	Average   float64 `json:"average,omitempty"`
	EvalBatch int     `json:"eval_batch"` // batch size of validation passes

	// The data the caller trains on, recorded so that a resumed run uses the same (not read by
	// the trainer): the data set's name and the sizes of the training and validation parts.
	Data      string `json:"data,omitempty"`
	TrainSize int    `json:"train_size,omitempty"`
	ValidSize int    `json:"valid_size,omitempty"`
}

// DefaultDrSAETrainConfig returns the defaults of `drsae train drsae` (see docs/drsae.md for
// how they depart from the authors' minibatch of 10 and learning rate 5e-3).
func DefaultDrSAETrainConfig() DrSAETrainConfig {
	return DrSAETrainConfig{
		Batch: 50, UnsupEpochs: 1, SupEpochs: 60, LR: 0.01, LRDecay: 5e-6, Momentum: 0.9,
		ClassLRDivisor: 1, RepairEvery: 5, Patience: 10, Seed: 1, ReportEvery: 10, EvalBatch: 500,
	}
}

// Validate returns an error naming the first field out of range.
func (c DrSAETrainConfig) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case c.Batch <= 0:
		return fmt.Errorf("batch = %d, want > 0", c.Batch)
	case c.UnsupEpochs < 0 || c.SupEpochs < 0:
		return fmt.Errorf("epochs %d unsupervised, %d supervised: want ≥ 0", c.UnsupEpochs, c.SupEpochs)
	case !(c.LR > 0) || bad(c.LR):
		return fmt.Errorf("lr = %g, want > 0", c.LR)
	case c.LRDecay < 0 || bad(c.LRDecay):
		return fmt.Errorf("lr_decay = %g, want ≥ 0", c.LRDecay)
	case c.Momentum < 0 || c.Momentum >= 1 || bad(c.Momentum):
		return fmt.Errorf("momentum = %g, want 0 ≤ μ < 1", c.Momentum)
	case !(c.ClassLRDivisor > 0) || bad(c.ClassLRDivisor):
		return fmt.Errorf("class_lr_divisor = %g, want > 0", c.ClassLRDivisor)
	case c.RepairEvery <= 0:
		return fmt.Errorf("repair_every = %d, want > 0", c.RepairEvery)
	case c.Patience < 0:
		return fmt.Errorf("patience = %d, want ≥ 0", c.Patience)
	case c.ReportEvery <= 0:
		return fmt.Errorf("report_every = %d, want > 0", c.ReportEvery)
	case c.EvalBatch <= 0:
		return fmt.Errorf("eval_batch = %d, want > 0", c.EvalBatch)
	case c.Average < 0 || c.Average >= 1 || bad(c.Average):
		return fmt.Errorf("average = %g, want 0 ≤ a < 1", c.Average)
	}
	return nil
}

// The phases of DrSAE training, as recorded in DrSAETrainState.Phase.
const (
	PhaseUnsupervised = "unsupervised"
	PhaseSupervised   = "supervised"
	PhaseDone         = "done"
)

// DrSAETrainState is where training stands; a checkpoint stores it, and resuming from it
// continues with the next epoch exactly as an uninterrupted run would.
type DrSAETrainState struct {
	Phase          string  `json:"phase"`                 // PhaseUnsupervised, PhaseSupervised or PhaseDone
	Epoch          int     `json:"epoch"`                 // epochs finished in Phase
	Samples        int64   `json:"samples"`               // training samples seen (learning-rate decay)
	Steps          int64   `json:"steps"`                 // minibatches done (repair schedule)
	Seconds        float64 `json:"seconds"`               // training time so far
	HasBest        bool    `json:"has_best"`              // a discriminative epoch has been validated
	HasAverage     bool    `json:"has_average,omitempty"` // the parameter average has started
	BestValidError float64 `json:"best_valid_error"`      // lowest validation error so far
	BestEpoch      int     `json:"best_epoch"`            // the discriminative epoch that reached it
	StopReason     string  `json:"stop_reason,omitempty"`
}

// drsaeCheckpoint is the training part of a checkpoint's JSON config.
type drsaeCheckpoint struct {
	Train DrSAETrainConfig `json:"train"`
	State DrSAETrainState  `json:"state"`
}

// extraPrefixes names the tensor groups a checkpoint holds beside E, S, b, D, C.
func (c *drsaeCheckpoint) extraPrefixes() []string {
	var p []string
	if c.Train.Momentum > 0 {
		p = append(p, "velocity.")
	}
	if c.State.HasBest {
		p = append(p, "best.")
	}
	if c.State.HasAverage {
		p = append(p, "average.")
	}
	return p
}

// DrSAEEpoch is what a trainer tells its caller after every epoch.
type DrSAEEpoch struct {
	Phase    string
	Epoch    int        // 1-based within Phase
	Train    DrSAELoss  // over the minibatches read back during the epoch (before their update)
	Valid    DrSAEEval  // the validation set after the epoch (with Config.Average, of the average)
	Raw      *DrSAEEval // with Config.Average in the discriminative phase: of the raw parameters
	Improved bool       // the validation error is the best so far (discriminative phase)
	Stop     bool       // training ends after this epoch
}

// DrSAETrainer trains a DrSAE; it owns the optimizer state and the best parameters so far.
type DrSAETrainer struct {
	Model  *DrSAE
	Config DrSAETrainConfig
	State  DrSAETrainState

	// Deadline, when set, ends training after the first epoch past which another epoch of the
	// same length would not finish in time (a wall-clock budget; not saved in checkpoints).
	Deadline time.Time

	opt   *SGD
	grads *DrSAEGrads
	best  []kernels.Tensor // parameters at the best validation error; nil until one
	avg   []kernels.Tensor // the moving average of the parameters (Config.Average); nil until it starts
}

// NewDrSAETrainer prepares training of m (already initialized) from the start.
func NewDrSAETrainer(m *DrSAE, cfg DrSAETrainConfig) (*DrSAETrainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("drsae training: %w", err)
	}
	t := &DrSAETrainer{Model: m, Config: cfg, State: DrSAETrainState{Phase: PhaseUnsupervised}}
	if cfg.UnsupEpochs == 0 {
		t.State.Phase = PhaseSupervised
	}
	var err error
	if t.grads, err = m.NewGrads(); err != nil {
		return nil, err
	}
	if t.opt, err = NewSGD(m.be, m.Params(), cfg.Momentum, t.lrScales()); err != nil {
		t.grads.Free(m.be)
		return nil, fmt.Errorf("drsae training: %w", err)
	}
	return t, nil
}

// lrScales returns the per-parameter learning-rate multipliers, in the order of DrSAEParams.
func (t *DrSAETrainer) lrScales() []float64 {
	T := float64(t.Model.Config.T)
	return []float64{1 / T, 1 / math.Max(1, T-1), 1 / T, 1, 1 / t.Config.ClassLRDivisor}
}

// Free releases the optimizer state, gradients and best parameters (not the model).
func (t *DrSAETrainer) Free() {
	be := t.Model.be
	t.opt.Free()
	t.grads.Free(be)
	for _, b := range append(t.best, t.avg...) {
		be.Free(b)
	}
	t.best, t.avg = nil, nil
}

// LR is the learning rate of the next step.
func (t *DrSAETrainer) LR() float64 {
	return t.Config.LR / (1 + t.Config.LRDecay*float64(t.State.Samples))
}

// Run trains until both phases are finished or early stopping ends the discriminative phase;
// then the model holds the parameters of the best validation error. It calls progress after
// every minibatch and at the end of each epoch, and onEpoch after each epoch (the place to write
// a checkpoint); an error from onEpoch stops training. A loss that becomes NaN or infinite
// stops training with an error wrapping ErrNotFinite that names the phase, epoch and step; the
// model is then unusable, but nothing the caller saved after an earlier epoch is touched.
// Cancelling ctx stops after the current minibatch with ctx's error.
func (t *DrSAETrainer) Run(ctx context.Context, train, valid *data.Dataset, progress ProgressFunc, onEpoch func(DrSAEEpoch) error) error {
	m, cfg := t.Model, t.Config
	c := m.Config
	if train.Dim() != c.Inputs {
		return fmt.Errorf("drsae training: the data have %d features per sample, the model takes %d", train.Dim(), c.Inputs)
	}
	if train.Classes > c.Classes || valid != nil && valid.Classes > c.Classes {
		return fmt.Errorf("drsae training: the data have %d classes, the model's classifier %d", train.Classes, c.Classes)
	}
	if train.N < cfg.Batch {
		return fmt.Errorf("drsae training: %d training samples, fewer than one minibatch of %d", train.N, cfg.Batch)
	}
	// Without a validation set (the final fit on all the training data, once a schedule has been
	// chosen on a split), no epoch is validated: every discriminative epoch counts as the best,
	// so training runs all its epochs and the model is the last one (or its average).
	noValid := valid == nil || valid.N == 0
	if !noValid && valid.Dim() != c.Inputs {
		return fmt.Errorf("drsae training: the data have %d features per sample, the model takes %d", valid.Dim(), c.Inputs)
	}
	w, err := m.batchFor(cfg.Batch)
	if err != nil {
		return err
	}
	steps := train.N / cfg.Batch
	x := make([]float32, cfg.Batch*c.Inputs)
	labels := make([]float32, cfg.Batch)
	start := time.Now()
	base := t.State.Seconds
	totalEpochs := cfg.UnsupEpochs + cfg.SupEpochs

	for t.State.Phase != PhaseDone {
		sup := t.State.Phase == PhaseSupervised
		phaseEpochs, offset := cfg.UnsupEpochs, 0
		if sup {
			phaseEpochs, offset = cfg.SupEpochs, cfg.UnsupEpochs
		}
		if t.State.Epoch >= phaseEpochs {
			t.nextPhase()
			continue
		}
		epoch := t.State.Epoch + 1
		epochStart := time.Now()
		stage := "drsae " + t.State.Phase
		perm := data.Permutation(train.N, epochSeed(cfg.Seed, sup, epoch))
		var run DrSAELoss
		report := func(step int, end bool, extra ...Metric) {
			if progress == nil {
				return
			}
			t.State.Seconds = base + time.Since(start).Seconds()
			p := Progress{Stage: stage, Epoch: offset + epoch, Epochs: totalEpochs,
				Step: step, Steps: steps, EndOfEpoch: end, Elapsed: time.Duration(t.State.Seconds * float64(time.Second))}
			if run.N > 0 {
				p.Metrics = append(p.Metrics, Metric{"loss", run.Total}, Metric{"recon", run.Recon}, Metric{"l1", run.Sparsity})
				if sup {
					p.Metrics = append(p.Metrics, Metric{"xent", run.Class}, Metric{"train_err", run.ErrorRate()})
				}
			}
			p.Metrics = append(p.Metrics, extra...)
			progress(p)
		}
		for step := 1; step <= steps; step++ {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("stopped in the %s phase, epoch %d, step %d: %w", t.State.Phase, epoch, step, err)
			}
			train.Batch(perm[(step-1)*cfg.Batch:step*cfg.Batch], x, labels)
			m.be.Upload(w.X, x)
			m.be.Upload(w.Labels, labels)
			m.Forward(w, sup)
			if step%cfg.ReportEvery == 0 || step == steps {
				l, err := m.Loss(w, sup, labels)
				if err != nil {
					return t.notFinite(epoch, step, l, err)
				}
				run.Add(l)
			}
			m.Backward(w, t.grads, sup)
			t.opt.Step(m.Params(), t.grads.List(), t.LR())
			if sup && cfg.Average > 0 {
				if err := t.average(); err != nil {
					return err
				}
			}
			t.State.Samples += int64(cfg.Batch)
			t.State.Steps++
			if t.State.Steps%int64(cfg.RepairEvery) == 0 {
				m.Project()
			}
			report(step, false)
		}
		m.Project()
		evaluate := func() (DrSAEEval, error) {
			if noValid {
				return DrSAEEval{}, m.be.Sync()
			}
			ev, err := m.Evaluate(valid, cfg.EvalBatch, sup)
			if err != nil {
				if errors.Is(err, ErrNotFinite) {
					return ev, t.notFinite(epoch, steps, ev.DrSAELoss, fmt.Errorf("on the validation set: %w", err))
				}
				return ev, err
			}
			return ev, m.be.Sync()
		}
		ev, err := evaluate()
		if err != nil {
			return err
		}
		var raw *DrSAEEval
		if sup && t.avg != nil {
			// Validate the average in the model's place; the raw parameters come back below.
			rawEv := ev
			raw = &rawEv
			t.swapAverage()
			if ev, err = evaluate(); err != nil {
				t.swapAverage()
				return err
			}
		}
		r := DrSAEEpoch{Phase: t.State.Phase, Epoch: epoch, Train: run, Valid: ev, Raw: raw}
		t.State.Epoch = epoch
		t.State.Seconds = base + time.Since(start).Seconds()
		if sup {
			if !t.State.HasBest || noValid || ev.ErrorRate() < t.State.BestValidError {
				if err := t.keepBest(); err != nil {
					return err
				}
				t.State.HasBest, t.State.BestEpoch = true, epoch
				if !noValid {
					t.State.BestValidError = ev.ErrorRate()
				}
				r.Improved = true
			}
			if raw != nil {
				t.swapAverage()
			}
			if cfg.Patience > 0 && epoch-t.State.BestEpoch >= cfg.Patience {
				t.State.StopReason = fmt.Sprintf("early stop: no better validation error in %d epochs since epoch %d", cfg.Patience, t.State.BestEpoch)
				r.Stop = true
			}
		}
		if t.State.Epoch >= phaseEpochs && (sup || cfg.SupEpochs == 0) {
			r.Stop = true
		}
		if !t.Deadline.IsZero() && !r.Stop && time.Now().Add(time.Since(epochStart)).After(t.Deadline) {
			t.State.StopReason = "time budget: another epoch would end after the deadline"
			r.Stop = true
		}
		if r.Stop {
			t.finish()
		}
		var extra []Metric
		if !noValid {
			extra = append(extra, Metric{"valid_loss", ev.Total}, Metric{"L0", ev.L0})
			if sup {
				extra = append(extra, Metric{"valid_err", ev.ErrorRate()})
			}
			if raw != nil {
				extra = append(extra, Metric{"raw_err", raw.ErrorRate()})
			}
		}
		report(steps, true, extra...)
		if onEpoch != nil {
			if err := onEpoch(r); err != nil {
				return err
			}
		}
		if !r.Stop && t.State.Epoch >= phaseEpochs {
			t.nextPhase()
		}
	}
	return nil
}

// nextPhase moves from the unsupervised to the discriminative phase (velocities reset: the
// loss changes), or from that to done.
func (t *DrSAETrainer) nextPhase() {
	if t.State.Phase == PhaseUnsupervised && t.Config.SupEpochs > 0 {
		t.State.Phase, t.State.Epoch = PhaseSupervised, 0
		t.opt.Reset()
		return
	}
	t.finish()
}

// finish ends training with the best parameters in the model.
func (t *DrSAETrainer) finish() {
	if t.State.Phase == PhaseSupervised && t.best != nil {
		for i, p := range t.Model.Params() {
			t.Model.be.Copy(p, t.best[i])
		}
	}
	if t.State.StopReason == "" {
		t.State.StopReason = "all epochs done"
	}
	t.State.Phase = PhaseDone
}

// average updates the moving average of the parameters after a step, starting it from the
// parameters at the first step of the discriminative phase.
func (t *DrSAETrainer) average() error {
	be, a := t.Model.be, float32(t.Config.Average)
	if t.avg == nil {
		v, err := newTensors(be, t.Model.Config.ParamShapes()...)
		if err != nil {
			return fmt.Errorf("drsae training: parameter average: %w", err)
		}
		t.avg = v
		for i, p := range t.Model.Params() {
			be.Copy(t.avg[i], p)
		}
		t.State.HasAverage = true
		return nil
	}
	for i, p := range t.Model.Params() {
		be.Axpby(1-a, p, a, t.avg[i])
	}
	return nil
}

// swapAverage exchanges the model's parameters with their average (twice restores them).
func (t *DrSAETrainer) swapAverage() { t.Model.swapParams(t.avg) }

// swapParams exchanges m's parameter tensors with ts (in the order of Params).
func (m *DrSAE) swapParams(ts []kernels.Tensor) {
	m.E, ts[0] = ts[0], m.E
	m.S, ts[1] = ts[1], m.S
	m.B, ts[2] = ts[2], m.B
	m.D, ts[3] = ts[3], m.D
	m.C, ts[4] = ts[4], m.C
}

// SaveBest saves the parameters of the best validation error so far (the model's own before
// the discriminative phase has validated one) as a model file, with meta in its header.
func (t *DrSAETrainer) SaveBest(path string, meta map[string]string) error {
	if t.best == nil {
		return t.Model.Save(path, meta)
	}
	t.Model.swapParams(t.best)
	defer t.Model.swapParams(t.best)
	return t.Model.Save(path, meta)
}

// keepBest copies the parameters into t.best.
func (t *DrSAETrainer) keepBest() error {
	be := t.Model.be
	if t.best == nil {
		b, err := newTensors(be, t.Model.Config.ParamShapes()...)
		if err != nil {
			return fmt.Errorf("drsae training: best parameters: %w", err)
		}
		t.best = b
	}
	for i, p := range t.Model.Params() {
		be.Copy(t.best[i], p)
	}
	return nil
}

func (t *DrSAETrainer) notFinite(epoch, step int, l DrSAELoss, err error) error {
	return fmt.Errorf("%s phase, epoch %d, step %d: %w (recon %g, l1 %g, xent %g, learning rate %g); training stopped",
		t.State.Phase, epoch, step, err, l.Recon, l.Sparsity, l.Class, t.LR())
}

// epochSeed derives the minibatch order of one epoch, so that a resumed run sees the same
// order as an uninterrupted one.
func epochSeed(seed uint64, sup bool, epoch int) uint64 {
	s := seed*0x9e3779b97f4a7c15 + uint64(epoch)
	if sup {
		s ^= 0xd1b54a32d192ed03
	}
	return s
}

// SaveCheckpoint writes the model, the optimizer's velocities, the best parameters so far and
// the training state to path (safetensors) and its .json, atomically. The file is also a
// model that eval, encode and show accept (they use E, S, b, D, C).
func (t *DrSAETrainer) SaveCheckpoint(path string) error {
	be := t.Model.be
	var extra []NamedTensor
	if t.opt.Velocity != nil {
		v, err := downloadTensors(be, DrSAEParams, t.opt.Velocity, "velocity.")
		if err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		extra = append(extra, v...)
	}
	if t.best != nil {
		b, err := downloadTensors(be, DrSAEParams, t.best, "best.")
		if err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		extra = append(extra, b...)
	}
	if t.avg != nil {
		a, err := downloadTensors(be, DrSAEParams, t.avg, "average.")
		if err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		extra = append(extra, a...)
	}
	ck := &drsaeCheckpoint{Train: t.Config, State: t.State}
	ck.State.HasBest = t.best != nil
	ck.State.HasAverage = t.avg != nil
	meta := map[string]string{"phase": t.State.Phase, "epoch": strconv.Itoa(t.State.Epoch)}
	return t.Model.save(path, meta, extra, ck)
}

// LoadDrSAECheckpoint restores a trainer (model, velocities, best parameters, state) from a
// checkpoint written by SaveCheckpoint.
func LoadDrSAECheckpoint(be kernels.Backend, path string) (*DrSAETrainer, error) {
	m, ck, tensors, err := loadDrSAE(be, path)
	if err != nil {
		return nil, err
	}
	if ck == nil {
		m.Free()
		return nil, fmt.Errorf("%s: a saved model, not a training checkpoint (no \"checkpoint\" in %s)", path, ConfigPath(path))
	}
	switch ck.State.Phase {
	case PhaseUnsupervised, PhaseSupervised, PhaseDone:
	default:
		m.Free()
		return nil, fmt.Errorf("%s: unknown training phase %q", ConfigPath(path), ck.State.Phase)
	}
	t, err := NewDrSAETrainer(m, ck.Train)
	if err != nil {
		m.Free()
		return nil, fmt.Errorf("%s: %w", ConfigPath(path), err)
	}
	t.State = ck.State
	for i, n := range DrSAEParams {
		if t.opt.Velocity != nil {
			be.Upload(t.opt.Velocity[i], tensors["velocity."+n].Data)
		}
	}
	if ck.State.HasBest {
		if t.best, err = newTensors(be, m.Config.ParamShapes()...); err != nil {
			t.Free()
			m.Free()
			return nil, err
		}
		for i, n := range DrSAEParams {
			be.Upload(t.best[i], tensors["best."+n].Data)
		}
	}
	if ck.State.HasAverage {
		if t.avg, err = newTensors(be, m.Config.ParamShapes()...); err != nil {
			t.Free()
			m.Free()
			return nil, err
		}
		for i, n := range DrSAEParams {
			be.Upload(t.avg[i], tensors["average."+n].Data)
		}
	}
	if err := be.Sync(); err != nil {
		t.Free()
		m.Free()
		return nil, err
	}
	return t, nil
}
