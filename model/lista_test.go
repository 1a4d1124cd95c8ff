package model

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// listaForward64 runs LISTA in float64 on the host: We [m,n], S [m,m], θ [m], x [B,n]; it returns
// z_T [B,m] and the smallest distance of any pre-activation to a kink of the shrinkage (|u| = θ,
// or u = θ one-sided), so that a finite-difference test can stay away from them.
func listaForward64(we, s, theta []float64, x []float64, b, n, m, T int, nonneg bool) ([]float64, float64) {
	z := make([]float64, b*m)
	u := make([]float64, m)
	margin := math.Inf(1)
	for r := 0; r < b; r++ {
		zr := make([]float64, m)
		for t := 0; t < T; t++ {
			for i := 0; i < m; i++ {
				v := 0.0
				for j := 0; j < n; j++ {
					v += we[i*n+j] * x[r*n+j]
				}
				for k := 0; k < m; k++ {
					v += s[i*m+k] * zr[k]
				}
				u[i] = v
			}
			for i := 0; i < m; i++ {
				if nonneg {
					zr[i] = math.Max(u[i]-theta[i], 0)
					margin = math.Min(margin, math.Abs(u[i]-theta[i]))
				} else {
					zr[i] = math.Copysign(math.Max(math.Abs(u[i])-theta[i], 0), u[i])
					margin = math.Min(margin, math.Abs(math.Abs(u[i])-theta[i]))
				}
			}
		}
		copy(z[r*m:], zr)
	}
	return z, margin
}

func listaLoss64(we, s, theta, x, zstar []float64, b, n, m, T int, nonneg bool) float64 {
	z, _ := listaForward64(we, s, theta, x, b, n, m, T, nonneg)
	var l float64
	for i := range z {
		d := z[i] - zstar[i]
		l += d * d
	}
	return 0.5 * l / float64(b)
}

// TestLISTAGradients checks the backward pass through the T steps against central differences
// of the loss computed in float64 on the host from the same (float32-rounded) parameters.
//
// Tolerance: the step h = 1e-6 gives a float64 difference quotient accurate to ~1e-10
// (truncation h²·f”' and rounding 1e-16/h), far below the float32 gradient's own error, which
// is a few roundings (6e-8 relative) of O(1) sums of O(m) terms: about 1e-6. The test point is
// drawn again until every pre-activation is at least 1e-3 from a kink, so that neither the
// difference quotient nor float32 rounding crosses one. 2e-5 + 1e-4·|g| leaves a margin of ~10.
func TestLISTAGradients(t *testing.T) {
	be := newTestBackend(t)
	n, m, b := 6, 5, 4
	for _, nonneg := range []bool{false, true} {
		for _, T := range []int{1, 2, 3} {
			var we, s, theta, x, zstar []float32
			for seed := uint64(1); ; seed++ {
				rng := rand.New(rand.NewPCG(seed, uint64(T)))
				we = randn(rng, m*n, 0.5)
				s = randn(rng, m*m, 0.3)
				theta = make([]float32, m)
				for i := range theta {
					theta[i] = float32(0.05 + 0.1*rng.Float64())
				}
				x = randn(rng, b*n, 1)
				zstar = randn(rng, b*m, 0.5)
				_, margin := listaForward64(f64(we), f64(s), f64(theta), f64(x), b, n, m, T, nonneg)
				if margin > 1e-3 {
					break
				}
			}
			cfg := DefaultLISTAConfig(n, m)
			cfg.Steps, cfg.NonNegative = T, nonneg
			l, err := newLISTATensors(be, cfg)
			if err != nil {
				t.Fatal(err)
			}
			be.Upload(l.We, we)
			be.Upload(l.S, s)
			be.Upload(l.Theta, theta)
			xt := upload(t, be, x, b, n)
			zt := upload(t, be, zstar, b, m)
			g, err := l.NewGrads()
			if err != nil {
				t.Fatal(err)
			}
			loss, err := l.Gradients(g, xt, zt)
			if err != nil {
				t.Fatal(err)
			}
			p64 := [][]float64{f64(we), f64(s), f64(theta)}
			lossAt := func() float64 { return listaLoss64(p64[0], p64[1], p64[2], f64(x), f64(zstar), b, n, m, T, nonneg) }
			if want := lossAt(); math.Abs(loss-want) > 1e-5*(1+want) {
				t.Errorf("nonneg=%v T=%d: loss %v, float64 %v", nonneg, T, loss, want)
			}
			const h = 1e-6
			for pi, name := range []string{"We", "S", "theta"} {
				got := download(t, be, g.List()[pi])
				for k := range p64[pi] {
					old := p64[pi][k]
					p64[pi][k] = old + h
					up := lossAt()
					p64[pi][k] = old - h
					down := lossAt()
					p64[pi][k] = old
					want := (up - down) / (2 * h)
					if math.Abs(float64(got[k])-want) > 2e-5+1e-4*math.Abs(want) {
						t.Errorf("nonneg=%v T=%d: d loss/d %s[%d] = %v, finite difference %v", nonneg, T, name, k, got[k], want)
					}
				}
			}
			g.Free(be)
			l.Free()
		}
	}
}

