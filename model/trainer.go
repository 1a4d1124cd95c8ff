package model

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
)

// ErrNotFinite reports a loss that became NaN or infinite.
var ErrNotFinite = errors.New("loss is not finite")

// Epoch is what the trainer tells its caller after every epoch.
type Epoch struct {
	Phase    string
	Epoch    int  // 1-based within Phase
	Train    Sums // over the minibatches read back during the epoch (before their update)
	Valid    Sums // the validation set after the epoch (of the average, with Average); N = 0 without one
	Raw      Sums // with Average in the last phase: the raw parameters' validation
	Improved bool // this epoch is kept as the best (the last phase)
	Stop     bool // training ends after this epoch
}

// A Trainer trains one module: phases, minibatch SGD or Adam, learning-rate decay, projections,
// validation with early stopping, a parameter average, a deadline, checkpoints and progress.
// Every kind trains through it.
type Trainer struct {
	Module Module
	Config TrainConfig
	State  TrainState

	// Deadline, when set, ends training after the first epoch past which another epoch of the
	// same length would not finish in time, keeping the best model so far (not saved).
	Deadline time.Time
	// Progress, when set, is called after every minibatch and at the end of every epoch.
	Progress ProgressFunc
	// OnEpoch, when set, is called after every epoch, after the checkpoint; its error stops
	// training.
	OnEpoch func(Epoch) error
	// Checkpoint, when set, is the file the trainer saves itself to after every epoch.
	Checkpoint string

	opt   *Optimizer
	works *Works
	best  []kernels.Tensor // trainable parameters at the best epoch; nil until one
	avg   []kernels.Tensor // their moving average; nil until it starts
	last  []kernels.Tensor // the last epoch's, once a run that ended put the best in their place
}

// NewTrainer prepares a run of m (initialized or loaded) from the start.
func NewTrainer(m Module, cfg TrainConfig) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	phases := m.Phases()
	if len(phases) > 2 || len(phases) == 0 {
		panic(fmt.Sprintf("model: NewTrainer: %d phases, want 1 or 2", len(phases)))
	}
	if len(phases) == 1 && cfg.PretrainEpochs > 0 {
		return nil, fmt.Errorf("training: pretrain_epochs = %d, but a %s model has no pre-training phase", cfg.PretrainEpochs, m.Kind())
	}
	t := &Trainer{Module: m, Config: cfg, State: TrainState{Phase: phases[0]}, works: NewWorks(m)}
	if len(phases) == 2 && cfg.PretrainEpochs == 0 {
		t.State.Phase = phases[1]
	}
	if err := AllocGrads(m.Backend(), m.Params()); err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	var err error
	if t.opt, err = NewOptimizer(m.Backend(), m.Params(), cfg); err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	return t, nil
}

// Free releases the optimizer state, the best and average copies and the buffers (not the module).
func (t *Trainer) Free() {
	be := t.Module.Backend()
	t.opt.Free()
	t.works.Free()
	FreeTensors(be, t.best...)
	FreeTensors(be, t.avg...)
	FreeTensors(be, t.last...)
	t.best, t.avg, t.last = nil, nil, nil
}

// LR is the learning rate of the next step.
func (t *Trainer) LR() float64 {
	n := t.State.Samples
	if t.Config.LRRestart {
		n = t.State.PhaseSamples
	}
	return t.Config.LR / (1 + t.Config.LRDecay*float64(n))
}

// phaseIndex is the position of State.Phase in the module's phases (len when done).
func (t *Trainer) phaseIndex() int {
	if i := slices.Index(t.Module.Phases(), t.State.Phase); i >= 0 {
		return i
	}
	return len(t.Module.Phases())
}

// phaseEpochs is the number of epochs of phase i.
func (t *Trainer) phaseEpochs(i int) int {
	if i == len(t.Module.Phases())-1 {
		return t.Config.Epochs
	}
	return t.Config.PretrainEpochs
}

