package model

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
)

// SGD is stochastic gradient descent with optional heavy-ball momentum and a learning-rate
// multiplier per parameter, over tensors on one backend:
//
//	v ← μ·v + g,  p ← p − lr·scale·v     (μ > 0)
//	p ← p − lr·scale·g                   (μ = 0; no velocity is kept)
//
// Everything runs on the device; Step never waits for it.
type SGD struct {
	Momentum float64
	Scale    []float64        // per-parameter multiplier of the learning rate
	Velocity []kernels.Tensor // one per parameter, shaped like it; nil when Momentum is 0
	be       kernels.Backend
}

// NewSGD makes an optimizer for params with per-parameter learning-rate multipliers scale
// (nil: all 1). With momentum > 0 it allocates a zero velocity per parameter.
func NewSGD(be kernels.Backend, params []kernels.Tensor, momentum float64, scale []float64) (*SGD, error) {
	if momentum < 0 || momentum >= 1 {
		return nil, fmt.Errorf("momentum %g, want 0 ≤ μ < 1", momentum)
	}
	if scale == nil {
		scale = make([]float64, len(params))
		for i := range scale {
			scale[i] = 1
		}
	}
	if len(scale) != len(params) {
		panic(fmt.Sprintf("model: NewSGD: %d scales for %d parameters", len(scale), len(params)))
	}
	o := &SGD{Momentum: momentum, Scale: scale, be: be}
	if momentum > 0 {
		shapes := make([][]int, len(params))
		for i, p := range params {
			shapes[i] = p.Shape()
		}
		v, err := newTensors(be, shapes...)
		if err != nil {
			return nil, fmt.Errorf("momentum buffers: %w", err)
		}
		o.Velocity = v
	}
	return o, nil
}

// Step applies one update with learning rate lr to params, given their gradients.
func (o *SGD) Step(params, grads []kernels.Tensor, lr float64) {
	if len(params) != len(grads) || len(params) != len(o.Scale) {
		panic(fmt.Sprintf("model: SGD.Step: %d parameters, %d gradients, %d scales", len(params), len(grads), len(o.Scale)))
	}
	for i, p := range params {
		step := float32(-lr * o.Scale[i])
		if o.Velocity == nil {
			o.be.Axpby(step, grads[i], 1, p)
			continue
		}
		v := o.Velocity[i]
		o.be.Axpby(1, grads[i], float32(o.Momentum), v)
		o.be.Axpby(step, v, 1, p)
	}
}

// Reset zeroes the velocities (a new phase of training starts from rest).
func (o *SGD) Reset() {
	for _, v := range o.Velocity {
		o.be.Fill(v, 0)
	}
}

// Free releases the velocities.
func (o *SGD) Free() {
	for _, v := range o.Velocity {
		o.be.Free(v)
	}
	o.Velocity = nil
}