// TestLISTAIsISTA: at its initialization W_e = Dᵀ/L, S = I − DᵀD/L, θ = λ/L, a LISTA with T steps
// computes exactly T iterations of ISTA from zero (Gregor & LeCun 2010, §3.1).
func TestLISTAIsISTA(t *testing.T) {
	be := newTestBackend(t)
	rng := rand.New(rand.NewPCG(7, 8))
	n, m, b := 16, 24, 5
	d := randn(rng, n*m, 1/math.Sqrt(float64(n)))
	x := randn(rng, b*n, 1)
	dt := upload(t, be, d, n, m)
	xt := upload(t, be, x, b, n)
	zl, _ := be.New(b, m)
	zi, _ := be.New(b, m)
	for _, nonneg := range []bool{false, true} {
		for _, T := range []int{1, 2, 5, 20} {
			cfg := DefaultLISTAConfig(n, m)
			cfg.Steps, cfg.Lambda, cfg.NonNegative = T, 0.1, nonneg
			l, err := NewLISTA(be, dt, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Encode(zl, xt); err != nil {
				t.Fatal(err)
			}
			c, err := NewSparseCoder(be, dt, CodingOptions{Lambda: 0.1, NonNegative: nonneg, Algorithm: ISTA, MaxIter: T})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Encode(zi, xt); err != nil {
				t.Fatal(err)
			}
			a, bb := download(t, be, zl), download(t, be, zi)
			for i := range a {
				// The same iteration; only float32 roundings differ (W_e x vs X D/L).
				if math.Abs(float64(a[i]-bb[i])) > 1e-5 {
					t.Fatalf("nonneg=%v T=%d: LISTA z[%d] = %v, ISTA %v", nonneg, T, i, a[i], bb[i])
				}
			}
			c.Free()
			l.Free()
		}
	}
}

// TestLISTABeatsFISTA is the claim of Gregor & LeCun (2010): a LISTA with T = 3 trained on
// MNIST approximates the optimal codes of held-out digits better than FISTA run for 5·T = 15
// iterations. 2000 training digits, 500 held-out test digits, a 100-atom dictionary of
// training digits (coherent atoms, where FISTA is slow), λ = 0.5.
func TestLISTABeatsFISTA(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a LISTA on MNIST (-short)")
	}
	train, test := mnistSets(t)
	be := newTestBackend(t)
	n, m, T, lambda := train.Dim(), 100, 3, 0.5
	x := rows(train, 0, 2000)
	xh := rows(test, 0, 500)
	dt := upload(t, be, digitDictionary(train, m, 1), n, m)
	zs, err := Targets(be, dt, x, lambda, false, 500, 1e-6, 250, nil)
	if err != nil {
		t.Fatal(err)
	}
	zh, err := Targets(be, dt, xh, lambda, false, 500, 1e-6, 250, nil)
	if err != nil {
		t.Fatal(err)
	}
	xht := upload(t, be, xh, 500, n)
	zht := upload(t, be, zh, 500, m)

	c, err := NewSparseCoder(be, dt, CodingOptions{Lambda: lambda, MaxIter: 5 * T})
	if err != nil {
		t.Fatal(err)
	}
	zf, _ := be.New(500, m)
	if _, err := c.Encode(zf, xht); err != nil {
		t.Fatal(err)
	}
	w, _ := c.workspace(500)
	fistaErr, err := meanSquaredDistance(be, zf, zht, w.scratch, w.rowsA, w.hostB)
	if err != nil {
		t.Fatal(err)
	}

	cfg := DefaultLISTAConfig(n, m)
	cfg.Steps, cfg.Lambda, cfg.Epochs = T, lambda, 20
	l, err := NewLISTA(be, dt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := l.CodeError(xht, zht)
	losses, err := l.Train(x, zs, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, err := l.CodeError(xht, zht)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out ‖z − z*‖²: LISTA T=%d at ISTA init %.3f, trained %.3f; FISTA %d iterations %.3f; training loss %.3f → %.3f",
		T, before, after, 5*T, fistaErr, losses[0], losses[len(losses)-1])
	if !(losses[len(losses)-1] < losses[0]) {
		t.Errorf("training loss did not fall: %v", losses)
	}
	if !(after < fistaErr) {
		t.Errorf("LISTA T=%d held-out code error %.4g, not below FISTA with %d iterations %.4g", T, after, 5*T, fistaErr)
	}
}

func TestLISTASaveLoad(t *testing.T) {
	be := newTestBackend(t)
	rng := rand.New(rand.NewPCG(9, 10))
	n, m := 7, 5
	dt := upload(t, be, randn(rng, n*m, 0.4), n, m)
	cfg := DefaultLISTAConfig(n, m)
	cfg.Steps = 2
	l, err := NewLISTA(be, dt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	be.Upload(l.Theta, randn(rng, m, 1))
	dir := t.TempDir()
	path := filepath.Join(dir, "enc.safetensors")
	if err := l.Save(path); err != nil {
		t.Fatal(err)
	}
	l2, err := LoadLISTA(be, path)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Config.Steps != 2 || l2.Config.Lipschitz != l.Config.Lipschitz {
		t.Errorf("config %+v, want %+v", l2.Config, l.Config)
	}
	for i, p := range l.Params() {
		a, b := download(t, be, p), download(t, be, l2.Params()[i])
		for k := range a {
			if a[k] != b[k] {
				t.Fatalf("param %d differs at %d", i, k)
			}
		}
	}
	// A dictionary file is not a LISTA; a config that disagrees with the tensors is caught.
	if _, err := LoadDictionary(be, path); err == nil || !strings.Contains(err.Error(), `"lista"`) {
		t.Errorf("LoadDictionary on a LISTA: %v", err)
	}
	cfg2 := l.Config
	cfg2.Atoms = 6
	if err := SaveConfig(ConfigPath(path), cfg2); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLISTA(be, path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "shape") {
		t.Errorf("shape mismatch: %v", err)
	}
}
