package lateral

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
)

var (
	patchOnce sync.Once
	patchSrc  *data.PatchSource
	patchErr  error
)

// patches returns count mean-removed 8×8 natural patches (local contrast normalized, σ = 4).
func patches(t testing.TB, count int, seed uint64) []float32 {
	t.Helper()
	patchOnce.Do(func() {
		imgs, err := data.NaturalImages()
		if err != nil {
			patchErr = err
			return
		}
		patchSrc = data.NewPatchSource(imgs, 8, 4)
	})
	if patchErr != nil {
		t.Fatal(patchErr)
	}
	x := patchSrc.Random(count, seed)
	data.RemoveMean(x, 64)
	return x
}

// energy is the float64 host energy ½‖x − D z‖² + λ‖z‖₁ + |z|ᵀS|z| of one sample.
func energy(n, m int, d, s, x, z []float64, lambda float64) float64 {
	var e float64
	for k := range n {
		r := -x[k]
		for i := range m {
			r += d[k*m+i] * z[i]
		}
		e += r * r / 2
	}
	for i := range m {
		e += lambda * math.Abs(z[i])
		for j := range m {
			e += math.Abs(z[i]) * s[i*m+j] * math.Abs(z[j])
		}
	}
	return e
}

// TestLateralGradients checks Backward against central differences of the float64 host energy
// at the inferred codes (held fixed, as the training step uses them): D's gradient is ∂E/∂D and
// S's is −∂E/∂S (the trainer's descent is an ascent on the energy in S).
func TestLateralGradients(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := Config{Inputs: 5, Units: 7, Branch: 2, Lambda: 0.1, SScale: 0.2, SMax: 1, LearnS: true, SLRScale: 1, InferIters: 20, LipschitzEvery: 10}
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if err := l.Init(nil, 3); err != nil {
		t.Fatal(err)
	}
	if err := model.AllocGrads(be, l.Params()); err != nil {
		t.Fatal(err)
	}
	const batch = 4
	r := rand.New(rand.NewPCG(5, 5))
	x := modeltest.Randn(r, batch*cfg.Inputs, 1)
	mw, err := l.NewWork(batch)
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Free()
	be.Upload(mw.Inputs(), x)
	if err := l.Forward(mw, 0); err != nil {
		t.Fatal(err)
	}
	l.Backward(mw, 0)
	n, m := cfg.Inputs, cfg.Units
	z := modeltest.F64(modeltest.Download(t, be, l.Code(mw)))
	d := modeltest.F64(modeltest.Download(t, be, l.D()))
	s := modeltest.F64(modeltest.Download(t, be, l.S()))
	xs := modeltest.F64(x)
	mean := func() float64 {
		var e float64
		for b := range batch {
			e += energy(n, m, d, s, xs[b*n:(b+1)*n], z[b*m:(b+1)*m], cfg.Lambda)
		}
		return e / batch
	}
	var nonzero int
	for _, v := range z {
		if v != 0 {
			nonzero++
		}
	}
	if nonzero < 2 {
		t.Fatalf("only %d non-zero code entries: the test would not exercise S", nonzero)
	}
	const h = 1e-5
	for _, c := range []struct {
		name string
		v    []float64
		sign float64
		grad kernels.Tensor
	}{{"D", d, 1, l.d.Grad}, {"S", s, -1, l.s.Grad}} {
		got := modeltest.Download(t, be, c.grad)
		for i := range c.v {
			v0 := c.v[i]
			c.v[i] = v0 + h
			ep := mean()
			c.v[i] = v0 - h
			em := mean()
			c.v[i] = v0
			want := c.sign * (ep - em) / (2 * h)
			if math.Abs(float64(got[i])-want) > 1e-4+1e-3*math.Abs(want) {
				t.Errorf("∂/∂%s[%d] = %.6g, finite differences %.6g", c.name, i, got[i], want)
			}
		}
	}
}

