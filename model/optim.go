package model

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// Optimizers, selected by TrainConfig.Optimizer. Every parameter's step is scaled by its
// Param.LRScale; everything runs on the device and Step never waits for it.
const (
	// SGD with heavy-ball momentum μ: v ← μ·v + g, p ← p − lr·v (plain SGD when μ = 0, and no
	// velocity is kept).
	OptSGD = "sgd"
	// Adam (Kingma & Ba 2015): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
	// p ← p − lr·m̂/(√v̂ + ε) with the bias-corrected m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), as in PyTorch.
	OptAdam = "adam"
)

// An Optimizer holds the state of SGD with momentum or of Adam for a list of parameters, one
// tensor per slot and parameter, shaped like it (llm.c's layout: a slot is a copy of the
// parameter list).
type Optimizer struct {
	Kind  string
	cfg   TrainConfig
	be    kernels.Backend
	slots [][]kernels.Tensor // SGD: velocity (when μ > 0); Adam: m, v
	// Steps is Adam's t, the steps since the last Reset.
	Steps int64
}

// NewOptimizer allocates the optimizer cfg names for the trainable parameters of ps.
func NewOptimizer(be kernels.Backend, ps []*Param, cfg TrainConfig) (*Optimizer, error) {
	o := &Optimizer{Kind: cfg.Optimizer, cfg: cfg, be: be}
	n := 0
	switch {
	case cfg.Optimizer == OptAdam:
		n = 2
	case cfg.Momentum > 0:
		n = 1
	}
	for range n {
		var shapes [][]int
		for _, p := range Trainable(ps) {
			shapes = append(shapes, p.Shape())
		}
		ts, err := NewTensors(be, shapes...)
		if err != nil {
			o.Free()
			return nil, fmt.Errorf("optimizer state: %w", err)
		}
		o.slots = append(o.slots, ts)
	}
	return o, nil
}

// SlotNames are the checkpoint prefixes of the optimizer's slots.
func (o *Optimizer) SlotNames() []string {
	if o.Kind == OptAdam {
		return []string{"adam_m.", "adam_v."}
	}
	if len(o.slots) == 1 {
		return []string{"velocity."}
	}
	return nil
}

// Slots returns the state tensors, per slot one per trainable parameter.
func (o *Optimizer) Slots() [][]kernels.Tensor { return o.slots }

// Step updates the trainable parameters of ps from their gradients with learning rate lr.
func (o *Optimizer) Step(ps []*Param, lr float64) {
	be := o.be
	o.Steps++
	bias1 := 1 - math.Pow(o.cfg.Beta1, float64(o.Steps))
	bias2 := math.Sqrt(1 - math.Pow(o.cfg.Beta2, float64(o.Steps)))
	for i, p := range Trainable(ps) {
		rate := lr * p.LRScale
		switch {
		case o.Kind == OptAdam:
			be.AdamUpdate(p.Value, p.Grad, o.slots[0][i], o.slots[1][i],
				float32(rate*bias2/bias1), float32(o.cfg.Beta1), float32(o.cfg.Beta2), float32(o.cfg.AdamEps*bias2))
		case len(o.slots) == 1:
			v := o.slots[0][i]
			be.Axpby(1, p.Grad, float32(o.cfg.Momentum), v)
			be.Axpby(float32(-rate), v, 1, p.Value)
		default:
			be.Axpby(float32(-rate), p.Grad, 1, p.Value)
		}
	}
}

// Reset zeroes the state: a new phase of training starts from rest.
func (o *Optimizer) Reset() {
	for _, s := range o.slots {
		for _, t := range s {
			o.be.Fill(t, 0)
		}
	}
	o.Steps = 0
}

// Free releases the state.
func (o *Optimizer) Free() {
	for _, s := range o.slots {
		FreeTensors(o.be, s...)
	}
	o.slots = nil
}
