package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
)

// PowerIteration estimates λ_max(AᵀA), the square of A's largest singular value, for a matrix
// A [rows, cols] on a backend. ISTA and FISTA need it as the Lipschitz constant L of the gradient
// of ½‖x − D z‖² (A = D, Beck & Teboulle 2009, §2); dictionary learning needs it for the step
// on D (A = Z).
//
// Each iteration is v ← AᵀA v/‖AᵀA v‖, two matrix-vector products and a normalization on the
// device. The estimate ‖AᵀA v‖ for a unit v lies between the Rayleigh quotient vᵀAᵀAv and
// λ_max, and rises to λ_max; convergence is checked on the host every checkEvery iterations
// (one float downloaded each time). The vector v is kept between calls, so a matrix that changes
// slowly (a dictionary during training) needs only a few iterations per call.
type PowerIteration struct {
	be         kernels.Backend
	cols       int
	rows       int
	v, w, norm kernels.Tensor // v, w [cols,1]; norm [1]
	u          kernels.Tensor // [rows,1]
	Estimate   float64        // the last estimate of λ_max(AᵀA)
}

// powerCheckEvery is how many iterations run between two downloads of the estimate.
const powerCheckEvery = 5

// NewPowerIteration prepares a power iteration for matrices with cols columns, starting from a
// random unit vector drawn with seed.
func NewPowerIteration(be kernels.Backend, cols int, seed uint64) (*PowerIteration, error) {
	if cols <= 0 {
		panic(fmt.Sprintf("model: NewPowerIteration: %d columns", cols))
	}
	p := &PowerIteration{be: be, cols: cols}
	var err error
	if p.v, err = be.New(cols, 1); err != nil {
		return nil, err
	}
	if p.w, err = be.New(cols, 1); err != nil {
		p.Free()
		return nil, err
	}
	if p.norm, err = be.New(1); err != nil {
		p.Free()
		return nil, err
	}
	// A random start is almost surely not orthogonal to the top eigenvector; a constant one
	// could be (e.g. for a zero-mean dictionary).
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	v := make([]float32, cols)
	var s float64
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		s += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(s))
	}
	be.Upload(p.v, v)
	return p, nil
}

// Run iterates on a [rows, cols] until the estimate changes by less than tol relative between two
// checks, or maxIter iterations, and returns the estimate of λ_max(AᵀA) and the iterations done.
func (p *PowerIteration) Run(a kernels.Tensor, maxIter int, tol float64) (float64, int, error) {
	rows, cols := kernels.Dims2(a)
	if cols != p.cols || len(a.Shape()) != 2 {
		panic(fmt.Sprintf("model: PowerIteration.Run: matrix is %v, want [rows, %d]", a.Shape(), p.cols))
	}
	if p.u == nil || rows != p.rows {
		if p.u != nil {
			p.be.Free(p.u)
		}
		var err error
		if p.u, err = p.be.New(rows, 1); err != nil {
			p.u = nil
			return 0, 0, err
		}
		p.rows = rows
	}
	row := p.be.Reshape(p.w, 1, p.cols)
	vrow := p.be.Reshape(p.v, 1, p.cols)
	host := make([]float32, 1)
	prev := math.Inf(1)
	it := 0
	for it < maxIter {
		p.be.Gemm(false, false, 1, a, p.v, 0, p.u) // u = A v
		p.be.Gemm(true, false, 1, a, p.u, 0, p.w)  // w = Aᵀ u
		// norm = ‖w‖, v = w/‖w‖; the tiny ε keeps a zero matrix from dividing by zero.
		p.be.NormalizeRows(vrow, p.norm, row, 1e-30)
		it++
		if it%powerCheckEvery == 0 || it == maxIter {
			if err := p.be.Download(host, p.norm); err != nil {
				return 0, it, err
			}
			est := float64(host[0])
			p.Estimate = est
			if math.Abs(est-prev) <= tol*est {
				break
			}
			prev = est
		}
	}
	return p.Estimate, it, nil
}

// Vector is the iterate v [cols,1] kept between calls for a warm start; a checkpoint of a model
// that keeps a PowerIteration saves it, so that a resumed run estimates the same.
func (p *PowerIteration) Vector() kernels.Tensor { return p.v }

// Free releases the device memory.
func (p *PowerIteration) Free() {
	for _, t := range []kernels.Tensor{p.v, p.w, p.norm, p.u} {
		if t != nil {
			p.be.Free(t)
		}
	}
	p.v, p.w, p.norm, p.u = nil, nil, nil, nil
}

// LipschitzConstant returns L = λ_max(DᵀD) for a dictionary D [n, m], the constant whose
// inverse is ISTA's step (Beck & Teboulle 2009, eq. 1.4), by power iteration to a relative
// tolerance of 1e-6 or 1000 iterations. Power iteration approaches λ_max from below; the
// tolerance keeps the step within 1e-6 of 1/L, far inside ISTA's convergence bound of 2/L.
func LipschitzConstant(be kernels.Backend, d kernels.Tensor) (float64, error) {
	_, m := kernels.Dims2(d)
	p, err := NewPowerIteration(be, m, 1)
	if err != nil {
		return 0, err
	}
	defer p.Free()
	l, _, err := p.Run(d, 1000, 1e-6)
	return l, err
}
