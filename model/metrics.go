package model

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// CodeStats summarizes codes Z of samples X against a dictionary D, the numbers scikit-learn's
// and SPAMS' users look at when tuning λ and the number of atoms.
type CodeStats struct {
	Samples      int
	Objective    float64 // mean over samples of ½‖x − D z‖² + λ‖z‖₁
	SquaredError float64 // mean ‖x − D z‖², the reconstruction error
	// FVU, the fraction of variance unexplained, Σ‖x − D z‖²/Σ‖x − x̄‖² with x̄ the mean sample:
	// 0 is a perfect reconstruction, 1 is no better than predicting the mean.
	FVU  float64
	L0   float64   // mean number of non-zero units per code
	L1   float64   // mean ‖z‖₁
	Dead float64   // fraction of atoms that are zero in every code seen
	Used []float64 // per atom, the number of codes in which it is non-zero
}

// Metrics lists the statistics as named metrics, for Progress reports.
func (s CodeStats) Metrics() []Metric {
	return []Metric{
		{"objective", s.Objective},
		{"recon", s.SquaredError},
		{"fvu", s.FVU},
		{"L0", s.L0},
		{"dead", s.Dead},
	}
}

// A codeMeter accumulates CodeStats over batches on a backend. Every reduction runs on the
// device; per batch it downloads B + 2m + n floats, never the codes themselves.
type codeMeter struct {
	be     kernels.Backend
	n, m   int
	lambda float64
	zero   kernels.Tensor // [m] zeros
	work   map[int]*meterWork

	samples             int
	sumSq, sumL1, sumX2 float64
	sumX                []float64 // [n]
	used                []float64 // [m]
	lastErr             []float32 // [B] ‖x − D z‖² of each sample of the last batch
}

type meterWork struct {
	r       kernels.Tensor // [B, n] residual X − Z Dᵀ
	rows    kernels.Tensor // [B]
	scratch kernels.Tensor // [B, m]
	ones    kernels.Tensor // [B, m] ones
	onesB   kernels.Tensor // [1, B] ones
	cols    kernels.Tensor // [m]
	colsRow kernels.Tensor // [1, m]
	xsum    kernels.Tensor // [1, n]
	hostB   []float32
	hostM   []float32
	hostN   []float32
}

func newCodeMeter(be kernels.Backend, n, m int, lambda float64) (*codeMeter, error) {
	z, err := be.New(m)
	if err != nil {
		return nil, err
	}
	mt := &codeMeter{be: be, n: n, m: m, lambda: lambda, zero: z, work: map[int]*meterWork{}}
	mt.Reset()
	return mt, nil
}

// Reset forgets the accumulated statistics.
func (mt *codeMeter) Reset() {
	mt.samples = 0
	mt.sumSq, mt.sumL1, mt.sumX2 = 0, 0, 0
	mt.sumX = make([]float64, mt.n)
	mt.used = make([]float64, mt.m)
}

func (mt *codeMeter) workspace(b int) (*meterWork, error) {
	if w, ok := mt.work[b]; ok {
		return w, nil
	}
	if len(mt.work) >= 2 {
		for k, w := range mt.work {
			mt.freeWork(w)
			delete(mt.work, k)
		}
	}
	w := &meterWork{hostB: make([]float32, b), hostM: make([]float32, mt.m), hostN: make([]float32, mt.n)}
	var err error
	alloc := func(shape ...int) kernels.Tensor {
		if err != nil {
			return nil
		}
		var t kernels.Tensor
		t, err = mt.be.New(shape...)
		return t
	}
	w.r, w.rows = alloc(b, mt.n), alloc(b)
	w.scratch, w.ones, w.onesB = alloc(b, mt.m), alloc(b, mt.m), alloc(1, b)
	w.cols, w.xsum = alloc(mt.m), alloc(1, mt.n)
	if err != nil {
		mt.freeWork(w)
		return nil, err
	}
	w.colsRow = mt.be.Reshape(w.cols, 1, mt.m)
	mt.be.Fill(w.ones, 1)
	mt.be.Fill(w.onesB, 1)
	mt.work[b] = w
	return w, nil
}

func (mt *codeMeter) freeWork(w *meterWork) {
	for _, t := range []kernels.Tensor{w.r, w.rows, w.scratch, w.ones, w.onesB, w.cols, w.xsum} {
		if t != nil {
			mt.be.Free(t)
		}
	}
}

// Free releases the device memory.
func (mt *codeMeter) Free() {
	for k, w := range mt.work {
		mt.freeWork(w)
		delete(mt.work, k)
	}
	if mt.zero != nil {
		mt.be.Free(mt.zero)
		mt.zero = nil
	}
}

