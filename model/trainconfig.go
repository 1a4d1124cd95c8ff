package model

import (
	"fmt"
	"math"
)

// TrainConfig is the schedule of a training run, the same for every kind (each kind registers its
// defaults). Its keys follow the Config tag rules; it is saved in checkpoints.
type TrainConfig struct {
	Batch int `json:"batch" help:"samples per minibatch"`
	// The phases: a kind that pre-trains (DrSAE's unsupervised phase) runs PretrainEpochs of it,
	// then up to Epochs of its last phase; other kinds run Epochs.
	PretrainEpochs int `json:"pretrain_epochs" help:"epochs of the pre-training phase (DrSAE: unsupervised, on reconstruction and sparsity only)"`
	Epochs         int `json:"epochs" cfg:"resume" help:"at most this many epochs of the (last) training phase"`

	Optimizer string  `json:"optimizer" help:"sgd (with momentum) or adam"`
	LR        float64 `json:"lr" help:"learning rate, of the minibatch mean of the loss"`
	LRDecay   float64 `json:"lr_decay" help:"learning-rate decay: lr/(1 + lr_decay·samples seen)"`
	LRRestart bool    `json:"lr_restart,omitempty" help:"restart the decay at each phase: count only the samples of the current phase"`
	Momentum  float64 `json:"momentum" help:"sgd: heavy-ball momentum μ (0: plain SGD)"`
	Beta1     float64 `json:"beta1" help:"adam: decay β₁ of the mean of the gradients"`
	Beta2     float64 `json:"beta2" help:"adam: decay β₂ of the mean of their squares"`
	AdamEps   float64 `json:"adam_eps" help:"adam: ε added to the root mean square"`

	ProjectEvery int `json:"project_every" help:"minibatches between projections of the parameters onto their constraints (and at the end of every epoch)"`
	Patience     int `json:"patience" cfg:"resume" help:"stop after this many epochs of the last phase without a better validation criterion (0: never)"`
	// Average, when > 0, keeps an exponential moving average of the parameters over the steps of
	// the last phase, a ← Average·a + (1 − Average)·θ (Polyak–Ruppert averaging); validation,
	// early stopping and the saved model use it.
	Average float64 `json:"average" help:"moving average of the parameters over the last phase's steps, with this decay per step (e.g. 0.9995; 0: off); validation and the saved model use it"`
	// Shift, when > 0, augments image data: every time a training image is drawn it is moved by
	// an offset drawn uniformly from [−Shift, Shift]² pixels (data.ShiftBatch), from the seed and
	// the epoch, so a resumed run draws the same. Validation and test images are not moved.
	Shift int `json:"shift,omitempty" help:"images: move each training image by a random offset of up to this many pixels each way every time it is drawn (data augmentation; 0: off)"`
	// Rotate and Scale, when either is > 0, warp each training image each time it is drawn by a
	// random turn about its centre of up to Rotate degrees either way and a scaling by a factor
	// in [1 − Scale, 1 + Scale], interpolated bilinearly (data.WarpBatch); the move Shift allows is
	// then drawn in fractions of a pixel. Validation and test images are again left as they are.
	Rotate float64 `json:"rotate,omitempty" help:"images: turn each training image by a random angle of up to this many degrees either way every time it is drawn (data augmentation; 0: off)"`
	Scale  float64 `json:"scale,omitempty" help:"images: scale each training image by a random factor in [1 − scale, 1 + scale] every time it is drawn (data augmentation; 0: off)"`
	// Flip mirrors each training image left to right with probability ½ each time it is drawn
	// (data.FlipBatch), before any shift or warp, from its own stream of the seed and the epoch:
	// runs without it draw their shifts as before. For images whose class does not depend on
	// left and right (clothes, photographs), not for digits.
	Flip        bool   `json:"flip,omitempty" help:"images: mirror each training image left to right with probability ½ every time it is drawn (data augmentation for clothes or photographs, not digits)"`
	Seed        uint64 `json:"seed" help:"random seed: initialization and minibatch order"`
	ReportEvery int    `json:"report_every" help:"minibatches between read-backs of the loss (and NaN checks)"`
	EvalBatch   int    `json:"eval_batch" help:"samples per batch of validation passes"`

	// Data records which data the run trains on, so that a resumed run and the tools that read
	// the model prepare the same; the trainer does not read it.
	Data DataSpec `json:"data" cfg:"noflag"`
}

