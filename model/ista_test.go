package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/model/internal/modeltest"
	"gonum.org/v1/gonum/mat"
)

// ---- float64 references ----

// lassoCD solves min_z ½‖x − D z‖² + λ‖z‖₁ (z ≥ 0 if nonneg) for every row of x [B, n] by cyclic
// coordinate descent in float64 (Friedman et al. 2007), an algorithm independent of ISTA, until
// no coordinate moves by more than 1e-12. D is [n, m] row-major. Returns z [B, m].
func lassoCD(x, d []float32, b, n, m int, lambda float64, nonneg bool) []float64 {
	dm := mat.NewDense(n, m, modeltest.F64(d))
	var gd mat.Dense
	gd.Mul(dm.T(), dm)
	g := gd.RawMatrix().Data // [m, m], symmetric
	z := make([]float64, b*m)
	c := make([]float64, m)
	q := make([]float64, m) // q = G z, kept up to date ("covariance updates")
	for s := 0; s < b; s++ {
		xs := mat.NewVecDense(n, modeltest.F64(x[s*n:(s+1)*n]))
		mat.NewVecDense(m, c).MulVec(dm.T(), xs) // c = Dᵀx
		clear(q)
		zs := z[s*m : (s+1)*m]
		for sweep := 0; sweep < 1000000; sweep++ {
			moved := 0.0
			for j := 0; j < m; j++ {
				gjj := g[j*m+j]
				if gjj == 0 {
					continue
				}
				rho := c[j] - q[j] + gjj*zs[j] // c_j − Σ_{k≠j} G_jk z_k
				var v float64
				switch {
				case rho > lambda:
					v = (rho - lambda) / gjj
				case rho < -lambda && !nonneg:
					v = (rho + lambda) / gjj
				}
				if delta := v - zs[j]; delta != 0 {
					for k := 0; k < m; k++ {
						q[k] += delta * g[k*m+j]
					}
					moved = math.Max(moved, math.Abs(delta))
					zs[j] = v
				}
			}
			if moved < 1e-12 {
				break
			}
		}
	}
	return z
}

// objective64 returns the mean over rows of ½‖x − D z‖² + λ‖z‖₁ in float64.
func objective64(x, d []float32, z []float64, b, n, m int, lambda float64) float64 {
	var total float64
	for s := 0; s < b; s++ {
		for i := 0; i < n; i++ {
			r := float64(x[s*n+i])
			for j := 0; j < m; j++ {
				r -= float64(d[i*m+j]) * z[s*m+j]
			}
			total += 0.5 * r * r
		}
		for j := 0; j < m; j++ {
			total += lambda * math.Abs(z[s*m+j])
		}
	}
	return total / float64(b)
}

// istaRef runs k iterations of ISTA or FISTA in float64 from zero, with the given L, exactly as
// Beck & Teboulle write them (residual form, not the Gram form), and returns z [B, m].
func istaRef(x, d []float32, b, n, m int, lambda, l float64, nonneg, fista bool, k int) []float64 {
	shrink := func(v, th float64) float64 {
		if nonneg {
			return math.Max(v-th, 0)
		}
		return math.Copysign(math.Max(math.Abs(v)-th, 0), v)
	}
	out := make([]float64, b*m)
	for s := 0; s < b; s++ {
		xs := x[s*n : (s+1)*n]
		z := make([]float64, m)
		zPrev := make([]float64, m)
		y := make([]float64, m)
		t := 1.0
		r := make([]float64, n)
		for it := 0; it < k; it++ {
			for i := 0; i < n; i++ {
				r[i] = float64(xs[i])
				for j := 0; j < m; j++ {
					r[i] -= float64(d[i*m+j]) * y[j]
				}
			}
			for j := 0; j < m; j++ {
				gj := 0.0
				for i := 0; i < n; i++ {
					gj += float64(d[i*m+j]) * r[i]
				}
				z[j] = shrink(y[j]+gj/l, lambda/l)
			}
			if fista {
				tn := (1 + math.Sqrt(1+4*t*t)) / 2
				for j := range y {
					y[j] = z[j] + (t-1)/tn*(z[j]-zPrev[j])
				}
				t = tn
			} else {
				copy(y, z)
			}
			copy(zPrev, z)
		}
		copy(out[s*m:], z)
	}
	return out
}

// ---- tests ----