// TestLateralProjection: S's projection gives a symmetric S in [0, s_max], zero on the diagonal
// and between related units, from an arbitrary matrix.
func TestLateralProjection(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := Config{Inputs: 4, Units: 13, Branch: 3, Lambda: 0.1, SScale: 0.2, SMax: 0.5, LearnS: true, SLRScale: 1, InferIters: 5, LipschitzEvery: 10}
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	m := cfg.Units
	be.Upload(l.S(), modeltest.Randn(rand.New(rand.NewPCG(1, 2)), m*m, 1))
	l.ProjectS(l.S())
	checkS(t, l)
}

// checkS asserts S's constraints, and that some entries are not zero.
func checkS(t *testing.T, l *Lateral) {
	t.Helper()
	cfg := l.cfg
	s := modeltest.Download(t, l.be, l.S())
	pattern := cfg.Mask()
	if l.prune != nil {
		pattern = l.prune.mask
	}
	m, nz := cfg.Units, 0
	for i := range m {
		for j := range m {
			v := s[i*m+j]
			switch {
			case v < 0 || v > float32(cfg.SMax):
				t.Fatalf("S[%d,%d] = %g, outside [0, %g]", i, j, v, cfg.SMax)
			case v != s[j*m+i]:
				t.Fatalf("S[%d,%d] = %g ≠ S[%d,%d] = %g", i, j, v, j, i, s[j*m+i])
			case cfg.Related(i, j) && v != 0:
				t.Fatalf("S[%d,%d] = %g between related units", i, j, v)
			case pattern[i*m+j] == 0 && v != 0:
				t.Fatalf("S[%d,%d] = %g on a pruned pair", i, j, v)
			}
			if v != 0 {
				nz++
			}
		}
	}
	if nz == 0 {
		t.Fatal("S is all zero")
	}
}

// TestLateralTree: in a 3-ary tree, unit 4 (child of 1) is related to 0, 1 and its children
// 13..15, and not to its sibling 5 or its cousin 7.
func TestLateralTree(t *testing.T) {
	cfg := Config{Units: 40, Branch: 3}
	for _, c := range []struct {
		i, j int
		want bool
	}{{4, 0, true}, {4, 1, true}, {4, 13, true}, {15, 4, true}, {4, 5, false}, {4, 7, false}, {4, 16, false}, {4, 4, true}} {
		if got := cfg.Related(c.i, c.j); got != c.want {
			t.Errorf("Related(%d, %d) = %v, want %v", c.i, c.j, got, c.want)
		}
	}
}

