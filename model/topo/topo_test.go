package topo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
)

// topoRef is a float64 host reference of the group-sparse auto-encoder's losses, written from
// the formulas independently of the backend code.
type topoRef struct {
	n, m            int
	we, b, g, d     []float64 // W_e [m,n], b [m], g [m], D [n,m]
	layout          *kernels.PoolLayout
	lambda, eps     float64
	alpha           float64
	zStar           []float64 // predictive: the fixed optimal codes [B,m]
	predictive      bool
	minMargin       float64 // smallest |W_e x − b| seen: distance to the ReLU's kink
	encoderLossOnly bool    // predictive: return L_F (for W_e, b, g) instead of L_D (for D)
	x               []float64
	batch           int
}

func (r *topoRef) codes() []float64 {
	z := make([]float64, r.batch*r.m)
	for s := range r.batch {
		for i := range r.m {
			a := -r.b[i]
			for k := range r.n {
				a += r.we[i*r.n+k] * r.x[s*r.n+k]
			}
			r.minMargin = math.Min(r.minMargin, math.Abs(a))
			z[s*r.m+i] = r.g[i] * math.Max(a, 0)
		}
	}
	return z
}

// loss is the batch mean of the auto-encoder's ½‖x − D z‖² + λ Σ_j √(ε + Σ w z²) with z = F(x);
// for a predictive model, L_D = ½‖x − D z*‖² or L_F = α/2·‖z* − F(x)‖².
func (r *topoRef) loss() float64 {
	f := r.codes()
	var sum float64
	for s := range r.batch {
		z := f[s*r.m : (s+1)*r.m]
		if r.predictive {
			if r.encoderLossOnly {
				for i := range r.m {
					d := z[i] - r.zStar[s*r.m+i]
					sum += r.alpha * d * d / 2
				}
				continue
			}
			z = r.zStar[s*r.m : (s+1)*r.m]
		}
		for k := range r.n {
			e := -r.x[s*r.n+k]
			for i := range r.m {
				e += r.d[k*r.m+i] * z[i]
			}
			sum += e * e / 2
		}
		if !r.predictive {
			for j := range r.layout.NumPools() {
				idx, w := r.layout.Pool(j)
				q := r.eps
				for k, i := range idx {
					q += float64(w[k]) * z[i] * z[i]
				}
				sum += r.lambda * math.Sqrt(q)
			}
		}
	}
	return sum / float64(r.batch)
}