// TestPowerIteration compares λ_max(DᵀD) with a float64 symmetric eigen-decomposition.
func TestPowerIteration(t *testing.T) {
	be := modeltest.Backend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{1, 1}, {7, 3}, {33, 50}, {100, 40}} {
		n, m := sz[0], sz[1]
		d := modeltest.Randn(rng, n*m, 1)
		dt := modeltest.Upload(t, be, d, n, m)
		got, err := LipschitzConstant(be, dt)
		if err != nil {
			t.Fatal(err)
		}
		dm := mat.NewDense(n, m, modeltest.F64(d))
		var g mat.SymDense
		g.SymOuterK(1, dm.T())
		var eig mat.EigenSym
		if !eig.Factorize(&g, false) {
			t.Fatal("eigen failed")
		}
		vals := eig.Values(nil)
		want := vals[len(vals)-1]
		if math.Abs(got-want) > 1e-4*want {
			t.Errorf("%dx%d: L = %v, want %v", n, m, got, want)
		}
		be.Free(dt)
	}
}

// TestISTAOrthonormal: with orthonormal atoms the lasso separates and its solution is the
// shrunk correlation z* = h_λ(Dᵀx); L = 1, and one ISTA step from zero reaches it.
func TestISTAOrthonormal(t *testing.T) {
	be := modeltest.Backend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	n, m, b := 12, 5, 4
	var qr mat.QR
	qr.Factorize(mat.NewDense(n, m, modeltest.F64(modeltest.Randn(rng, n*m, 1))))
	var q mat.Dense
	qr.QTo(&q)
	d := make([]float32, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			d[i*m+j] = float32(q.At(i, j))
		}
	}
	x := modeltest.Randn(rng, b*n, 1)
	for _, nonneg := range []bool{false, true} {
		for _, alg := range []Algorithm{ISTA, FISTA} {
			dt := modeltest.Upload(t, be, d, n, m)
			xt := modeltest.Upload(t, be, x, b, n)
			zt, _ := be.New(b, m)
			c, err := NewSparseCoder(be, dt, CodingOptions{Lambda: 0.3, NonNegative: nonneg, Algorithm: alg, MaxIter: 3})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(c.Lipschitz()-1) > 1e-5 {
				t.Errorf("L = %v, want 1", c.Lipschitz())
			}
			if _, err := c.Encode(zt, xt); err != nil {
				t.Fatal(err)
			}
			z := modeltest.Download(t, be, zt)
			for s := 0; s < b; s++ {
				for j := 0; j < m; j++ {
					var corr float64
					for i := 0; i < n; i++ {
						corr += float64(d[i*m+j]) * float64(x[s*n+i])
					}
					want := math.Copysign(math.Max(math.Abs(corr)-0.3, 0), corr)
					if nonneg {
						want = math.Max(corr-0.3, 0)
					}
					if math.Abs(float64(z[s*m+j])-want) > 1e-5 {
						t.Errorf("%v nonneg=%v: z[%d,%d] = %v, want %v", alg, nonneg, s, j, z[s*m+j], want)
					}
				}
			}
			c.Free()
		}
	}
}

