package drsae

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
)

// refDrSAE is a float64 host reference of the DrSAE forward pass and loss, written from the
// paper's equations independently of the backend code.
type refDrSAE struct {
	cfg           Config
	E, S, b, D, C []float64 // E [m,n], S [m,m], b [m], D [n,m], C [k,m]
}

// loss returns the minibatch mean of the loss for x [B,n] and labels [B], and the number of
// pre-activations within margin of their threshold (kinks, where finite differences fail).
func (r *refDrSAE) loss(x []float64, labels []int, classify bool, margin float64) (float64, int) {
	c := r.cfg
	n, m, k := c.Inputs, c.Units, c.Classes
	B := len(labels)
	total, kinks := 0.0, 0
	for s := 0; s < B; s++ {
		xs := x[s*n : (s+1)*n]
		u := make([]float64, m)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				u[i] += r.E[i*n+j] * xs[j]
			}
		}
		z := make([]float64, m)
		for t := 0; t < c.T; t++ {
			next := make([]float64, m)
			for i := 0; i < m; i++ {
				a := u[i]
				for j := 0; j < m; j++ {
					a += r.S[i*m+j] * z[j]
				}
				if math.Abs(a-r.b[i]) < margin {
					kinks++
				}
				next[i] = math.Max(0, a-r.b[i])
			}
			z = next
		}
		rec, l1, zz := 0.0, 0.0, c.NormEps
		for j := 0; j < n; j++ {
			xh := 0.0
			for i := 0; i < m; i++ {
				xh += r.D[j*m+i] * z[i]
			}
			rec += (xh - xs[j]) * (xh - xs[j])
		}
		for i := 0; i < m; i++ {
			l1 += math.Abs(z[i])
			zz += z[i] * z[i]
		}
		l := c.ReconWeight*0.5*rec + c.Lambda*l1
		if classify {
			logits := make([]float64, k)
			mx := math.Inf(-1)
			for cl := 0; cl < k; cl++ {
				for i := 0; i < m; i++ {
					logits[cl] += r.C[cl*m+i] * z[i] / math.Sqrt(zz)
				}
				mx = math.Max(mx, logits[cl])
			}
			se := 0.0
			for cl := 0; cl < k; cl++ {
				se += math.Exp(logits[cl] - mx)
			}
			l += c.ClassWeight * (math.Log(se) + mx - logits[labels[s]])
		}
		total += l
	}
	return total / float64(B), kinks
}

func (r *refDrSAE) params() [][]float64 { return [][]float64{r.E, r.S, r.b, r.D, r.C} }

func randSlice(rng *rand.Rand, n int, scale, shift float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = shift + scale*rng.NormFloat64()
	}
	return v
}

// TestDrSAEGradient checks every parameter's gradient, from Backward on the backend in
// float32, against central differences of the float64 host reference loss. The reference is
// in float64 so that the differences are exact to ~1e-10: with h = 1e-5 the truncation error
// is O(h²·|L”'|) ≈ 1e-10 and the rounding error ε₆₄·|L|/h ≈ 1e-11, so all the mismatch
// left is the float32 arithmetic of the backend (~1e-6 relative on sums of a few terms).
// Parameters are drawn so that no pre-activation lies within 1e-3 of its threshold: the loss
// is then smooth over the ±h perturbations and finite differences are valid.
func TestDrSAEGradient(t *testing.T) {
	be := modeltest.Backend(t)
	for _, classify := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Inputs, cfg.Rows, cfg.Cols, cfg.Units, cfg.Classes, cfg.T = 6, 0, 0, 5, 3, 3
		cfg.Lambda, cfg.ReconWeight, cfg.ClassWeight = 0.3, 2, 1.5
		rng := rand.New(rand.NewPCG(7, 11))
		B := 4
		ref := &refDrSAE{cfg: cfg,
			E: randSlice(rng, 5*6, 0.6, 0), S: randSlice(rng, 5*5, 0.4, 0), b: randSlice(rng, 5, 0.1, 0.05),
			D: randSlice(rng, 6*5, 0.5, 0), C: randSlice(rng, 3*5, 1, 0)}
		x := randSlice(rng, B*6, 1, 0.2)
		labels := []int{0, 2, 1, 2}
		if _, kinks := ref.loss(x, labels, classify, 1e-3); kinks > 0 {
			t.Fatalf("%d pre-activations within 1e-3 of a kink; pick another seed", kinks)
		}

		m, err := New(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		for i, p := range m.Params() {
			be.Upload(p.Value, modeltest.F32(ref.params()[i]))
		}
		if err := model.AllocGrads(be, m.Params()); err != nil {
			t.Fatal(err)
		}
		w, err := m.NewWork(B)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Free()
		be.Upload(w.Inputs(), modeltest.F32(x))
		be.Upload(w.Targets(), []float32{0, 2, 1, 2})
		phase := 0
		if classify {
			phase = 1
		}
		if err := m.Forward(w, phase); err != nil {
			t.Fatal(err)
		}
		l, err := m.Loss(w, phase)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.loss(x, labels, classify, 0)
		if got := l.Mean("loss"); math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("classify=%v: loss on the backend %.8g, float64 reference %.8g", classify, got, want)
		}
		m.Backward(w, phase)
		const h = 1e-5
		for pi, param := range m.Params() {
			got := modeltest.Download(t, be, param.Grad)
			p := ref.params()[pi]
			for i := range p {
				old := p[i]
				p[i] = old + h
				lp, _ := ref.loss(x, labels, classify, 0)
				p[i] = old - h
				lm, _ := ref.loss(x, labels, classify, 0)
				p[i] = old
				fd := (lp - lm) / (2 * h)
				if d := math.Abs(float64(got[i]) - fd); d > 1e-5+1e-3*math.Abs(fd) {
					t.Errorf("classify=%v: ∂L/∂%s[%d] = %.7g, central difference %.7g", classify, param.Name, i, got[i], fd)
				}
			}
		}
		if !classify {
			for i, v := range modeltest.Download(t, be, m.c.Grad) {
				if v != 0 {
					t.Errorf("unsupervised ∂L/∂C[%d] = %g, want 0", i, v)
				}
			}
		}
	}
}