// TestTopoGradients checks Backward against central differences of the float64 reference, for
// all four parameters, on a 2×2-pixel, 3×3-unit torus with overlapping Gaussian pools: the
// auto-encoder's full loss, and the predictive model's decoder and encoder losses.
func TestTopoGradients(t *testing.T) {
	for _, predictive := range []bool{false, true} {
		t.Run(fmt.Sprintf("predictive=%v", predictive), func(t *testing.T) {
			be := modeltest.Backend(t)
			cfg := Config{Inputs: 4, MapH: 3, MapW: 3, Pools: PoolsTorus, Window: 2, Stride: 1, Sigma: 1,
				Lambda: 0.3, Eps: 1e-2, Predictive: predictive, Alpha: 0.7, InferIters: 5, LipschitzEvery: 10, DecoderLRScale: 1}
			tm, err := New(be, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer tm.Free()
			const batch = 5
			n, m := cfg.Inputs, cfg.Units()
			r := rand.New(rand.NewPCG(4, 4))
			rnd := func(k int, scale, shift float64) []float32 {
				v := make([]float32, k)
				for i := range v {
					v[i] = float32(shift + scale*r.NormFloat64())
				}
				return v
			}
			params := [][]float32{rnd(m*n, 0.7, 0), rnd(m, 0.2, 0), rnd(m, 0.3, 1), rnd(n*m, 0.5, 0)}
			x := rnd(batch*n, 1, 0)
			zStar := rnd(batch*m, 0.5, 0.3)
			for i, p := range tm.Params() {
				be.Upload(p.Value, params[i])
			}
			mw, err := tm.NewWork(batch)
			if err != nil {
				t.Fatal(err)
			}
			defer mw.Free()
			w := mw.(*work)
			be.Upload(w.x, x)
			tm.encode(w)
			if predictive {
				be.Upload(w.z, zStar) // a fixed optimal code: the solver is tested in package model
			}
			tm.decode(w)
			if err := model.AllocGrads(be, tm.Params()); err != nil {
				t.Fatal(err)
			}
			tm.Backward(w, 0)

			ref := &topoRef{n: n, m: m, we: modeltest.F64(params[0]), b: modeltest.F64(params[1]), g: modeltest.F64(params[2]), d: modeltest.F64(params[3]),
				layout: tm.Layout, lambda: cfg.Lambda, eps: cfg.Eps, alpha: cfg.Alpha, zStar: modeltest.F64(zStar),
				predictive: predictive, x: modeltest.F64(x), batch: batch, minMargin: math.Inf(1)}
			const h = 1e-6
			for pi, param := range tm.Params() {
				name := param.Name
				got := modeltest.Download(t, be, param.Grad)
				p := [][]float64{ref.we, ref.b, ref.g, ref.d}[pi]
				ref.encoderLossOnly = pi < 3
				var errSq, refSq float64
				for i := range p {
					old := p[i]
					p[i] = old + h
					up := ref.loss()
					p[i] = old - h
					down := ref.loss()
					p[i] = old
					fd := (up - down) / (2 * h)
					errSq += (float64(got[i]) - fd) * (float64(got[i]) - fd)
					refSq += fd * fd
				}
				rel := math.Sqrt(errSq / math.Max(refSq, 1e-30))
				t.Logf("%s: ‖∇‖ = %.4g, relative error %.2g", name, math.Sqrt(refSq), rel)
				if refSq == 0 {
					t.Errorf("%s: the reference gradient is zero; the test checks nothing", name)
				}
				if rel > 1e-4 {
					t.Errorf("%s: gradient differs from finite differences by %.3g (relative)", name, rel)
				}
			}
			if ref.minMargin < 100*h {
				t.Fatalf("a pre-activation is %.3g from the ReLU's kink; finite differences are not valid there: change the seed", ref.minMargin)
			}
		})
	}
}

// TestTopoNormalizeDecoder: every column of D has unit norm afterwards, and its direction is kept.
func TestTopoNormalizeDecoder(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := DefaultConfig()
	cfg.MapH, cfg.MapW, cfg.Window = 6, 7, 3
	tm, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Free()
	n, m := cfg.Inputs, cfg.Units()
	r := rand.New(rand.NewPCG(5, 5))
	d := make([]float32, n*m)
	for i := range d {
		d[i] = float32(3 * r.NormFloat64())
	}
	be.Upload(tm.d.Value, d)
	tm.d.Project(tm.d.Value)
	got := modeltest.Download(t, be, tm.d.Value)
	for j := range m {
		var s, s0 float64
		for i := range n {
			s += float64(got[i*m+j]) * float64(got[i*m+j])
			s0 += float64(d[i*m+j]) * float64(d[i*m+j])
		}
		if math.Abs(math.Sqrt(s)-1) > 1e-5 {
			t.Fatalf("column %d has norm %.7f", j, math.Sqrt(s))
		}
		for i := range n {
			if want := float64(d[i*m+j]) / math.Sqrt(s0); math.Abs(float64(got[i*m+j])-want) > 1e-5 {
				t.Fatalf("D[%d,%d] = %g, want %g", i, j, got[i*m+j], want)
			}
		}
	}
}

func TestFilterSimilarity(t *testing.T) {
	// One row of four units: filters A, A, B, B with A ⊥ B. Torus neighbour pairs (0,1) (1,2)
	// (2,3) (3,0) have |cos| 1, 0, 1, 0; the six pairs of units have two with |cos| 1.
	d := []float32{ // [n=2, m=4]
		1, -1, 0, 0,
		0, 0, 2, 1,
	}
	s := FilterSimilarity(d, 2, 1, 4)
	if math.Abs(s.Neighbour-0.5) > 1e-12 || math.Abs(s.Random-1.0/3) > 1e-12 || math.Abs(s.Ratio-1.5) > 1e-9 {
		t.Errorf("got %+v, want neighbour 1/2, random 1/3, ratio 3/2", s)
	}
}

func TestShiftSensitivity(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	const n, dim = 20000, 3
	a := make([]float32, n*dim)
	b := make([]float32, n*dim)
	for i := range a {
		a[i] = float32(r.NormFloat64())
		b[i] = float32(r.NormFloat64())
	}
	if s := ShiftSensitivity(a, a, dim); s != 0 {
		t.Errorf("identical responses: %g, want 0", s)
	}
	if s := ShiftSensitivity(a, b, dim); math.Abs(s-1) > 0.03 {
		t.Errorf("independent responses: %g, want ≈ 1", s)
	}
}

// topoPatches caches natural patches for the training tests.
var topoPatches = sync.OnceValues(func() (*data.PatchSource, error) {
	imgs, err := data.NaturalImages()
	return data.NewPatchSource(imgs, 12, 4), err
})

// topoChecks lists what a topographic map trained on natural patches must show:
//   - decoder filters of map neighbours are more alike (mean |cos|) than those of random pairs,
//     by a factor of 1.5;
//   - under a shift of one pixel, the response pattern of the pools changes much less than that of
//     single units (< 0.7×), and less than that of pools scattered at random over the map (< 0.75×),
//     so the invariance is the map's doing, not averaging's; under two pixels, < 0.85× the units'.
func topoChecks(sim MapSimilarity, one, two ShiftReport) []string {
	var bad []string
	if !(sim.Ratio > 1.5) {
		bad = append(bad, fmt.Sprintf("neighbour/random |cos| ratio %.3f ≤ 1.5", sim.Ratio))
	}
	if !(one.Pools < 0.7*one.Units) {
		bad = append(bad, fmt.Sprintf("1 px: pools %.3f not < 0.7 × units %.3f", one.Pools, one.Units))
	}
	if !(one.Pools < 0.75*one.Scattered) {
		bad = append(bad, fmt.Sprintf("1 px: pools %.3f not < 0.75 × scattered pools %.3f", one.Pools, one.Scattered))
	}
	if !(two.Pools < 0.85*two.Units) {
		bad = append(bad, fmt.Sprintf("2 px: pools %.3f not < 0.85 × units %.3f", two.Pools, two.Units))
	}
	return bad
}

// trainTopo trains tm on x for epochs with the default schedule and returns the last
// epoch's training loss terms.
func trainTopo(t *testing.T, tm *Topo, x []float32, epochs int) model.Sums {
	t.Helper()
	tc := DefaultTrainConfig()
	tc.Epochs = epochs
	tr, err := model.NewTrainer(tm, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Free()
	var last model.Sums
	tr.OnEpoch = func(e model.Epoch) error { last = e.Train; return nil }
	if err := tr.Run(context.Background(), &model.Samples{Name: "patches", X: x, Dim: tm.cfg.Inputs}, nil); err != nil {
		t.Fatal(err)
	}
	return last
}

// trainTopoBriefly trains cfg on 10,000 natural patches for a few epochs and measures the map.
func trainTopoBriefly(t *testing.T, be kernels.Backend, cfg Config, epochs int) (MapSimilarity, ShiftReport, ShiftReport) {
	t.Helper()
	src, err := topoPatches()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Free()
	if err := tm.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	loss := trainTopo(t, tm, src.Random(10000, 7), epochs)
	sim, err := tm.DecoderSimilarity()
	if err != nil {
		t.Fatal(err)
	}
	one, err := tm.ShiftInvariance(src, 1, 2000, 11)
	if err != nil {
		t.Fatal(err)
	}
	two, err := tm.ShiftInvariance(src, 2, 2000, 11)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s λ=%g scatter=%d: last epoch %v", cfg.Pools, cfg.Lambda, cfg.Scatter, loss.Metrics(""))
	t.Logf("  |cos| neighbours %.3f, random pairs %.3f, ratio %.2f", sim.Neighbour, sim.Random, sim.Ratio)
	for _, r := range []ShiftReport{one, two} {
		t.Logf("  shift %d px: pattern change units %.3f, pools %.3f, scattered pools %.3f; raw units %.3f, raw pools %.3f",
			r.Shift, r.Units, r.Pools, r.Scattered, r.RawUnits, r.RawPools)
	}
	return sim, one, two
}

// TestTopoMapEmerges trains the default topographic auto-encoder briefly on natural image
// patches and checks topoChecks. Without -short it also trains two broken models, λ = 0 and
// disjoint groups scattered over the map, and checks that each fails topoChecks: the margins are
// the ones a map without topography does not meet.
func TestTopoMapEmerges(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := DefaultConfig()
	sim, one, two := trainTopoBriefly(t, be, cfg, 3)
	if bad := topoChecks(sim, one, two); len(bad) > 0 {
		t.Errorf("the trained map fails: %v", bad)
	}
	if testing.Short() {
		return
	}
	noSparsity := cfg
	noSparsity.Lambda = 0
	scattered := cfg
	scattered.Pools, scattered.Group, scattered.Scatter = PoolsDisjoint, 4, 5
	for name, c := range map[string]Config{"lambda=0": noSparsity, "scattered-groups": scattered} {
		t.Run(name, func(t *testing.T) {
			sim, one, two := trainTopoBriefly(t, be, c, 3)
			bad := topoChecks(sim, one, two)
			if len(bad) == 0 {
				t.Errorf("a broken model passes the map checks; their margins are too loose")
			}
			t.Logf("fails as it should: %v", bad)
		})
	}
}

// TestTopoPredictive trains the predictive variant briefly: the optimal codes reconstruct
// better than at the start, the encoder learns to predict them, and the map organizes.
func TestTopoPredictive(t *testing.T) {
	be := modeltest.Backend(t)
	src, err := topoPatches()
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Predictive, cfg.InferIters = true, 10
	tm, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Free()
	if err := tm.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	x := src.Random(6000, 8)
	held := &model.Samples{Name: "held-out", X: src.Random(512, 9), Dim: cfg.Inputs}
	works := model.NewWorks(tm)
	defer works.Free()
	evaluate := func() (loss, recon, pred float64) {
		s, err := model.Evaluate(tm, works, held, 256, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s.Mean("loss"), s.Mean("recon"), s.Mean("pred_err")
	}
	before, beforeRecon, beforePred := evaluate()
	trainTopo(t, tm, x, 2)
	after, afterRecon, afterPred := evaluate()
	sim, err := tm.DecoderSimilarity()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out energy %.3f → %.3f (recon %.3f → %.3f), prediction error %.3f → %.3f, |cos| ratio %.2f",
		before, after, beforeRecon, afterRecon, beforePred, afterPred, sim.Ratio)
	if !(after < 0.9*before) {
		t.Errorf("held-out energy %.4g → %.4g: did not fall by 10%%", before, after)
	}
	if !(afterPred < 0.5*beforePred) {
		t.Errorf("prediction error %.4g → %.4g: did not halve", beforePred, afterPred)
	}
	if !(sim.Ratio > 1.3) {
		t.Errorf("neighbour/random |cos| ratio %.3f ≤ 1.3", sim.Ratio)
	}
}

// TestTopoResume: topographic training resumes exactly from a checkpoint, for the auto-encoder
// and for the predictive model (its solver's step size and warm start are state).
func TestTopoResume(t *testing.T) {
	be := modeltest.Backend(t)
	src, err := topoPatches()
	if err != nil {
		t.Fatal(err)
	}
	train := &model.Samples{Name: "patches", X: src.Random(600, 3), Dim: 144}
	for _, predictive := range []bool{false, true} {
		t.Run(fmt.Sprintf("predictive=%v", predictive), func(t *testing.T) {
			tc := DefaultTrainConfig()
			tc.Epochs = 3
			traintest.Resume(t, func() model.Module {
				cfg := DefaultConfig()
				cfg.MapH, cfg.MapW, cfg.Predictive, cfg.InferIters, cfg.LipschitzEvery = 6, 6, predictive, 5, 4
				tm, err := New(be, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := tm.Init(nil, 2); err != nil {
					t.Fatal(err)
				}
				return tm
			}, tc, train, nil, 2)
		})
	}
}

// TestTopoLayouts: scattering keeps every pool's size and weights and moves its members.
func TestTopoLayouts(t *testing.T) {
	cfg := DefaultConfig()
	plain, err := cfg.Layout()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scatter = 7
	sc, err := cfg.Layout()
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for j := range plain.NumPools() {
		a, wa := plain.Pool(j)
		b, wb := sc.Pool(j)
		if len(a) != len(b) {
			t.Fatalf("pool %d: %d members, scattered %d", j, len(a), len(b))
		}
		for k := range a {
			if wa[k] != wb[k] {
				t.Fatalf("pool %d: weights changed", j)
			}
			if a[k] != b[k] {
				moved++
			}
		}
	}
	if moved < len(plain.Index)/2 {
		t.Errorf("only %d of %d members moved", moved, len(plain.Index))
	}
	tree := Config{Inputs: 16, MapH: 3, MapW: 5, Pools: PoolsTree, Branch: 2, Lambda: 1, Eps: 1e-4, DecoderLRScale: 1}
	l, err := tree.Layout()
	if err != nil {
		t.Fatal(err)
	}
	// Node 14 in heap order with branch 2: 14 → 6 → 2 → 0.
	if idx, _ := l.Pool(14); fmt.Sprint(idx) != "[14 6 2 0]" {
		t.Errorf("tree pool of node 14: %v, want [14 6 2 0]", idx)
	}
	bad := DefaultConfig()
	bad.Pools = "hexagonal"
	if err := bad.Validate(); err == nil {
		t.Error("an unknown pool layout validated")
	}
}