// Run trains until every phase is finished, early stopping ends the last one, the deadline
// passes or ctx is cancelled (after the current minibatch, with ctx's error); then the module
// holds the best parameters (or the average's; the last ones without validation). valid may be
// nil or empty. A loss that becomes NaN or infinite stops training with an error wrapping
// ErrNotFinite that names the phase, epoch and step; the module is then unusable, but the last
// checkpoint is untouched.
func (t *Trainer) Run(ctx context.Context, train, valid *Samples) error {
	m, cfg := t.Module, t.Config
	be := m.Backend()
	noValid := valid.N() == 0
	train, err := WithTargets(m, train, t.Progress)
	if err == nil {
		valid, err = WithTargets(m, valid, t.Progress)
	}
	if err != nil {
		return err
	}
	if f, ok := m.(DataFitter); ok {
		if err := f.FitData(train); err != nil {
			return err
		}
	}
	w, err := t.works.Get(cfg.Batch)
	if err != nil {
		return err
	}
	for _, s := range []*Samples{train, valid} {
		if err := checkSamples(m, w, s); err != nil {
			return err
		}
	}
	if train.N() < cfg.Batch {
		return fmt.Errorf("training: %d training samples, fewer than one minibatch of %d", train.N(), cfg.Batch)
	}
	planes := 0 // image planes of a sample, for the augmentation
	warp := cfg.Rotate > 0 || cfg.Scale > 0
	if cfg.Shift > 0 || warp || cfg.Flip {
		what := fmt.Sprintf("shift %d", cfg.Shift)
		if warp {
			what = fmt.Sprintf("rotate %g, scale %g and shift %d", cfg.Rotate, cfg.Scale, cfg.Shift)
		}
		switch {
		case cfg.Flip && (warp || cfg.Shift > 0):
			what = "flip, " + what
		case cfg.Flip:
			what = "flip"
		}
		if train.Rows <= 0 || train.Cols <= 0 || train.Dim%(train.Rows*train.Cols) != 0 {
			return fmt.Errorf("training: augmentation (%s) moves images, and %s is not images", what, train.Name)
		}
		if cfg.Shift >= min(train.Rows, train.Cols) {
			return fmt.Errorf("training: shift %d, want less than the %d×%d images' side", cfg.Shift, train.Rows, train.Cols)
		}
		planes = train.Dim / (train.Rows * train.Cols)
	}
	var scratch []float32
	if warp {
		scratch = make([]float32, train.Dim)
	}
	steps := train.N() / cfg.Batch
	x := make([]float32, cfg.Batch*train.Dim)
	var y []float32
	if w.Targets() != nil {
		y = make([]float32, cfg.Batch*train.YDim)
	}
	start, base := time.Now(), t.State.Seconds
	total := cfg.Epochs
	if len(m.Phases()) == 2 {
		total += cfg.PretrainEpochs
	}
	for t.State.Phase != PhaseDone {
		pi := t.phaseIndex()
		last := pi == len(m.Phases())-1
		if t.State.Epoch >= t.phaseEpochs(pi) {
			if err := t.nextPhase(); err != nil {
				return err
			}
			continue
		}
		epoch, phase := t.State.Epoch+1, t.State.Phase
		epochStart := time.Now()
		offset := t.runEpoch(0)
		perm := data.Permutation(train.N(), epochSeed(cfg.Seed, pi, epoch))
		shifts := rand.New(rand.NewPCG(epochSeed(cfg.Seed, pi, epoch), 0x5417f7))
		flips := rand.New(rand.NewPCG(epochSeed(cfg.Seed, pi, epoch), 0xf11b5))
		var run Sums
		report := func(step int, end bool, extra ...Metric) {
			t.State.Seconds = base + time.Since(start).Seconds()
			if t.Progress == nil {
				return
			}
			t.Progress(Progress{Stage: m.Kind() + " " + phase, Epoch: offset + epoch, Epochs: total,
				Step: step, Steps: steps, EndOfEpoch: end, Elapsed: time.Duration(t.State.Seconds * float64(time.Second)),
				Metrics: append(run.Metrics(""), extra...)})
		}
		for step := 1; step <= steps; step++ {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("stopped in the %s phase, epoch %d, step %d: %w", phase, offset+epoch, step, err)
			}
			train.Gather(perm[(step-1)*cfg.Batch:step*cfg.Batch], x, y)
			if cfg.Flip {
				data.FlipBatch(x, cfg.Batch, planes, train.Rows, train.Cols, flips)
			}
			switch {
			case warp:
				data.WarpBatch(x, scratch, cfg.Batch, planes, train.Rows, train.Cols, float64(cfg.Shift), cfg.Rotate, cfg.Scale, shifts)
			case cfg.Shift > 0:
				data.ShiftBatch(x, cfg.Batch, planes, train.Rows, train.Cols, cfg.Shift, shifts)
			}
			Upload(be, w, x, y)
			if d, ok := m.(Dropper); ok {
				d.Drop(w, epochSeed(cfg.Seed, pi, epoch)^uint64(step)*0xbf58476d1ce4e5b9)
			}
			if err := m.Forward(w, pi); err != nil {
				return err
			}
			if step%cfg.ReportEvery == 0 || step == steps {
				l, err := m.Loss(w, pi)
				if err == nil && !l.finite() {
					err = ErrNotFinite
				}
				if err != nil {
					return t.failed(epoch, step, l, err)
				}
				run.Add(l)
			}
			m.Backward(w, pi)
			t.opt.Step(m.Params(), t.LR())
			if s, ok := m.(Stepper); ok {
				if err := s.AfterStep(w); err != nil {
					return err
				}
			}
			if last && cfg.Average > 0 {
				if err := t.average(); err != nil {
					return err
				}
			}
			t.State.Samples += int64(cfg.Batch)
			t.State.PhaseSamples += int64(cfg.Batch)
			t.State.Steps++
			t.State.OptSteps = t.opt.Steps
			if t.State.Steps%int64(cfg.ProjectEvery) == 0 {
				project(m.Params(), nil)
			}
			report(step, false)
		}
		project(m.Params(), nil)
		r := Epoch{Phase: phase, Epoch: epoch, Train: run}
		if !noValid {
			if r.Valid, err = t.validate(valid, pi, epoch, steps); err != nil {
				return err
			}
			if last && t.avg != nil {
				// Validate the average in the parameters' place; the raw ones come back below.
				r.Raw = r.Valid
				t.swapAverage()
				if r.Valid, err = t.validate(valid, pi, epoch, steps); err != nil {
					t.swapAverage()
					return err
				}
			}
		} else if t.avg != nil {
			t.swapAverage()
		}
		t.State.Epoch = epoch
		if last {
			crit := r.Valid.Mean(m.Criterion())
			if !t.State.HasBest || noValid || crit < t.State.Best {
				if err := t.keepBest(); err != nil {
					return err
				}
				t.State.HasBest, t.State.BestEpoch, r.Improved = true, epoch, true
				if !noValid {
					t.State.Best = crit
				}
			}
			if t.avg != nil {
				t.swapAverage()
			}
			if patienceSpent(cfg, t.State.BestEpoch, epoch) {
				t.State.StopReason = fmt.Sprintf("early stop: no better validation %s in %d epochs since %s", m.Criterion(), cfg.Patience, t.LastPhaseEpoch(t.State.BestEpoch))
				r.Stop = true
			}
		}
		if epoch >= t.phaseEpochs(pi) && (last || cfg.Epochs == 0) {
			r.Stop = true
		}
		if !t.Deadline.IsZero() && !r.Stop && time.Now().Add(time.Since(epochStart)).After(t.Deadline) {
			t.State.StopReason = "time budget: another epoch would end after the deadline"
			r.Stop = true
		}
		if r.Stop {
			if err := t.finish(); err != nil {
				return err
			}
		}
		var extra []Metric
		if !noValid {
			extra = r.Valid.Metrics("valid_")
			if r.Raw.N > 0 {
				extra = append(extra, Metric{"raw_" + m.Criterion(), r.Raw.Mean(m.Criterion())})
			}
		}
		report(steps, true, extra...)
		if t.Checkpoint != "" {
			if err := t.SaveCheckpoint(t.Checkpoint); err != nil {
				return err
			}
		}
		if t.OnEpoch != nil {
			if err := t.OnEpoch(r); err != nil {
				return err
			}
		}
		if !r.Stop && epoch >= t.phaseEpochs(pi) {
			if err := t.nextPhase(); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSamples checks that s fits the module's buffers w.
func checkSamples(m Module, w Work, s *Samples) error {
	if s.N() == 0 {
		return nil
	}
	if n := w.Inputs().Shape()[1]; s.Dim != n {
		return fmt.Errorf("%s has %d features per sample, the %s model takes %d", s.Name, s.Dim, m.Kind(), n)
	}
	if tg := w.Targets(); tg != nil {
		k := tg.Len() / tg.Shape()[0] // a ChunkedWork's Targets is its first chunk's
		if s.Y == nil || s.YDim != k {
			return fmt.Errorf("%s has %d target values per sample, the %s model takes %d", s.Name, s.YDim, m.Kind(), k)
		}
	}
	return nil
}

// validate runs the validation set, turning a non-finite loss into the training error.
func (t *Trainer) validate(valid *Samples, pi, epoch, steps int) (Sums, error) {
	s, err := Evaluate(t.Module, t.works, valid, t.Config.EvalBatch, pi)
	if err == nil && !s.finite() {
		err = ErrNotFinite
	}
	if err != nil {
		return s, t.failed(epoch, steps, s, fmt.Errorf("on the validation set: %w", err))
	}
	return s, t.Module.Backend().Sync()
}

// failed wraps a failure of a step with where it happened.
func (t *Trainer) failed(epoch, step int, l Sums, err error) error {
	if !errors.Is(err, ErrNotFinite) {
		return err
	}
	var terms string
	for _, mt := range l.Metrics("") {
		terms += fmt.Sprintf("%s %g, ", mt.Name, mt.Value)
	}
	return fmt.Errorf("%s phase, epoch %d, step %d: %w (%slearning rate %g); training stopped",
		t.State.Phase, t.runEpoch(epoch), step, err, terms, t.LR())
}

// LastPhaseEpoch names epoch e of the last phase (where the best validation is kept) as the
// progress lines number it, from the start of the run, and by its number within the phase when
// that differs: the number that --epochs takes to train that far again.
func (t *Trainer) LastPhaseEpoch(e int) string {
	off := t.lastPhaseOffset()
	if off == 0 {
		return fmt.Sprintf("epoch %d", e)
	}
	ph := t.Module.Phases()
	return fmt.Sprintf("epoch %d (%d of the %s phase)", e+off, e, ph[len(ph)-1])
}

// runEpoch numbers epoch of the current phase as the progress lines do, from the start of the run.
func (t *Trainer) runEpoch(epoch int) int {
	if t.phaseIndex() == len(t.Module.Phases())-1 {
		return epoch + t.lastPhaseOffset()
	}
	return epoch
}

// lastPhaseOffset is the number of epochs before the last phase: a two-phase module's last phase
// follows the pre-training epochs.
func (t *Trainer) lastPhaseOffset() int {
	if len(t.Module.Phases()) == 2 {
		return t.Config.PretrainEpochs
	}
	return 0
}

// project applies every parameter's constraint (to vals[i] instead of the Value when given).
func project(ps []*Param, vals []kernels.Tensor) {
	for i, p := range Trainable(ps) {
		if p.Project != nil {
			if vals != nil {
				p.Project(vals[i])
			} else {
				p.Project(p.Value)
			}
		}
	}
}

// nextPhase moves to the next phase (the optimizer restarts from rest: the loss changes), or to
// done.
func (t *Trainer) nextPhase() error {
	phases := t.Module.Phases()
	if i := t.phaseIndex(); i+1 < len(phases) && t.Config.Epochs > 0 {
		t.enterPhase(phases[i+1])
		return nil
	}
	return t.finish()
}

// enterPhase starts phase p at its first epoch, the optimizer at rest.
func (t *Trainer) enterPhase(p string) {
	t.State.Phase, t.State.Epoch, t.State.PhaseSamples = p, 0, 0
	t.opt.Reset()
	t.State.OptSteps = 0
}

// finish ends training with the best parameters in the module; a run that ends in the last phase
// keeps its last epoch's parameters beside them, for Continue.
func (t *Trainer) finish() error {
	if t.best != nil && t.phaseIndex() == len(t.Module.Phases())-1 {
		var err error
		if t.last, err = t.copies(); err != nil {
			return err
		}
		t.setParams(t.best)
		t.State.HasLast = true
	}
	if t.State.StopReason == "" {
		t.State.StopReason = "all epochs done"
	}
	t.State.Phase = PhaseDone
	return nil
}

// patienceSpent reports whether c's early stopping ends the last phase after its epoch e, the
// best validation having been at epoch best.
func patienceSpent(c TrainConfig, best, e int) bool {
	return c.Patience > 0 && e-best >= c.Patience
}

// Continue reopens a run that has ended, for more training under t.Config — more epochs, a
// longer patience, a new deadline — so that it goes on as a run with that schedule from the
// start would have: one that ended in the last phase gets its last epoch's parameters back in
// place of the best (exact reports whether the checkpoint it came from kept them: those written
// before 2026-12-07 did not, and the run then goes on from its best epoch), one that ended in
// pre-training finishes it or, if it was whole, enters the last phase. reopened is false, and
// nothing changes, when the run has not ended or t.Config would end it again at once.
func (t *Trainer) Continue() (reopened, exact bool) {
	phases := t.Module.Phases()
	last := phases[len(phases)-1]
	switch {
	case t.State.Phase != PhaseDone:
		return false, false
	case !t.State.HasBest: // ended in pre-training, its parameters the last epoch's
		switch {
		case len(phases) < 2:
			return false, false
		case t.State.Epoch < t.Config.PretrainEpochs: // stopped early (the time budget)
			t.State.Phase = phases[0]
		case t.Config.Epochs > 0:
			t.enterPhase(last)
		default:
			return false, false
		}
		t.State.StopReason = ""
		return true, true
	}
	if t.State.Epoch >= t.Config.Epochs || patienceSpent(t.Config, t.State.BestEpoch, t.State.Epoch) {
		return false, false
	}
	if t.last != nil {
		t.setParams(t.last)
		FreeTensors(t.Module.Backend(), t.last...)
		t.last, t.State.HasLast = nil, false
		exact = true
	}
	t.State.Phase, t.State.StopReason = last, ""
	return true, exact
}

// copies allocates tensors shaped like the trainable parameters, holding their values.
func (t *Trainer) copies() ([]kernels.Tensor, error) {
	ps := Trainable(t.Module.Params())
	shapes := make([][]int, len(ps))
	for i, p := range ps {
		shapes[i] = p.Shape()
	}
	ts, err := NewTensors(t.Module.Backend(), shapes...)
	if err != nil {
		return nil, fmt.Errorf("training: a copy of the parameters: %w", err)
	}
	for i, p := range ps {
		t.Module.Backend().Copy(ts[i], p.Value)
	}
	return ts, nil
}

// average updates the moving average after a step, starting it at the parameters of the first
// step of the last phase.
func (t *Trainer) average() error {
	if t.avg == nil {
		var err error
		t.avg, err = t.copies()
		t.State.HasAverage = err == nil
		return err
	}
	a := float32(t.Config.Average)
	for i, p := range Trainable(t.Module.Params()) {
		t.Module.Backend().Axpby(1-a, p.Value, a, t.avg[i])
	}
	return nil
}

// swapAverage exchanges the parameters with their average (twice restores them).
func (t *Trainer) swapAverage() { swapValues(Trainable(t.Module.Params()), t.avg) }

func swapValues(ps []*Param, ts []kernels.Tensor) {
	for i, p := range ps {
		p.Value, ts[i] = ts[i], p.Value
	}
}

// setParams copies vals (shaped as by copies) into the trainable parameters.
func (t *Trainer) setParams(vals []kernels.Tensor) {
	for i, p := range Trainable(t.Module.Params()) {
		t.Module.Backend().Copy(p.Value, vals[i])
	}
}

// keepBest copies the parameters into t.best.
func (t *Trainer) keepBest() error {
	if t.best == nil {
		var err error
		t.best, err = t.copies()
		return err
	}
	for i, p := range Trainable(t.Module.Params()) {
		t.Module.Backend().Copy(t.best[i], p.Value)
	}
	return nil
}

// epochSeed derives the minibatch order of one epoch of a phase, so that a resumed run sees the
// same order as an uninterrupted one.
func epochSeed(seed uint64, phase, epoch int) uint64 {
	s := seed*0x9e3779b97f4a7c15 + uint64(epoch)
	if phase > 0 {
		s ^= 0xd1b54a32d192ed03
	}
	return s
}