// Add accumulates the statistics of codes Z [B, m] of X [B, n] against D [n, m]. It leaves the
// residual X − Z Dᵀ in the tensor returned by residual(B), for a dictionary update to reuse.
func (mt *codeMeter) Add(d, x, z kernels.Tensor) error {
	b := x.Shape()[0]
	w, err := mt.workspace(b)
	if err != nil {
		return err
	}
	be := mt.be
	sq, l1, err := residualAndL1(be, d, x, z, w.r, w.rows, w.scratch, w.cols, mt.zero, w.hostB, w.hostM)
	if err != nil {
		return err
	}
	mt.lastErr = append(mt.lastErr[:0], w.hostB...)
	for i := range mt.lastErr {
		mt.lastErr[i] *= mt.lastErr[i]
	}
	mt.sumSq += sq
	mt.sumL1 += l1

	// Non-zeros per atom: SoftShrinkBackward with dy = 1 and θ = 0 writes the mask [z ≠ 0],
	// whose column sums (a ones-row product) count the codes that use each atom.
	be.SoftShrinkBackward(w.scratch, nil, w.ones, z, mt.zero)
	be.Gemm(false, false, 1, w.onesB, w.scratch, 0, w.colsRow)
	if err := be.Download(w.hostM, w.cols); err != nil {
		return err
	}
	for i, v := range w.hostM {
		mt.used[i] += float64(v)
	}

	// Σ‖x‖² and Σx for the variance of the data: Σ‖x − x̄‖² = Σ‖x‖² − N‖x̄‖².
	be.Norms(w.rows, x, kernels.PerRow)
	if err := be.Download(w.hostB, w.rows); err != nil {
		return err
	}
	for _, v := range w.hostB {
		mt.sumX2 += float64(v) * float64(v)
	}
	be.Gemm(false, false, 1, w.onesB, x, 0, w.xsum)
	if err := be.Download(w.hostN, w.xsum); err != nil {
		return err
	}
	for i, v := range w.hostN {
		mt.sumX[i] += float64(v)
	}
	mt.samples += b
	return nil
}

// residual returns the residual X − Z Dᵀ [B, n] left by the last Add of a batch of B samples.
func (mt *codeMeter) residual(b int) kernels.Tensor { return mt.work[b].r }

// Stats returns the statistics accumulated since the last Reset.
func (mt *codeMeter) Stats() CodeStats {
	s := CodeStats{Samples: mt.samples, Used: append([]float64(nil), mt.used...)}
	if mt.samples == 0 {
		return s
	}
	nf := float64(mt.samples)
	s.SquaredError = mt.sumSq / nf
	s.L1 = mt.sumL1 / nf
	s.Objective = 0.5*s.SquaredError + mt.lambda*s.L1
	var mean2 float64
	for _, v := range mt.sumX {
		mean2 += (v / nf) * (v / nf)
	}
	if variance := mt.sumX2 - nf*mean2; variance > 0 {
		s.FVU = mt.sumSq / variance
	} else {
		s.FVU = math.NaN()
	}
	var nnz float64
	dead := 0
	for _, u := range mt.used {
		nnz += u
		if u == 0 {
			dead++
		}
	}
	s.L0 = nnz / nf
	s.Dead = float64(dead) / float64(mt.m)
	return s
}

// residualAndL1 computes, for X [B, n], Z [B, m] and D [n, m], the residual r = X − Z Dᵀ into
// r [B, n] and returns Σ_b ‖r_b‖² and Σ_b ‖z_b‖₁. It leaves the row norms ‖r_b‖ in hostB.
// rows [B], scratch [B, m], cols [m], zero [m] (zeros) and hostM [m] are workspaces.
//
// The contract has no absolute value or sum; ‖z‖₁ comes from SoftShrinkBackward with dy = z,
// x = z and θ = 0, whose dtheta is −Σ_r z·sign(z)·[|z| > 0] = −Σ_r |z| per column.
func residualAndL1(be kernels.Backend, d, x, z, r, rows, scratch, cols, zero kernels.Tensor, hostB, hostM []float32) (sq, l1 float64, err error) {
	be.Copy(r, x)
	be.Gemm(false, true, -1, z, d, 1, r)
	be.Norms(rows, r, kernels.PerRow)
	be.SoftShrinkBackward(scratch, cols, z, z, zero)
	if err := be.Download(hostB, rows); err != nil {
		return 0, 0, err
	}
	if err := be.Download(hostM, cols); err != nil {
		return 0, 0, err
	}
	for _, v := range hostB {
		sq += float64(v) * float64(v)
	}
	for _, v := range hostM {
		l1 -= float64(v)
	}
	return sq, l1, nil
}
