package model

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
)

// ShrinkEncoder is the unrolled shrinkage encoder of LISTA (Gregor & LeCun 2010, §3.1) and of
// DrSAE (Rolfe & LeCun 2013, eq. 1), with its backpropagation through time:
//
//	z⁰ = 0,  z^t = h(E·x + S·z^{t−1}),  t = 1 … T,  code z^T
//
// with E [m,n], S [m,m] and per-unit thresholds θ [m]; h is the one-sided shrinkage
// max(v − θ, 0) when NonNegative (DrSAE's ReLU with bias −b), the two-sided one otherwise. With
// E = Dᵀ/L, S = I − DᵀD/L and θ = λ/L it is exactly T steps of ISTA from zero. The T steps run as
// one fused op of the backend (kernels.Backend.ShrinkRecurrence), and so does their backward.
type ShrinkEncoder struct {
	E, S, Theta *Param
	T           int
	NonNegative bool
}

// EncoderWork holds the passes of B samples: the drive E·x and every code of the T steps.
type EncoderWork struct {
	drive kernels.Tensor // E·x [B,m]
	zs    kernels.Tensor // z¹ … z^{T−1} [(T−1)·B, m]
	code  kernels.Tensor // z^T [B,m]
	// Delta: the caller writes ∂L/∂z^T [B,m] into it before Backward.
	Delta kernels.Tensor
	// GSum and Scratch [B,m]: the caller may use them as scratch before calling Backward, which
	// overwrites GSum.
	GSum, Scratch kernels.Tensor
	g             kernels.Tensor // g² … g^T [(T−1)·B, m]
	gsign         kernels.Tensor // Σ_t sign(z^t)·g^t [B,m] (two-sided h)
	ones          kernels.Tensor // [B,1] ones
	all           []kernels.Tensor
	be            kernels.Backend
}

// NewWork allocates the buffers for batches of b samples.
func (e *ShrinkEncoder) NewWork(be kernels.Backend, b int) (*EncoderWork, error) {
	m := e.Theta.Value.Len()
	steps := []int{(e.T - 1) * b, m}
	shapes := [][]int{{b, m}, {b, m}, {b, m}, {b, m}, {b, m}, {b, 1}, steps, steps}
	if !e.NonNegative {
		shapes = append(shapes, []int{b, m}) // gsign
	}
	ts, err := NewTensors(be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("encoder buffers: %w", err)
	}
	w := &EncoderWork{drive: ts[0], code: ts[1], Delta: ts[2], GSum: ts[3], Scratch: ts[4], ones: ts[5], zs: ts[6], g: ts[7], all: ts, be: be}
	if !e.NonNegative {
		w.gsign = ts[8]
	}
	be.Fill(w.ones, 1)
	return w, nil
}

// Free releases the buffers.
func (w *EncoderWork) Free() { FreeTensors(w.be, w.all...) }

// Code is z^T of the last Forward.
func (w *EncoderWork) Code() kernels.Tensor { return w.code }

// Steps is z¹ … z^{T−1} of the last Forward, [(T−1)·B, m] (z^t in rows (t−1)·B …).
func (w *EncoderWork) Steps() kernels.Tensor { return w.zs }

// Forward runs the T steps on x [B,n].
func (e *ShrinkEncoder) Forward(be kernels.Backend, w *EncoderWork, x kernels.Tensor) {
	be.Gemm(false, true, 1, x, e.E.Value, 0, w.drive) // E·x, as rows: X·Eᵀ [B,m]
	be.ShrinkRecurrence(w.zs, w.code, w.drive, e.S.Value, e.Theta.Value, e.NonNegative)
}

// Backward writes ∂L/∂E, ∂L/∂S and ∂L/∂θ into the parameters' Grads, given δ = ∂L/∂z^T in
// w.Delta, after Forward on x [B,n]. Rows are samples:
//
//	g^t = δ^t ⊙ h'(a^t),  δ^{t−1} = g^t·S,
//	∂E = Σ_t g^tᵀ·x,  ∂S = Σ_{t≥2} g^tᵀ·z^{t−1},  ∂θ = −Σ_t Σ_batch g^t (one-sided h)
//	or −Σ_t Σ_batch sign(a^t)·g^t (two-sided),
//
// where a^t is step t's pre-activation: the fused backward op gives the g^t and their sums,
// and each gradient is then one product.
func (e *ShrinkEncoder) Backward(be kernels.Backend, w *EncoderWork, x kernels.Tensor) {
	be.ShrinkRecurrenceBackward(w.g, w.GSum, w.gsign, w.Delta, w.zs, w.code, e.S.Value)
	be.Gemm(true, false, 1, w.g, w.zs, 0, e.S.Grad) // ∂S = Σ_{t≥2} g^tᵀ·z^{t−1} [m,m]
	be.Gemm(true, false, 1, w.GSum, x, 0, e.E.Grad) // ∂E = Σ_t g^tᵀ·X [m,n]
	signed := w.GSum
	if !e.NonNegative {
		signed = w.gsign
	}
	m := e.Theta.Value.Len()
	be.Gemm(true, false, -1, w.ones, signed, 0, be.Reshape(e.Theta.Grad, 1, m)) // ∂θ = −1ᵀ·Σ_t sign·g^t
}

// SetISTA sets the encoder to T steps of ISTA for ½‖x − D z‖² + λ‖z‖₁ (z ≥ 0 with NonNegative)
// with dictionary d [n,m] and step 1/l (l ≥ λ_max(DᵀD) for convergence): E = Dᵀ/l,
// S = I − DᵀD/l, θ = λ/l, computed on the device. eye [m,m] holds the identity.
func (e *ShrinkEncoder) SetISTA(be kernels.Backend, d, eye kernels.Tensor, lambda, l float64) {
	be.Transpose(e.E.Value, d)
	be.Axpby(float32(1/l), e.E.Value, 0, e.E.Value)
	be.Copy(e.S.Value, eye)
	be.Gemm(true, false, float32(-1/l), d, d, 1, e.S.Value)
	be.Fill(e.Theta.Value, float32(lambda/l))
}

// Identity uploads the identity into a new [m,m] tensor.
func Identity(be kernels.Backend, m int) (kernels.Tensor, error) {
	t, err := be.New(m, m)
	if err != nil {
		return nil, err
	}
	eye := make([]float32, m*m)
	for i := range m {
		eye[i*m+i] = 1
	}
	be.Upload(t, eye)
	return t, nil
}