// TestDrSAEISTA: with E = Dᵀ/L, S = I − DᵀD/L, b = λ/L the encoder is T steps of non-negative
// ISTA, z ← max(0, z + Dᵀ(x − Dz)/L − λ/L) from z = 0, computed here in float64 on the host.
func TestDrSAEISTA(t *testing.T) {
	be := modeltest.Backend(t)
	const n, m, T, B = 20, 30, 25, 3
	cfg := DefaultConfig()
	cfg.Inputs, cfg.Rows, cfg.Cols, cfg.Units, cfg.Classes, cfg.T = n, 0, 0, m, 2, T
	rng := rand.New(rand.NewPCG(3, 4))
	d := randSlice(rng, n*m, 1, 0)
	for j := 0; j < m; j++ { // unit columns
		s := 0.0
		for i := 0; i < n; i++ {
			s += d[i*m+j] * d[i*m+j]
		}
		for i := 0; i < n; i++ {
			d[i*m+j] /= math.Sqrt(s)
		}
	}
	// L = λ_max(DᵀD) by power iteration, plus a margin.
	v := randSlice(rng, m, 1, 0)
	var L float64
	for it := 0; it < 500; it++ {
		dv := make([]float64, n)
		for i := 0; i < n; i++ {
			for j := 0; j < m; j++ {
				dv[i] += d[i*m+j] * v[j]
			}
		}
		nv, s := make([]float64, m), 0.0
		for j := 0; j < m; j++ {
			for i := 0; i < n; i++ {
				nv[j] += d[i*m+j] * dv[i]
			}
			s += nv[j] * nv[j]
		}
		L = math.Sqrt(s)
		for j := range nv {
			nv[j] /= L
		}
		v = nv
	}
	L *= 1.01
	const lambda = 0.1
	x := randSlice(rng, B*n, 1, 0)

	net, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Free()
	be.Upload(net.d.Value, modeltest.F32(d))
	if err := net.SetISTA(lambda, L); err != nil {
		t.Fatal(err)
	}
	w, err := net.NewWork(B)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	be.Upload(w.Inputs(), modeltest.F32(x))
	if err := net.Forward(w, 0); err != nil {
		t.Fatal(err)
	}
	got := modeltest.Download(t, be, net.Code(w))

	for s := 0; s < B; s++ {
		xs := x[s*n : (s+1)*n]
		z := make([]float64, m)
		for it := 0; it < T; it++ {
			res := make([]float64, n)
			for i := 0; i < n; i++ {
				res[i] = xs[i]
				for j := 0; j < m; j++ {
					res[i] -= d[i*m+j] * z[j]
				}
			}
			next := make([]float64, m)
			for j := 0; j < m; j++ {
				g := 0.0
				for i := 0; i < n; i++ {
					g += d[i*m+j] * res[i]
				}
				next[j] = math.Max(0, z[j]+g/L-lambda/L)
			}
			z = next
		}
		active := 0
		for j := 0; j < m; j++ {
			if z[j] > 0 {
				active++
			}
			// float32 E, S and sums: ~1e-6 relative per step, not amplified since ‖S‖ ≤ 1.
			if diff := math.Abs(float64(got[s*m+j]) - z[j]); diff > 2e-5 {
				t.Errorf("sample %d unit %d: encoder %.7g, ISTA %.7g", s, j, got[s*m+j], z[j])
			}
		}
		if active == 0 || active == m {
			t.Errorf("sample %d: %d of %d units active; the test should exercise the threshold", s, active, m)
		}
	}
}