// DataSpec names a run's data and how it was prepared; the command line reads and writes it.
type DataSpec struct {
	Source     string  `json:"source" flag:"data" help:"data set: mnist, fashion (Fashion-MNIST) or patches (of natural photographs)"`
	Preprocess string  `json:"preprocess" help:"none, l2 (each sample scaled to unit norm), mean (its mean removed) or contrast (mean removed, divided by its standard deviation)"`
	TrainSize  int     `json:"train_size" help:"training samples (digits: the first of the 60,000 training images; patches: how many to cut); 0: all digits, or 50,000 patches (at most 256 MiB of them)"`
	ValidSize  int     `json:"valid_size" help:"validation samples, taken after the training ones (0: no validation, no early stopping: the model is the last epoch's)"`
	TestSize   int     `json:"test_size" help:"test samples scored at the end and by eval (0: all; patches: how many to cut)"`
	Patch      int     `json:"patch,omitempty" help:"patches: side in pixels"`
	LCNSigma   float64 `json:"lcn_sigma,omitempty" help:"patches: σ in pixels of the local contrast normalization of each image (0: none)"`
	Seed       uint64  `json:"seed,omitempty" flag:"data-seed" help:"patches: seed of the patch positions"`
}

// Validate returns an error naming the first key out of range.
func (c TrainConfig) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case c.Batch <= 0:
		return fmt.Errorf("batch = %d, want > 0", c.Batch)
	case c.PretrainEpochs < 0:
		return fmt.Errorf("pretrain_epochs = %d, want ≥ 0", c.PretrainEpochs)
	case c.Epochs < 0:
		return fmt.Errorf("epochs = %d, want ≥ 0", c.Epochs)
	case c.PretrainEpochs+c.Epochs == 0:
		return fmt.Errorf("pretrain_epochs and epochs are both 0: nothing to train")
	case c.Optimizer != OptSGD && c.Optimizer != OptAdam:
		return fmt.Errorf("optimizer = %q, want %s or %s", c.Optimizer, OptSGD, OptAdam)
	case !(c.LR > 0) || bad(c.LR):
		return fmt.Errorf("lr = %g, want > 0", c.LR)
	case c.LRDecay < 0 || bad(c.LRDecay):
		return fmt.Errorf("lr_decay = %g, want ≥ 0", c.LRDecay)
	case c.Momentum < 0 || c.Momentum >= 1 || bad(c.Momentum):
		return fmt.Errorf("momentum = %g, want 0 ≤ μ < 1", c.Momentum)
	case c.Beta1 < 0 || c.Beta1 >= 1 || bad(c.Beta1):
		return fmt.Errorf("beta1 = %g, want 0 ≤ β₁ < 1", c.Beta1)
	case c.Beta2 < 0 || c.Beta2 >= 1 || bad(c.Beta2):
		return fmt.Errorf("beta2 = %g, want 0 ≤ β₂ < 1", c.Beta2)
	case !(c.AdamEps > 0) || bad(c.AdamEps):
		return fmt.Errorf("adam_eps = %g, want > 0", c.AdamEps)
	case c.ProjectEvery <= 0:
		return fmt.Errorf("project_every = %d, want > 0", c.ProjectEvery)
	case c.Patience < 0:
		return fmt.Errorf("patience = %d, want ≥ 0", c.Patience)
	case c.Average < 0 || c.Average >= 1 || bad(c.Average):
		return fmt.Errorf("average = %g, want 0 ≤ a < 1", c.Average)
	case c.ReportEvery <= 0:
		return fmt.Errorf("report_every = %d, want > 0", c.ReportEvery)
	case c.EvalBatch <= 0:
		return fmt.Errorf("eval_batch = %d, want > 0", c.EvalBatch)
	case c.Shift < 0 || c.Shift > MaxShift:
		return fmt.Errorf("shift = %d, want 0..%d pixels", c.Shift, MaxShift)
	case !(c.Rotate >= 0 && c.Rotate <= 180):
		return fmt.Errorf("rotate = %g, want 0..180 degrees", c.Rotate)
	case !(c.Scale >= 0 && c.Scale <= 0.5):
		return fmt.Errorf("scale = %g, want 0..0.5", c.Scale)
	}
	return nil
}