// TestISTAIterates: the backend's Gram-form iterations follow the textbook residual form of
// Beck & Teboulle, iteration by iteration, for both algorithms and both shrinkages.
func TestISTAIterates(t *testing.T) {
	be := modeltest.Backend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	n, m, b := 20, 30, 3
	d := modeltest.Randn(rng, n*m, 1/math.Sqrt(float64(n)))
	x := modeltest.Randn(rng, b*n, 1)
	dt := modeltest.Upload(t, be, d, n, m)
	xt := modeltest.Upload(t, be, x, b, n)
	zt, _ := be.New(b, m)
	for _, nonneg := range []bool{false, true} {
		for _, alg := range []Algorithm{ISTA, FISTA} {
			c, err := NewSparseCoder(be, dt, CodingOptions{Lambda: 0.05, NonNegative: nonneg, Algorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []int{1, 2, 7, 40} {
				c.Options.MaxIter = k
				tr, err := c.Encode(zt, xt)
				if err != nil {
					t.Fatal(err)
				}
				if tr.Iterations != k || tr.Converged {
					t.Errorf("trace %+v, want %d iterations", tr, k)
				}
				want := istaRef(x, d, b, n, m, 0.05, c.Lipschitz(), nonneg, alg == FISTA, k)
				got := modeltest.Download(t, be, zt)
				var worst float64
				for i := range got {
					worst = math.Max(worst, math.Abs(float64(got[i])-want[i]))
				}
				// float32 against float64; the iteration is a contraction, so errors stay at
				// the level of a few float32 roundings of O(1) values.
				if worst > 1e-4 {
					t.Errorf("%v nonneg=%v k=%d: max |z − z_ref| = %g", alg, nonneg, k, worst)
				}
			}
			c.Free()
		}
	}
}

// TestISTAFISTAOnMNIST: on real data (MNIST test digits against a dictionary of training
// digits), FISTA's objective after k iterations is below ISTA's; both reach the float64
// coordinate-descent optimum to 1e-4 relative objective; the non-negative variant never
// produces a negative code; ISTA's objective never rises; Tol stops the iterations.
func TestISTAFISTAOnMNIST(t *testing.T) {
	train, test := modeltest.MNIST(t)
	be := modeltest.Backend(t)
	n, m, b := train.Dim(), 100, 64
	lambda := 0.1
	d := modeltest.DigitDictionary(train, m, 1)
	x := modeltest.Rows(test, 0, b)
	dt := modeltest.Upload(t, be, d, n, m)
	xt := modeltest.Upload(t, be, x, b, n)
	zt, _ := be.New(b, m)

	for _, nonneg := range []bool{false, true} {
		zStar := lassoCD(x, d, b, n, m, lambda, nonneg)
		fStar := objective64(x, d, zStar, b, n, m, lambda)
		objective := map[Algorithm][]float64{}
		for _, alg := range []Algorithm{ISTA, FISTA} {
			// 200 iterations with the objective recorded, for the comparisons below.
			c, err := NewSparseCoder(be, dt, CodingOptions{Lambda: lambda, NonNegative: nonneg, Algorithm: alg, MaxIter: 200, Objective: true})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := c.Encode(zt, xt)
			if err != nil {
				t.Fatal(err)
			}
			objective[alg] = tr.Objective
			z := modeltest.Download(t, be, zt)
			// The reported objective is the same quantity, computed on the device.
			if last, host := tr.Objective[len(tr.Objective)-1], objective64(x, d, modeltest.F64(z), b, n, m, lambda); math.Abs(last-host) > 1e-5*host {
				t.Errorf("%v: reported objective %v, host %v", alg, last, host)
			}

			// Long enough to converge (ISTA's O(1/k) needs the most).
			c.Options.Objective = false
			c.Options.MaxIter = 3000
			if _, err := c.Encode(zt, xt); err != nil {
				t.Fatal(err)
			}
			z = modeltest.Download(t, be, zt)
			final := objective64(x, d, modeltest.F64(z), b, n, m, lambda)
			if rel := (final - fStar) / fStar; math.Abs(rel) > 1e-4 {
				t.Errorf("%v nonneg=%v: objective %v after %d iterations, optimum %v (relative %.2g)", alg, nonneg, final, tr.Iterations, fStar, rel)
			}
			if nonneg {
				for i, v := range z {
					if v < 0 {
						t.Fatalf("%v: negative code z[%d] = %v", alg, i, v)
					}
				}
			}
			// With a tolerance, it stops early and says so.
			c.Options.Tol = 1e-4
			tr, err = c.Encode(zt, xt)
			if err != nil {
				t.Fatal(err)
			}
			if !tr.Converged || tr.Iterations >= 3000 || tr.RelChange > 1e-4 {
				t.Errorf("%v with Tol 1e-4: %+v", alg, tr)
			}
			c.Free()
		}
		ista, fista := objective[ISTA], objective[FISTA]
		for _, k := range []int{10, 20, 50, 100, 200} {
			if !(fista[k-1] < ista[k-1]) {
				t.Errorf("nonneg=%v: after %d iterations FISTA %v ≥ ISTA %v", nonneg, k, fista[k-1], ista[k-1])
			}
		}
		// ISTA is a descent method with step 1/L (Beck & Teboulle 2009, Lemma 2.3); allow
		// float32 rounding of the objective itself.
		for k := 1; k < len(ista); k++ {
			if ista[k] > ista[k-1]*(1+1e-6) {
				t.Fatalf("nonneg=%v: ISTA objective rose at iteration %d: %v → %v", nonneg, k+1, ista[k-1], ista[k])
			}
		}
		t.Logf("nonneg=%v: optimum %.6f; after 10/50/200 iterations ISTA %.6f %.6f %.6f, FISTA %.6f %.6f %.6f",
			nonneg, fStar, ista[9], ista[49], ista[199], fista[9], fista[49], fista[199])
	}
}
