package data

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Whitening is a ZCA whitening transform fitted on a set of samples (Bell & Sejnowski 1997):
//
//	C = (1/N) Σ_i (x_i − μ)(x_i − μ)ᵀ = U diag(λ) Uᵀ
//	W = U diag(1/√(λ + ε)) Uᵀ
//	y = W (x − μ)
//
// The whitened covariance is U diag(λ/(λ+ε)) Uᵀ: the identity in directions whose variance
// λ is well above ε, and shrunk towards 0 in those below, so ε (in the units of the variances)
// keeps noise and the null directions (e.g. the DC direction after RemoveMean) from being
// amplified. Of all whitening matrices, ZCA's is the symmetric one, so whitened patches still
// look like patches (edges enhanced). Computed in float64 with gonum's EigenSym.
type Whitening struct {
	Dim    int
	Eps    float64
	Mean   []float64     // μ [Dim]
	Values []float64     // λ, the covariance's eigenvalues, ascending [Dim]
	U      *mat.Dense    // eigenvectors, a column each [Dim, Dim]
	W      *mat.SymDense // the ZCA matrix [Dim, Dim]
}

// whiteningChunk is the number of rows converted to float64 at a time.
const whiteningChunk = 4096

// FitWhitening fits a ZCA whitening on x [N, dim] with regularizer eps ≥ 0. It returns an error
// if N < 2 or the eigendecomposition fails.
func FitWhitening(x []float32, dim int, eps float64) (*Whitening, error) {
	n := checkRows("FitWhitening", x, dim)
	if eps < 0 || math.IsNaN(eps) {
		panic(fmt.Sprintf("data: FitWhitening: eps %v must be ≥ 0", eps))
	}
	if n < 2 {
		return nil, fmt.Errorf("data: FitWhitening: %d samples; need at least 2 to estimate a covariance", n)
	}
	mean := make([]float64, dim)
	for i := range n {
		for j, v := range x[i*dim : (i+1)*dim] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	// C accumulates (1/N) Xcᵀ Xc chunk by chunk, Xc the centred rows.
	cov := mat.NewSymDense(dim, nil)
	for lo := 0; lo < n; lo += whiteningChunk {
		xc := centredChunk(x, dim, lo, min(lo+whiteningChunk, n), mean)
		cov.SymRankK(cov, 1/float64(n), xc.T())
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, errors.New("data: FitWhitening: the eigendecomposition of the covariance did not converge")
	}
	vals := eig.Values(nil)
	var u mat.Dense
	eig.VectorsTo(&u)
	scaled := mat.DenseCopyOf(&u) // U diag(1/√(λ+ε))
	for k, l := range vals {
		l = max(l, 0) // round-off can leave tiny negative eigenvalues
		vals[k] = l
		if l+eps == 0 {
			for i := range dim {
				scaled.Set(i, k, 0)
			}
			continue
		}
		s := 1 / math.Sqrt(l+eps)
		for i := range dim {
			scaled.Set(i, k, scaled.At(i, k)*s)
		}
	}
	var w mat.Dense
	w.Mul(scaled, u.T())
	ws := mat.NewSymDense(dim, nil)
	for i := range dim {
		for j := i; j < dim; j++ {
			ws.SetSym(i, j, (w.At(i, j)+w.At(j, i))/2)
		}
	}
	return &Whitening{Dim: dim, Eps: eps, Mean: mean, Values: vals, U: &u, W: ws}, nil
}

// centredChunk returns rows lo..hi of x [N, dim] minus mean, as a float64 matrix.
func centredChunk(x []float32, dim, lo, hi int, mean []float64) *mat.Dense {
	d := make([]float64, (hi-lo)*dim)
	for i := lo; i < hi; i++ {
		for j, v := range x[i*dim : (i+1)*dim] {
			d[(i-lo)*dim+j] = float64(v) - mean[j]
		}
	}
	return mat.NewDense(hi-lo, dim, d)
}

// Apply whitens x [N, Dim] in place: x_i ← W (x_i − μ).
func (w *Whitening) Apply(x []float32) {
	n := checkRows("Whitening.Apply", x, w.Dim)
	var y mat.Dense
	for lo := 0; lo < n; lo += whiteningChunk {
		hi := min(lo+whiteningChunk, n)
		xc := centredChunk(x, w.Dim, lo, hi, w.Mean)
		y.Reset()
		y.Mul(xc, w.W) // rows: (x_i − μ)ᵀ W = (W (x_i − μ))ᵀ, W symmetric
		raw := y.RawMatrix()
		for i := lo; i < hi; i++ {
			row := raw.Data[(i-lo)*raw.Stride : (i-lo)*raw.Stride+w.Dim]
			for j, v := range row {
				x[i*w.Dim+j] = float32(v)
			}
		}
	}
}

// Matrix returns W as float32 [Dim, Dim] row-major, e.g. to upload to a backend.
func (w *Whitening) Matrix() []float32 {
	m := make([]float32, w.Dim*w.Dim)
	for i := range w.Dim {
		for j := range w.Dim {
			m[i*w.Dim+j] = float32(w.W.At(i, j))
		}
	}
	return m
}
