package model

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
)

// ShrinkEncoder is the unrolled shrinkage encoder of LISTA (Gregor & LeCun 2010, §3.1) and of
// DrSAE (Rolfe & LeCun 2013, eq. 1), with its backpropagation through time:
//
//	a¹ = E·x,  z¹ = h(a¹),  a^{t+1} = E·x + S·z^t,  z^{t+1} = h(a^{t+1}),  t = 1 … T−1,  code z^T
//
// (z⁰ = 0), with E [m,n], S [m,m] and per-unit thresholds θ [m]; h is the one-sided shrinkage
// max(v − θ, 0) when NonNegative (DrSAE's ReLU with bias −b), the two-sided one otherwise. With
// E = Dᵀ/L, S = I − DᵀD/L and θ = λ/L it is exactly T steps of ISTA from zero.
type ShrinkEncoder struct {
	E, S, Theta *Param
	T           int
	NonNegative bool
}

// EncoderWork holds the passes of B samples: every pre-activation and code of the T steps.
type EncoderWork struct {
	A, Z []kernels.Tensor // a^t and z^t, t = 1 … T, each [B,m]
	// Delta: the caller writes ∂L/∂z^T [B,m] into it before Backward, which overwrites it.
	Delta kernels.Tensor
	// G and GSum [B,m] are Backward's; the caller may use them as scratch before calling it.
	G, GSum kernels.Tensor
	dtheta  kernels.Tensor // [m], one step's ∂θ (two-sided h)
	ones    kernels.Tensor // [B,1] ones (one-sided h)
	all     []kernels.Tensor
	be      kernels.Backend
}

// NewWork allocates the buffers for batches of b samples.
func (e *ShrinkEncoder) NewWork(be kernels.Backend, b int) (*EncoderWork, error) {
	m := e.Theta.Value.Len()
	shapes := [][]int{{b, m}, {b, m}, {b, m}, {m}, {b, 1}}
	for range 2 * e.T {
		shapes = append(shapes, []int{b, m})
	}
	ts, err := NewTensors(be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("encoder buffers: %w", err)
	}
	w := &EncoderWork{Delta: ts[0], G: ts[1], GSum: ts[2], dtheta: ts[3], ones: ts[4], all: ts, be: be}
	w.A, w.Z = ts[5:5+e.T], ts[5+e.T:]
	be.Fill(w.ones, 1)
	return w, nil
}

// Free releases the buffers.
func (w *EncoderWork) Free() { FreeTensors(w.be, w.all...) }

// Code is z^T of the last Forward.
func (w *EncoderWork) Code() kernels.Tensor { return w.Z[len(w.Z)-1] }

func (e *ShrinkEncoder) shrink(be kernels.Backend, dst, x kernels.Tensor) {
	if e.NonNegative {
		be.PosShrink(dst, x, e.Theta.Value)
	} else {
		be.SoftShrink(dst, x, e.Theta.Value)
	}
}

// Forward runs the T steps on x [B,n].
func (e *ShrinkEncoder) Forward(be kernels.Backend, w *EncoderWork, x kernels.Tensor) {
	be.Gemm(false, true, 1, x, e.E.Value, 0, w.A[0]) // a¹ = X·Eᵀ [B,m]
	e.shrink(be, w.Z[0], w.A[0])
	for t := 1; t < e.T; t++ {
		be.Copy(w.A[t], w.A[0])
		be.Gemm(false, true, 1, w.Z[t-1], e.S.Value, 1, w.A[t]) // a += z·Sᵀ
		e.shrink(be, w.Z[t], w.A[t])
	}
}

// Backward writes ∂L/∂E, ∂L/∂S and ∂L/∂θ into the parameters' Grads, given δ = ∂L/∂z^T in
// w.Delta, after Forward on x [B,n]. Rows are samples:
//
//	g^t = δ^t ⊙ h'(a^t),  δ^{t−1} = g^t·S,
//	∂E = Σ_t g^tᵀ·x,  ∂S = Σ_{t≥2} g^tᵀ·z^{t−1},  ∂θ = −Σ_t Σ_batch g^t (one-sided h)
//	or −Σ_t Σ_batch sign(a^t)·g^t (two-sided).
//
// For the one-sided h, ∂θ is one product with the summed g^t; the two-sided h needs each step's.
func (e *ShrinkEncoder) Backward(be kernels.Backend, w *EncoderWork, x kernels.Tensor) {
	T := e.T
	if T == 1 {
		be.Fill(e.S.Grad, 0) // S is not used with one step
	}
	for t := T - 1; t >= 0; t-- {
		if e.NonNegative {
			be.PosShrinkBackward(w.G, nil, w.Delta, w.A[t], e.Theta.Value)
		} else {
			be.SoftShrinkBackward(w.G, w.dtheta, w.Delta, w.A[t], e.Theta.Value)
			if t == T-1 {
				be.Copy(e.Theta.Grad, w.dtheta)
			} else {
				be.Axpby(1, w.dtheta, 1, e.Theta.Grad)
			}
		}
		if t == T-1 {
			be.Copy(w.GSum, w.G)
		} else {
			be.Axpby(1, w.G, 1, w.GSum)
		}
		if t > 0 {
			beta := float32(1)
			if t == T-1 {
				beta = 0
			}
			be.Gemm(true, false, 1, w.G, w.Z[t-1], beta, e.S.Grad) // ∂S += gᵀ·z^{t−1} [m,m]
			be.Gemm(false, false, 1, w.G, e.S.Value, 0, w.Delta)   // δ^{t−1} = g·S [B,m]
		}
	}
	be.Gemm(true, false, 1, w.GSum, x, 0, e.E.Grad) // ∂E = Σ gᵀ·X [m,n]
	if e.NonNegative {
		m := e.Theta.Value.Len()
		be.Gemm(true, false, -1, w.ones, w.GSum, 0, be.Reshape(e.Theta.Grad, 1, m)) // ∂θ = −1ᵀ·Σ g
	}
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
