package data

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// covariance returns the covariance of x [N, dim] (centred on its own mean), in float64.
func covariance(x []float32, dim int) *mat.SymDense {
	n := len(x) / dim
	mean := make([]float64, dim)
	for i := range n {
		for j := range dim {
			mean[j] += float64(x[i*dim+j]) / float64(n)
		}
	}
	c := mat.NewSymDense(dim, nil)
	c.SymRankK(c, 1/float64(n), centredChunk(x, dim, 0, n, mean).T())
	return c
}

// maxAbsDiff is max_ij |a_ij − b_ij|.
func maxAbsDiff(a, b mat.Matrix) float64 {
	r, c := a.Dims()
	var m float64
	for i := range r {
		for j := range c {
			m = max(m, math.Abs(a.At(i, j)-b.At(i, j)))
		}
	}
	return m
}

// TestWhiteningGaussian: on correlated Gaussian data whose variances are all far above ε, the
// whitened covariance of a held-out sample is the identity up to sampling error.
func TestWhiteningGaussian(t *testing.T) {
	const dim, n = 10, 20000
	r := rand.New(rand.NewPCG(1, 2))
	// x = A z + offset, z standard normal, A = 2I + G/4: ‖G/4‖ ≈ 2√dim/4 < 2 keeps the
	// smallest variance well above 0.
	mix := make([]float64, dim*dim)
	for i := range mix {
		mix[i] = r.NormFloat64() / 4
		if i%(dim+1) == 0 {
			mix[i] += 2
		}
	}
	sample := func() []float32 {
		x := make([]float32, n*dim)
		z := make([]float64, dim)
		for i := range n {
			for k := range z {
				z[k] = r.NormFloat64()
			}
			for j := range dim {
				s := 3.0 + float64(j)
				for k := range dim {
					s += mix[j*dim+k] * z[k]
				}
				x[i*dim+j] = float32(s)
			}
		}
		return x
	}
	fit, held := sample(), sample()
	w, err := FitWhitening(fit, dim, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if l := w.Values[0]; l < 0.01 {
		t.Fatalf("smallest variance %v: the test needs all variances ≫ ε", l)
	}
	if d := maxAbsDiff(w.W, w.W.T()); d != 0 {
		t.Errorf("ZCA matrix not symmetric: %v", d)
	}
	w.Apply(held)
	var mean float64
	for _, v := range held {
		mean += float64(v)
	}
	if mean /= float64(len(held)); math.Abs(mean) > 0.05 {
		t.Errorf("whitened mean %v", mean)
	}
	d := maxAbsDiff(covariance(held, dim), eye(dim))
	t.Logf("held-out whitened covariance − I: max |·| = %.3g", d)
	if d > 0.06 {
		t.Errorf("whitened covariance of held-out data differs from I by %v", d)
	}
	// Whitening the fitting data itself gives I to round-off, up to the ε shrinkage.
	w.Apply(fit)
	if d := maxAbsDiff(covariance(fit, dim), eye(dim)); d > 1e-4 {
		t.Errorf("whitened covariance of the fitting data differs from I by %v", d)
	}
}

func eye(n int) *mat.DiagDense {
	d := make([]float64, n)
	for i := range d {
		d[i] = 1
	}
	return mat.NewDiagDense(n, d)
}

// TestWhiteningPatches: on mean-removed natural-image patches, the whitened covariance of a
// held-out sample is U diag(λ/(λ+ε)) Uᵀ, the identity where the variance exceeds ε; the DC
// direction, removed by RemoveMean, stays at 0.
func TestWhiteningPatches(t *testing.T) {
	imgs := naturalImagesT(t)
	const size, dim, n, eps = 6, 36, 30000, 1e-4
	fit, held := Patches(imgs, size, n, 11), Patches(imgs, size, n, 12)
	RemoveMean(fit, dim)
	RemoveMean(held, dim)
	w, err := FitWhitening(fit, dim, eps)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("patch covariance eigenvalues: min %.3g, max %.3g, ε %g", w.Values[0], w.Values[dim-1], eps)
	if w.Values[0] > 1e-9 || w.Values[1] < 1e-6 {
		t.Fatalf("eigenvalues %v: want one null direction (DC) and the rest positive", w.Values[:3])
	}
	shrink := make([]float64, dim)
	var trace float64
	for k, l := range w.Values {
		shrink[k] = l / (l + eps)
		trace += shrink[k]
	}
	var want mat.Dense // U diag(λ/(λ+ε)) Uᵀ
	want.Mul(w.U, mat.NewDiagDense(dim, shrink))
	want.Mul(&want, w.U.T())

	w.Apply(held)
	got := covariance(held, dim)
	// Natural patches are heavy-tailed, so covariance estimates vary more than Gaussian ones.
	d := maxAbsDiff(got, &want)
	t.Logf("held-out whitened covariance − U diag(λ/(λ+ε)) Uᵀ: max |·| = %.3g", d)
	if d > 0.1 {
		t.Errorf("whitened covariance of held-out patches differs from U diag(λ/(λ+ε)) Uᵀ by %v", d)
	}
	var diag float64
	for i := range dim {
		diag += got.At(i, i)
	}
	// Trace Σ λ/(λ+ε) < dim − 1: the DC direction at 0, the others at most 1.
	if math.Abs(diag-trace) > 1.5 || trace > dim-1 || trace < dim-4 {
		t.Errorf("trace of whitened covariance %v, want ≈ Σ λ/(λ+ε) = %v (< %d)", diag, trace, dim-1)
	}

	_, err = FitWhitening(fit[:dim], dim, eps)
	checkErr(t, err, "FitWhitening", "at least 2")
	m := w.Matrix()
	if len(m) != dim*dim || float64(m[3*dim+5]) != float64(float32(w.W.At(3, 5))) {
		t.Errorf("Matrix() disagrees with W")
	}
}