// trained trains a model of cfg with the default schedule for epochs on 5,000 natural patches and
// returns it, with 64 held-out patches.
func trained(t *testing.T, be kernels.Backend, cfg Config, epochs int) (*Lateral, *model.Samples) {
	t.Helper()
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.Epochs = epochs
	tr, err := model.NewTrainer(l, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Free()
	if err := tr.Run(context.Background(), &model.Samples{X: patches(t, 5000, 1), Dim: 64}, nil); err != nil {
		t.Fatal(err)
	}
	return l, &model.Samples{X: patches(t, 64, 99), Dim: 64}
}

// TestLateralNaturalPatches trains on natural patches and asserts: filters along a branch of
// the tree are more similar than filters in different branches; S stays bounded; the inferred
// codes have a lower energy than plain L1 sparse coding's codes for the same D and λ; and they
// meet the optimality conditions of the energy.
func TestLateralNaturalPatches(t *testing.T) {
	be := modeltest.Backend(t)
	l, test := trained(t, be, DefaultConfig(), 8)
	defer l.Free()
	sim, err := l.BranchSimilarity()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mean |cos|: along a branch %.4f (%d pairs), other %.4f (%d pairs), ratio %.3f", sim.Branch, sim.Pairs[0], sim.Other, sim.Pairs[1], sim.Ratio)
	if !(sim.Ratio > 1.5) {
		t.Errorf("branch/other |cos| ratio %.3f ≤ 1.5", sim.Ratio)
	}
	checkS(t, l)

	checkInference(t, l, test)
}

// checkInference runs the inference to convergence (1500 FISTA steps) on the samples, and plain
// L1 sparse coding (model.SparseCoder, same D and λ), and asserts that the inferred codes have
// the lower energy and meet the optimality conditions.
func checkInference(t *testing.T, l *Lateral, test *model.Samples) {
	t.Helper()
	be, cfg := l.be, l.cfg
	l.cfg.InferIters, l.cfg.FISTA = 1500, true
	defer func() { l.cfg = cfg }()
	b, n, m := test.N(), cfg.Inputs, cfg.Units
	w, err := l.NewWork(b)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	be.Upload(w.Inputs(), test.X)
	if err := l.Forward(w, 0); err != nil {
		t.Fatal(err)
	}
	z := modeltest.F64(modeltest.Download(t, be, l.Code(w)))
	coder, err := model.NewSparseCoder(be, l.D(), model.CodingOptions{Lambda: cfg.Lambda, MaxIter: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer coder.Free()
	zl1 := modeltest.Upload(t, be, make([]float32, b*m), b, m)
	defer be.Free(zl1)
	if _, err := coder.Encode(zl1, w.Inputs()); err != nil {
		t.Fatal(err)
	}
	z1 := modeltest.F64(modeltest.Download(t, be, zl1))
	d := modeltest.F64(modeltest.Download(t, be, l.D()))
	s := modeltest.F64(modeltest.Download(t, be, l.S()))
	x := modeltest.F64(test.X)
	var eLat, eL1 float64
	for k := range b {
		eLat += energy(n, m, d, s, x[k*n:(k+1)*n], z[k*m:(k+1)*m], cfg.Lambda) / float64(b)
		eL1 += energy(n, m, d, s, x[k*n:(k+1)*n], z1[k*m:(k+1)*m], cfg.Lambda) / float64(b)
	}
	t.Logf("mean energy: inferred codes %.4f, L1 sparse coding's codes %.4f", eLat, eL1)
	if !(eLat < eL1) {
		t.Errorf("inferred codes' energy %.4f not below L1 codes' %.4f", eLat, eL1)
	}
	checkOptimality(t, cfg, d, s, x, z, b)
}

// TestLateralOptimality: on a random dictionary and a random tree-structured S (a 3-ary tree
// of 13 units), the converged inference has a lower energy than L1 sparse coding's codes and
// meets the optimality conditions.
func TestLateralOptimality(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := Config{Inputs: 10, Units: 13, Branch: 3, Lambda: 0.2, SScale: 0.3, SMax: 0.6, LearnS: true, SLRScale: 1, InferIters: 10, LipschitzEvery: 10}
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if err := l.Init(nil, 7); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 8))
	sv := modeltest.Randn(r, cfg.Units*cfg.Units, 0.3)
	for i := range sv {
		sv[i] += 0.3
	}
	be.Upload(l.S(), sv)
	l.ProjectS(l.S())
	checkInference(t, l, &model.Samples{X: modeltest.Randn(r, 16*cfg.Inputs, 1), Dim: cfg.Inputs})
}

// TestLateralValidate: every key out of range is an error naming it.
func TestLateralValidate(t *testing.T) {
	for key, f := range map[string]func(c *Config){
		"inputs": func(c *Config) { c.Inputs = 0 }, "units": func(c *Config) { c.Units = 0 },
		"branch": func(c *Config) { c.Branch = -1 }, "lambda": func(c *Config) { c.Lambda = math.NaN() },
		"s_scale": func(c *Config) { c.SScale = -1 }, "s_max": func(c *Config) { c.SMax = 0 },
		"s_lr_scale": func(c *Config) { c.SLRScale = 0 }, "infer_iters": func(c *Config) { c.InferIters = 0 },
		"rows": func(c *Config) { c.Rows = 3 }, "lipschitz_every": func(c *Config) { c.LipschitzEvery = 0 },
		"prune_every":               func(c *Config) { c.PruneEvery = -1 },
		"prune_every needs learn_s": func(c *Config) { c.PruneEvery, c.LearnS = 10, false },
		"prune_frac":                func(c *Config) { c.PruneEvery, c.PruneFrac = 10, 0 },
		"prune_keep":                func(c *Config) { c.PruneEvery, c.PruneKeep = 10, 1.5 },
	} {
		c := DefaultConfig()
		f(&c)
		err := c.Validate()
		if key, _, _ = strings.Cut(key, " "); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s out of range: error %v, want one naming it", key, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

// checkOptimality asserts the subgradient conditions of the energy at z (b samples): with
// g = Dᵀ(x − D z) and τ_i = λ + 2(S|z|)_i, g_i = sign(z_i)·τ_i where z_i ≠ 0 and |g_i| ≤ τ_i
// where z_i = 0, within a tolerance relative to the largest |g|.
func checkOptimality(t *testing.T, cfg Config, d, s, x, z []float64, b int) {
	t.Helper()
	n, m := cfg.Inputs, cfg.Units
	var worst, scale float64
	var active int
	for k := range b {
		xk, zk := x[k*n:(k+1)*n], z[k*m:(k+1)*m]
		r := make([]float64, n)
		for p := range n {
			r[p] = xk[p]
			for i := range m {
				r[p] -= d[p*m+i] * zk[i]
			}
		}
		for i := range m {
			var g, tau float64
			for p := range n {
				g += d[p*m+i] * r[p]
			}
			tau = cfg.Lambda
			for j := range m {
				tau += 2 * s[i*m+j] * math.Abs(zk[j])
			}
			scale = math.Max(scale, math.Abs(g))
			var v float64
			if zk[i] != 0 {
				active++
				v = math.Abs(g - math.Copysign(tau, zk[i]))
			} else {
				v = math.Max(0, math.Abs(g)-tau)
			}
			worst = math.Max(worst, v)
		}
	}
	t.Logf("optimality: worst violation %.2g (largest |Dᵀr| %.3g), %d active units in %d samples", worst, scale, active, b)
	if active == 0 {
		t.Fatal("no active unit: the conditions were not tested")
	}
	if worst > 2e-2*scale {
		t.Errorf("optimality violated by %.3g (largest |Dᵀr| %.3g)", worst, scale)
	}
}

// TestLateralResume: training resumes exactly from a checkpoint taken between two estimates of
// the step size (the step counts, L and the power iteration's warm start are state), with
// validation passes in between; and, with S pruned from full, across a pruning (the pattern and
// the co-activity are state too).
func TestLateralResume(t *testing.T) {
	be := modeltest.Backend(t)
	train := &model.Samples{Name: "patches", X: patches(t, 600, 3), Dim: 64}
	valid := &model.Samples{Name: "valid", X: patches(t, 100, 4), Dim: 64}
	tc := DefaultTrainConfig()
	tc.Epochs = 3
	const stopAfter = 2
	steps := stopAfter * (train.N() / tc.Batch) // 18
	for _, c := range []struct {
		name        string
		branch      int
		prune, lipk int
	}{{"tree", 2, 0, 4}, {"pruned", 0, 7, 4}} {
		t.Run(c.name, func(t *testing.T) {
			if steps%c.lipk == 0 || c.prune > 0 && (steps%c.prune == 0 || steps < c.prune) {
				t.Fatalf("the checkpoint at step %d is not between two estimates of L (every %d) or after a pruning (every %d) and before the next", steps, c.lipk, c.prune)
			}
			traintest.Resume(t, func() model.Module {
				cfg := DefaultConfig()
				cfg.Units, cfg.InferIters, cfg.Branch, cfg.PruneEvery, cfg.LipschitzEvery = 15, 10, c.branch, c.prune, c.lipk
				l, err := New(be, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Init(nil, 2); err != nil {
					t.Fatal(err)
				}
				return l
			}, tc, train, valid, stopAfter)
		})
	}
}
