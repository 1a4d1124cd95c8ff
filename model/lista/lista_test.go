package lista

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
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
	be := modeltest.Backend(t)
	n, m, b := 6, 5, 4
	for _, nonneg := range []bool{false, true} {
		for _, T := range []int{1, 2, 3} {
			var we, s, theta, x, zstar []float32
			for seed := uint64(1); ; seed++ {
				rng := rand.New(rand.NewPCG(seed, uint64(T)))
				we = modeltest.Randn(rng, m*n, 0.5)
				s = modeltest.Randn(rng, m*m, 0.3)
				theta = make([]float32, m)
				for i := range theta {
					theta[i] = float32(0.05 + 0.1*rng.Float64())
				}
				x = modeltest.Randn(rng, b*n, 1)
				zstar = modeltest.Randn(rng, b*m, 0.5)
				_, margin := listaForward64(modeltest.F64(we), modeltest.F64(s), modeltest.F64(theta), modeltest.F64(x), b, n, m, T, nonneg)
				if margin > 1e-3 {
					break
				}
			}
			cfg := DefaultConfig()
			cfg.Inputs, cfg.Units, cfg.T, cfg.NonNegative = n, m, T, nonneg
			l, err := New(be, cfg)
			if err != nil {
				t.Fatal(err)
			}
			be.Upload(l.params[0].Value, we)
			be.Upload(l.params[1].Value, s)
			be.Upload(l.params[2].Value, theta)
			w, err := l.NewWork(b)
			if err != nil {
				t.Fatal(err)
			}
			be.Upload(w.Inputs(), x)
			be.Upload(w.Targets(), zstar)
			if err := model.AllocGrads(be, l.Params()); err != nil {
				t.Fatal(err)
			}
			if err := l.Forward(w, 0); err != nil {
				t.Fatal(err)
			}
			sums, err := l.Loss(w, 0)
			if err != nil {
				t.Fatal(err)
			}
			loss := sums.Mean("loss")
			l.Backward(w, 0)
			p64 := [][]float64{modeltest.F64(we), modeltest.F64(s), modeltest.F64(theta)}
			lossAt := func() float64 {
				return listaLoss64(p64[0], p64[1], p64[2], modeltest.F64(x), modeltest.F64(zstar), b, n, m, T, nonneg)
			}
			if want := lossAt(); math.Abs(loss-want) > 1e-5*(1+want) {
				t.Errorf("nonneg=%v T=%d: loss %v, float64 %v", nonneg, T, loss, want)
			}
			const h = 1e-6
			for pi, name := range []string{"We", "S", "theta"} {
				got := modeltest.Download(t, be, l.params[pi].Grad)
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
			w.Free()
			l.Free()
		}
	}
}

// withDictionary makes an encoder for the dictionary d [n,m] at its ISTA values.
func withDictionary(t *testing.T, be kernels.Backend, d kernels.Tensor, cfg Config) *LISTA {
	t.Helper()
	cfg.Inputs, cfg.Units = d.Shape()[0], d.Shape()[1]
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Free)
	if err := l.SetDictionary(d); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLISTAIsISTA: at its initialization W_e = Dᵀ/L, S = I − DᵀD/L, θ = λ/L, a LISTA with T steps
