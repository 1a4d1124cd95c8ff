package model

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// Algorithm names an iterative shrinkage method.
type Algorithm int

const (
	// FISTA: ISTA steps from an extrapolated point, rate O(1/k²) (Beck & Teboulle 2009, §4).
	FISTA Algorithm = iota
	// ISTA: proximal gradient steps, rate O(1/k) (Beck & Teboulle 2009, §3).
	ISTA
)

func (a Algorithm) String() string {
	switch a {
	case FISTA:
		return "fista"
	case ISTA:
		return "ista"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// ParseAlgorithm reads "ista" or "fista".
func ParseAlgorithm(s string) (Algorithm, error) {
	switch s {
	case "fista", "FISTA":
		return FISTA, nil
	case "ista", "ISTA":
		return ISTA, nil
	}
	return 0, fmt.Errorf("unknown algorithm %q (want ista or fista)", s)
}

// CodingOptions says how a SparseCoder solves min_z ½‖x − D z‖² + λ‖z‖₁ (with z ≥ 0 if
// NonNegative) for each sample x of a batch.
type CodingOptions struct {
	Lambda      float64   // λ ≥ 0, the weight of the L1 penalty
	NonNegative bool      // constrain z ≥ 0 (one-sided shrinkage)
	Algorithm   Algorithm // FISTA (default) or ISTA
	MaxIter     int       // iteration cap; 0 means 100
	// Tol stops the iterations once ‖z_k − z_{k−1}‖ ≤ Tol·‖z_k‖ over the whole batch (Frobenius
	// norms); 0 runs MaxIter iterations. The test downloads 2·B floats, so it runs only every
	// CheckEvery iterations (0 means 10): a GPU then needs no host round trip per iteration.
	Tol        float64
	CheckEvery int
	// Objective records the batch mean of ½‖x − D z_k‖² + λ‖z_k‖₁ after every iteration in
	// Trace.Objective. It costs a residual product and a small download per iteration.
	Objective bool
	// OnIteration, if not nil, is called after every iteration k (from 1) with the iterate z_k
	// [B, m], a workspace that the caller must only read, and only during the call; an error
	// stops Encode. It serves convergence studies (code error against iterations).
	OnIteration func(k int, z kernels.Tensor) error
}

func (o CodingOptions) withDefaults() CodingOptions {
	if o.MaxIter <= 0 {
		o.MaxIter = 100
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = 10
	}
	return o
}

// A Trace reports how an Encode call went.
type Trace struct {
	Iterations int       // iterations done
	RelChange  float64   // ‖z_k − z_{k−1}‖/‖z_k‖ at the last check (NaN if none was made)
	Converged  bool      // RelChange ≤ Tol was reached before MaxIter
	Objective  []float64 // with CodingOptions.Objective: the mean objective after each iteration
}

// A SparseCoder solves the lasso problem min_z ½‖x − D z‖² + λ‖z‖₁ (or with z ≥ 0) for every
// row x of a batch X [B, n] against a dictionary D [n, m], by ISTA or FISTA with step 1/L,
// L = λ_max(DᵀD) (Beck & Teboulle 2009). It is the counterpart of scikit-learn's SparseCoder
// with transform_algorithm="lasso_*" and of SPAMS' fistaFlat.
//
// ISTA's step z ← h_{λ/L}(z + Dᵀ(x − D z)/L) is computed in the Gram form of Gregor & LeCun
// (2010, eq. 2): with S = I − DᵀD/L [m, m] and b = Dᵀx/L computed once per batch,
// z ← h_θ(b + S z), θ = λ/L. In row-major batch form, Z ← h_θ(X D/L + Z S) (S is symmetric).
// One iteration is then one [B,m]×[m,m] product, cheaper than the two [B,n]×[n,m] products of
// the residual form when m < 2n.
//
// The coder keeps a reference to D: after changing D, call SetDictionary. Workspaces are
// allocated on the first batch of each size and reused.
type SparseCoder struct {
	Options CodingOptions

	be    kernels.Backend
	d     kernels.Tensor // [n, m], the caller's
	n, m  int
	L     float64        // λ_max(DᵀD)
	s     kernels.Tensor // I − DᵀD/L [m, m]
	eye   kernels.Tensor // I [m, m]
	theta kernels.Tensor // [m], λ/L everywhere
	power *PowerIteration
	// thetaFor is the (λ, L) that theta holds, so that changing Options.Lambda re-uploads it.
	thetaFor [2]float64
	work     *Cache[*codingWork]
}

// codingWork holds the buffers for batches of one size B.
type codingWork struct {
	c            kernels.Tensor    // [B, m], X D/L
	bufs         [3]kernels.Tensor // [B, m] each: z_{k−1}, y_k and the next iterate, rotating
	scratch      kernels.Tensor    // [B, m]
	r            kernels.Tensor    // [B, n], residual X − Z Dᵀ
	rowsA, rowsB kernels.Tensor    // [B]
	sums         *Scalars
	hostB        []float32 // [B]
	hostB2       []float32 // [B]
}

// NewSparseCoder prepares a coder for the dictionary D [n, m]: it computes L by power iteration
// and S = I − DᵀD/L on the device.
func NewSparseCoder(be kernels.Backend, d kernels.Tensor, opts CodingOptions) (*SparseCoder, error) {
	if len(d.Shape()) != 2 {
		panic(fmt.Sprintf("model: NewSparseCoder: dictionary has shape %v, want [n, m]", d.Shape()))
	}
	if opts.Lambda < 0 || math.IsNaN(opts.Lambda) {
		panic(fmt.Sprintf("model: NewSparseCoder: λ = %v, want λ ≥ 0", opts.Lambda))
	}
	n, m := d.Shape()[0], d.Shape()[1]
	c := &SparseCoder{Options: opts, be: be, n: n, m: m}
	c.work = NewCache(c.newWork, c.freeWork)
	ts, err := NewTensors(be, []int{m, m}, []int{m})
	if err != nil {
		return nil, err
	}
	c.s, c.theta = ts[0], ts[1]
	if c.eye, err = Identity(be, m); err != nil {
		c.Free()
		return nil, err
	}
	if c.power, err = NewPowerIteration(be, m, 1); err != nil {
		c.Free()
		return nil, err
	}
	if err := c.SetDictionary(d); err != nil {
		c.Free()
		return nil, err
	}
	return c, nil
}

// SetDictionary makes the coder use D [n, m] (the same shape as before): it recomputes L and S.
// The power iteration starts from the previous top eigenvector, so a dictionary that changed a
// little costs a few iterations.
func (c *SparseCoder) SetDictionary(d kernels.Tensor) error {
	kernels.CheckShape("model.SparseCoder", "dictionary", d, c.n, c.m)
	c.d = d
	l, _, err := c.power.Run(d, 1000, 1e-6)
	if err != nil {
		return err
	}
	if !(l > 0) {
		return fmt.Errorf("model: the dictionary is zero (λ_max(DᵀD) = %v); sparse coding needs a non-zero dictionary", l)
	}
	c.L = l
	// S = I − DᵀD/L.
	c.be.Gemm(true, false, float32(-1/l), d, d, 0, c.s)
	c.be.Axpby(1, c.eye, 1, c.s)
	c.thetaFor = [2]float64{math.NaN(), math.NaN()}
	return nil
}

// Power is the power iteration that estimates L, warm-started between calls (its vector is
// state a checkpoint keeps).
func (c *SparseCoder) Power() *PowerIteration { return c.power }

// Lipschitz returns L = λ_max(DᵀD) of the current dictionary.
func (c *SparseCoder) Lipschitz() float64 { return c.L }

func (c *SparseCoder) setTheta() {
	key := [2]float64{c.Options.Lambda, c.L}
	if key == c.thetaFor {
		return
	}
	c.be.Fill(c.theta, float32(c.Options.Lambda/c.L))
	c.thetaFor = key
}

func (c *SparseCoder) newWork(b int) (*codingWork, error) {
	w := &codingWork{hostB: make([]float32, b), hostB2: make([]float32, b)}
	ts, err := NewTensors(c.be, []int{b, c.m}, []int{b, c.m}, []int{b, c.m}, []int{b, c.m}, []int{b, c.m}, []int{b, c.n}, []int{b}, []int{b})
	if err != nil {
		return nil, err
	}
	w.c, w.scratch, w.bufs[0], w.bufs[1], w.bufs[2], w.r, w.rowsA, w.rowsB = ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], ts[7]
	if w.sums, err = NewScalars(c.be, 2); err != nil {
		c.freeWork(w)
		return nil, err
	}
	return w, nil
}

func (c *SparseCoder) freeWork(w *codingWork) {
	FreeTensors(c.be, w.c, w.bufs[0], w.bufs[1], w.bufs[2], w.scratch, w.r, w.rowsA, w.rowsB)
	if w.sums != nil {
		w.sums.Free()
	}
}

// Free releases the coder's device memory (not the dictionary, which is the caller's).
func (c *SparseCoder) Free() {
	c.work.Free()
	FreeTensors(c.be, c.s, c.eye, c.theta)
	c.s, c.eye, c.theta = nil, nil, nil
	if c.power != nil {
		c.power.Free()
		c.power = nil
	}
}

func (c *SparseCoder) shrink(dst, x kernels.Tensor) {
	if c.Options.NonNegative {
		c.be.PosShrink(dst, x, c.theta)
	} else {
		c.be.SoftShrink(dst, x, c.theta)
	}
}

// Encode writes into Z [B, m] the codes of the samples X [B, n], from z_0 = 0.
//
// ISTA: z_{k+1} = h_θ(b + S z_k).
// FISTA (Beck & Teboulle 2009, eq. 4.1–4.3): z_k = h_θ(b + S y_k),
// t_{k+1} = (1 + √(1 + 4t_k²))/2, y_{k+1} = z_k + ((t_k − 1)/t_{k+1})(z_k − z_{k−1}), t_1 = 1,
// y_1 = z_0.
func (c *SparseCoder) Encode(z, x kernels.Tensor) (Trace, error) {
	o := c.Options.withDefaults()
	kernels.CheckShape("model.SparseCoder.Encode", "X", x, x.Shape()[0], c.n)
	b := x.Shape()[0]
	kernels.CheckShape("model.SparseCoder.Encode", "Z", z, b, c.m)
	w, err := c.work.Get(b)
	if err != nil {
		return Trace{}, err
	}
	c.setTheta()
	be := c.be

	// b = X D/L, once per batch.
	be.Gemm(false, false, float32(1/c.L), x, c.d, 0, w.c)
	zPrev, y, free := w.bufs[0], w.bufs[1], w.bufs[2]
	be.Fill(zPrev, 0)
	be.Copy(y, zPrev)

	tr := Trace{RelChange: math.NaN()}
	t := 1.0
	for k := 1; k <= o.MaxIter; k++ {
		// free = h_θ(b + y S): the ISTA step from y (y = z_{k−1} for ISTA).
		be.Copy(free, w.c)
		be.Gemm(false, false, 1, y, c.s, 1, free)
		c.shrink(free, free)
		zNew := free
		tr.Iterations = k

		check := o.Tol > 0 && (k%o.CheckEvery == 0 || k == o.MaxIter)
		if check {
			rel, err := c.relChange(w, zNew, zPrev)
			if err != nil {
				return tr, err
			}
			tr.RelChange = rel
		}
		if o.Objective {
			f, err := c.objective(w, x, zNew)
			if err != nil {
				return tr, err
			}
			tr.Objective = append(tr.Objective, f)
		}

		if o.OnIteration != nil {
			if err := o.OnIteration(k, zNew); err != nil {
				return tr, err
			}
		}

		if o.Algorithm == ISTA {
			// The next step starts from z_k: y ← z_k, and the old y is free again.
			y, free = zNew, y
			zPrev = y
		} else {
			tNext := (1 + math.Sqrt(1+4*t*t)) / 2
			beta := (t - 1) / tNext
			t = tNext
			// zPrev becomes y_{k+1} = (1+β) z_k − β z_{k−1}; the old y is free again.
			be.Axpby(float32(1+beta), zNew, float32(-beta), zPrev)
			y, zPrev, free = zPrev, zNew, y
		}
		if check && tr.RelChange <= o.Tol {
			tr.Converged = true
			break
		}
	}
	be.Copy(z, zPrev)
	return tr, be.Sync()
}

// relChange returns ‖zNew − zPrev‖/‖zNew‖ over the batch (0 when both are zero).
func (c *SparseCoder) relChange(w *codingWork, zNew, zPrev kernels.Tensor) (float64, error) {
	be := c.be
	be.Copy(w.scratch, zNew)
	be.Axpby(-1, zPrev, 1, w.scratch)
	be.Norms(w.rowsA, w.scratch, kernels.PerRow)
	be.Norms(w.rowsB, zNew, kernels.PerRow)
	if err := be.Download(w.hostB, w.rowsA); err != nil {
		return 0, err
	}
	if err := be.Download(w.hostB2, w.rowsB); err != nil {
		return 0, err
	}
	var d2, z2 float64
	for i := range w.hostB {
		d2 += float64(w.hostB[i]) * float64(w.hostB[i])
		z2 += float64(w.hostB2[i]) * float64(w.hostB2[i])
	}
	if d2 == 0 {
		return 0, nil
	}
	return math.Sqrt(d2 / z2), nil
}

// objective returns the batch mean of ½‖x − D z‖² + λ‖z‖₁.
func (c *SparseCoder) objective(w *codingWork, x, z kernels.Tensor) (float64, error) {
	c.be.Copy(w.r, x)
	c.be.Gemm(false, true, -1, z, c.d, 1, w.r) // r = X − Z·Dᵀ
	w.sums.Sum(w.r, kernels.ReduceSquares)
	w.sums.Sum(z, kernels.ReduceAbs)
	v, err := w.sums.Read()
	if err != nil {
		return 0, err
	}
	return (0.5*v[0] + c.Options.Lambda*v[1]) / float64(len(w.hostB)), nil
}

// CodeAll codes every sample of s with coder in batches of at most batch and returns the codes
// [N, m], reporting progress after every batch under the stage "targets".
func CodeAll(be kernels.Backend, coder *SparseCoder, s *Samples, batch int, progress ProgressFunc) ([]float32, error) {
	type pair struct{ x, z kernels.Tensor }
	bufs := NewCache(func(b int) (pair, error) {
		ts, err := NewTensors(be, []int{b, coder.n}, []int{b, coder.m})
		if err != nil {
			return pair{}, err
		}
		return pair{ts[0], ts[1]}, nil
	}, func(p pair) { FreeTensors(be, p.x, p.z) })
	defer bufs.Free()
	if s.Dim != coder.n {
		return nil, fmt.Errorf("%s has %d features per sample, the dictionary %d", s.Name, s.Dim, coder.n)
	}
	clock := newProgressClock(progress, "targets")
	n, m := s.N(), coder.m
	codes := make([]float32, n*m)
	steps := (n + batch - 1) / batch
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		p, err := bufs.Get(hi - lo)
		if err != nil {
			return nil, err
		}
		be.Upload(p.x, s.X[lo*s.Dim:hi*s.Dim])
		if _, err := coder.Encode(p.z, p.x); err != nil {
			return nil, err
		}
		if err := be.Download(codes[lo*m:hi*m], p.z); err != nil {
			return nil, err
		}
		clock.report(Progress{Epoch: 1, Epochs: 1, Step: lo/batch + 1, Steps: steps, EndOfEpoch: hi == n})
	}
	return codes, nil
}