// DefaultTrainConfig returns the defaults every kind starts from: SGD with momentum 0.9, one
// phase of 10 epochs, minibatches of 64, no decay, projections after every step.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Batch: 64, Epochs: 10, Optimizer: OptSGD, LR: 0.01, Momentum: 0.9,
		Beta1: 0.9, Beta2: 0.999, AdamEps: 1e-8, ProjectEvery: 1, Seed: 1, ReportEvery: 10, EvalBatch: 500}
}

// MaxShift bounds TrainConfig.Shift, in pixels.
const MaxShift = 64

// MaxPatch is the largest side of patches (crops of whole photographs for convolutional models).
const MaxPatch = 2048

// Validate returns an error naming the first key out of range.
func (s DataSpec) Validate() error {
	switch {
	case s.Source != "mnist" && s.Source != "fashion" && s.Source != "patches":
		return fmt.Errorf("source = %q, want mnist, fashion or patches", s.Source)
	case s.Preprocess != "none" && s.Preprocess != "l2" && s.Preprocess != "contrast" && s.Preprocess != "mean":
		return fmt.Errorf("preprocess = %q, want none, l2, contrast or mean", s.Preprocess)
	case s.TrainSize < 0:
		return fmt.Errorf("train_size = %d, want ≥ 0", s.TrainSize)
	case s.ValidSize < 0:
		return fmt.Errorf("valid_size = %d, want ≥ 0", s.ValidSize)
	case s.TestSize < 0:
		return fmt.Errorf("test_size = %d, want ≥ 0", s.TestSize)
	case s.Source == "patches" && (s.Patch < 2 || s.Patch > MaxPatch):
		return fmt.Errorf("patch = %d, want 2..%d", s.Patch, MaxPatch)
	case !(s.LCNSigma >= 0) || math.IsInf(s.LCNSigma, 0):
		return fmt.Errorf("lcn_sigma = %g, want a finite value ≥ 0", s.LCNSigma)
	case s.Source != "patches" && s.TrainSize+s.ValidSize > 60000:
		return fmt.Errorf("train_size = %d: with valid_size %d, more than the 60,000 training images", s.TrainSize, s.ValidSize)
	}
	return nil
}

// PhaseDone is TrainState.Phase once training has ended.
const PhaseDone = "done"

// TrainState is where a run stands; a checkpoint stores it, and resuming from it continues with
// the next epoch exactly as an uninterrupted run would.
type TrainState struct {
	Phase        string  `json:"phase"`         // a name of Module.Phases, or PhaseDone
	Epoch        int     `json:"epoch"`         // epochs finished in Phase
	Samples      int64   `json:"samples"`       // training samples seen
	PhaseSamples int64   `json:"phase_samples"` // of them, in this phase (the decay with lr_restart)
	Steps        int64   `json:"steps"`         // minibatches done (the projection schedule)
	OptSteps     int64   `json:"opt_steps"`     // optimizer steps since its last reset (Adam's t)
	Seconds      float64 `json:"seconds"`       // training time so far
	HasBest      bool    `json:"has_best"`      // an epoch of the last phase has been kept as the best
	HasAverage   bool    `json:"has_average"`   // the parameter average has started
	HasLast      bool    `json:"has_last"`      // ended in the last phase: the last epoch's parameters are kept beside the best
	Best         float64 `json:"best"`          // the lowest validation criterion so far
	BestEpoch    int     `json:"best_epoch"`    // the epoch of the last phase that reached it
	StopReason   string  `json:"stop_reason,omitempty"`
}
