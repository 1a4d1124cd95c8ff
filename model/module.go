package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
)

// A Module is one model kind's computation: what it computes, not how it is trained. It
// declares its parameters, runs forward and backward passes on minibatches held in a Work it
// allocates, and reads back its loss terms. The Trainer does the rest.
//
// Phases: a module trains in one phase ("train"), or in several in order (DrSAE: "unsupervised",
// then "supervised"); the phase index is passed to every pass.
type Module interface {
	// Kind is the registered name of the module's kind ("drsae", "dict", …).
	Kind() string
	// Config is the module's configuration, saved as the JSON beside its tensors (a pointer to
	// the kind's config struct; the module reads it, the caller must not change it).
	Config() Config
	// Backend is the device every tensor of the module lives on.
	Backend() kernels.Backend
	// Params lists the parameters in a fixed order; their names are the tensor names of saved
	// files. The slice and the Params are the module's; the trainer steps them and may swap a
	// Param's Value with a tensor of its own (to validate the parameter average), so a module
	// reads its parameters through its Params at every pass, never from a copy of the handle.
	Params() []*Param
	// Phases names the phases of training, in order.
	Phases() []string
	// Criterion names the validation metric that early stopping lowers ("loss", or DrSAE's "err").
	Criterion() string
	// Init sets the parameters for a fresh training run from the training samples.
	Init(train *Samples, seed uint64) error
	// NewWork allocates the buffers of passes over b samples.
	NewWork(b int) (Work, error)
	// Forward runs the module on the batch in w.Inputs() (and w.Targets()).
	Forward(w Work, phase int) error
	// Backward writes into every trainable Param's Grad the gradient of the batch mean of the
	// loss of the last Forward.
	Backward(w Work, phase int)
	// Loss reads back the sums over the batch of the loss terms of the last Forward, and any
	// other per-sample measures (L0, errors). It waits for the device.
	Loss(w Work, phase int) (Sums, error)
	// Code is the code z [B, units] of the last Forward, a tensor of w.
	Code(w Work) kernels.Tensor
	// Free releases the module's device memory.
	Free()
}

// A Work holds the buffers of passes over a fixed number of samples. Inputs is [B, inputs]; Targets
// is [B, k] for a module that takes targets (class indices, k = 1; regression targets) and nil
// otherwise. The trainer uploads both before Forward.
type Work interface {
	Size() int
	Inputs() kernels.Tensor
	Targets() kernels.Tensor
	Free()
}

// A ChunkedWork holds its batch in chunks of consecutive samples, each in tensors of its own: a
// batch of large images can be larger than one device storage block (128 MiB on Mesa llvmpipe).
// Inputs then returns the first chunk's inputs; the host copies batches in through UploadBatch.
type ChunkedWork interface {
	Work
	// UploadBatch copies the samples x [B, inputs] and, when the Work takes targets, y [B, k].
	UploadBatch(x, y []float32)
}

// A BatchLimiter bounds the batches that evaluation and encoding pass to one Forward, so that
// their buffers stay within a memory budget whatever batch size the caller asks for.
type BatchLimiter interface {
	MaxBatch() int
}

// A Stepper is told after every optimizer step; dictionary learning replaces unused atoms there.
type Stepper interface {
	AfterStep(w Work) error
}

// A Dropper drops units at random in training steps (dropout). The trainer calls Drop before the
// Forward of every training step, with a seed drawn from the run's seed, phase, epoch and step, so
// that a resumed run drops the same units; that Forward and the Backward after it drop, and any
// other Forward (validation, evaluation, encoding) drops nothing.
type Dropper interface {
	Drop(w Work, seed uint64)
}

// A Stateful module keeps state beyond its parameters that changes during training and steers
// later steps (warm-start vectors, usage counters). Checkpoints save it so that resuming is exact.
type Stateful interface {
	State() ([]NamedTensor, error)
	SetState(map[string]HostTensor) error
}

// A Targeter computes the targets a module regresses, when the samples come without them
// (LISTA: the optimal codes z*): Targets sets s.Y and s.YDim. The trainer and Evaluate call it
// through WithTargets before the first pass.
type Targeter interface {
	Targets(s *Samples, progress ProgressFunc) error
}

// A DataFitter measures what it needs of the training data before the first step of a run (LISTA:
// the scales of its learning rates); the trainer calls it, after the targets are made.
type DataFitter interface {
	FitData(train *Samples) error
}