// computes exactly T iterations of ISTA from zero (Gregor & LeCun 2010, §3.1).
func TestLISTAIsISTA(t *testing.T) {
	be := modeltest.Backend(t)
	rng := rand.New(rand.NewPCG(7, 8))
	n, m, b := 16, 24, 5
	d := modeltest.Randn(rng, n*m, 1/math.Sqrt(float64(n)))
	x := &model.Samples{X: modeltest.Randn(rng, b*n, 1), Dim: n}
	dt := modeltest.Upload(t, be, d, n, m)
	zi, _ := be.New(b, m)
	for _, nonneg := range []bool{false, true} {
		for _, T := range []int{1, 2, 5, 20} {
			cfg := DefaultConfig()
			cfg.T, cfg.Lambda, cfg.NonNegative = T, 0.1, nonneg
			l := withDictionary(t, be, dt, cfg)
			works := model.NewWorks(l)
			a, err := model.Encode(l, works, x, b)
			works.Free()
			if err != nil {
				t.Fatal(err)
			}
			c, err := model.NewSparseCoder(be, dt, model.CodingOptions{Lambda: 0.1, NonNegative: nonneg, Algorithm: model.ISTA, MaxIter: T})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Encode(zi, modeltest.Upload(t, be, x.X, b, n)); err != nil {
				t.Fatal(err)
			}
			bb := modeltest.Download(t, be, zi)
			for i := range a {
				// The same iteration; only float32 roundings differ (W_e x vs X D/L).
				if math.Abs(float64(a[i]-bb[i])) > 1e-5 {
					t.Fatalf("nonneg=%v T=%d: LISTA z[%d] = %v, ISTA %v", nonneg, T, i, a[i], bb[i])
				}
			}
			c.Free()
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
	train, test := modeltest.MNIST(t)
	be := modeltest.Backend(t)
	n, m, T, lambda := train.Dim(), 100, 3, 0.5
	x := &model.Samples{Name: "train", X: modeltest.Rows(train, 0, 2000), Dim: n}
	held := &model.Samples{Name: "held-out", X: modeltest.Rows(test, 0, 500), Dim: n}
	dt := modeltest.Upload(t, be, modeltest.DigitDictionary(train, m, 1), n, m)
	cfg := DefaultConfig()
	cfg.T, cfg.Lambda = T, lambda
	l := withDictionary(t, be, dt, cfg)
	held, err := model.WithTargets(l, held, nil)
	if err != nil {
		t.Fatal(err)
	}
	works := model.NewWorks(l)
	defer works.Free()
	codeErr := func() float64 {
		s, err := model.Evaluate(l, works, held, 250, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s.Mean("code_err")
	}
	// FISTA with 5·T iterations.
	c, err := model.NewSparseCoder(be, dt, model.CodingOptions{Lambda: lambda, MaxIter: 5 * T})
	if err != nil {
		t.Fatal(err)
	}
	zf, err := model.CodeAll(be, c, held, 250, nil)
	c.Free()
	if err != nil {
		t.Fatal(err)
	}
	var fistaErr float64
	for i, v := range zf {
		d := float64(v) - float64(held.Y[i])
		fistaErr += d * d
	}
	fistaErr /= float64(held.N())
	before := codeErr()
	tc := DefaultTrainConfig()
	tc.Epochs = 20
	tr, err := model.NewTrainer(l, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Free()
	var losses []float64
	tr.OnEpoch = func(e model.Epoch) error { losses = append(losses, e.Train.Mean("loss")); return nil }
	if err := tr.Run(context.Background(), x, nil); err != nil {
		t.Fatal(err)
	}
	after := codeErr()
	t.Logf("held-out ‖z − z*‖²: LISTA T=%d at ISTA init %.3f, trained %.3f; FISTA %d iterations %.3f; training loss %.3f → %.3f",
		T, before, after, 5*T, fistaErr, losses[0], losses[len(losses)-1])
	if !(losses[len(losses)-1] < losses[0]) {
		t.Errorf("training loss did not fall: %v", losses)
	}
	if !(after < fistaErr) {
		t.Errorf("LISTA T=%d held-out code error %.4g, not below FISTA with %d iterations %.4g", T, after, 5*T, fistaErr)
	}
}

// TestLISTAResume: LISTA training resumes exactly from a checkpoint (the targets are computed
// again, the learning-rate scales come from the checkpoint's config).
func TestLISTAResume(t *testing.T) {
	be := modeltest.Backend(t)
	rng := rand.New(rand.NewPCG(21, 22))
	n, m := 10, 14
	dt := modeltest.Upload(t, be, modeltest.Randn(rng, n*m, 0.3), n, m)
	x := &model.Samples{Name: "gauss", X: modeltest.Randn(rng, 160*n, 1), Dim: n}
	valid := &model.Samples{Name: "gauss2", X: modeltest.Randn(rng, 40*n, 1), Dim: n}
	tc := DefaultTrainConfig()
	tc.Batch, tc.Epochs, tc.Optimizer, tc.LR = 32, 3, model.OptAdam, 0.01
	traintest.Resume(t, func() model.Module {
		cfg := DefaultConfig()
		cfg.T, cfg.Lambda, cfg.TargetIterations = 2, 0.2, 100
		return withDictionary(t, be, dt, cfg)
	}, tc, x, valid, 2)
}