// A Param is a named parameter tensor with what the trainer needs to step it.
type Param struct {
	Name  string
	Value kernels.Tensor
	// Grad is ∂L/∂Value, shaped like it, written by Backward; allocated by AllocGrads (nil for
	// inference).
	Grad kernels.Tensor
	// LRScale multiplies the learning rate (DrSAE divides each matrix's rate by the number of
	// times it repeats in the unrolled net). A module may change it between steps.
	LRScale float64
	// Project, when not nil, puts x (Value, or a copy the trainer keeps) back in the feasible set
	// (a norm ball, unit columns); the trainer calls it every ProjectEvery steps and at the end of
	// every epoch.
	Project func(x kernels.Tensor)
	// Frozen parameters are saved and loaded but not trained (LISTA's dictionary).
	Frozen bool
}

// Shape is the shape of Value.
func (p *Param) Shape() []int { return p.Value.Shape() }

// NewParams allocates a zero tensor per shape on be, with learning-rate scale 1, freeing them all
// if one fails.
func NewParams(be kernels.Backend, names []string, shapes [][]int) ([]*Param, error) {
	ts, err := NewTensors(be, shapes...)
	if err != nil {
		return nil, err
	}
	ps := make([]*Param, len(names))
	for i, n := range names {
		ps[i] = &Param{Name: n, Value: ts[i], LRScale: 1}
	}
	return ps, nil
}

// AllocGrads gives every trainable parameter a zero gradient tensor, if it has none.
func AllocGrads(be kernels.Backend, ps []*Param) error {
	for _, p := range ps {
		if p.Grad != nil || p.Frozen {
			continue
		}
		g, err := be.New(p.Shape()...)
		if err != nil {
			return fmt.Errorf("gradient of %s: %w", p.Name, err)
		}
		p.Grad = g
	}
	return nil
}

// FreeParams releases the values and gradients.
func FreeParams(be kernels.Backend, ps []*Param) {
	for _, p := range ps {
		for _, t := range []kernels.Tensor{p.Value, p.Grad} {
			if t != nil {
				be.Free(t)
			}
		}
		p.Value, p.Grad = nil, nil
	}
}

// Trainable returns the parameters that are not frozen.
func Trainable(ps []*Param) []*Param {
	var out []*Param
	for _, p := range ps {
		if !p.Frozen {
			out = append(out, p)
		}
	}
	return out
}

// NormBall returns a projection for Param.Project: every row (PerRow) or column (PerCol) whose
// L2 norm exceeds radius is scaled down to it.
func NormBall(be kernels.Backend, radius float64, axis kernels.Axis) func(kernels.Tensor) {
	return func(x kernels.Tensor) { be.ProjectNormBall(x, float32(radius), axis) }
}

// UnitRows returns rows×cols values drawn from r, row by row, each row a standard Gaussian vector
// scaled to unit norm (in float64, then rounded): random filters for Init.
func UnitRows(r *rand.Rand, rows, cols int) []float32 {
	out := make([]float32, rows*cols)
	v := make([]float64, cols)
	for i := range rows {
		var s float64
		for j := range v {
			v[j] = r.NormFloat64()
			s += v[j] * v[j]
		}
		for j, x := range v {
			out[i*cols+j] = float32(x / math.Sqrt(s))
		}
	}
	return out
}

// NewTensors allocates one zero tensor per shape, freeing them all if one fails.
func NewTensors(be kernels.Backend, shapes ...[]int) ([]kernels.Tensor, error) {
	ts := make([]kernels.Tensor, len(shapes))
	for i, s := range shapes {
		t, err := be.New(s...)
		if err != nil {
			FreeTensors(be, ts[:i]...)
			return nil, err
		}
		ts[i] = t
	}
	return ts, nil
}

// FreeTensors frees every tensor that is not nil.
func FreeTensors(be kernels.Backend, ts ...kernels.Tensor) {
	for _, t := range ts {
		if t != nil {
			be.Free(t)
		}
	}
}

// HostParams downloads every parameter, by name.
func HostParams(m Module) (map[string]HostTensor, error) {
	out := map[string]HostTensor{}
	for _, p := range m.Params() {
		d := make([]float32, p.Value.Len())
		if err := m.Backend().Download(d, p.Value); err != nil {
			return nil, err
		}
		out[p.Name] = HostTensor{Shape: append([]int(nil), p.Shape()...), Data: d}
	}
	return out, nil
}
