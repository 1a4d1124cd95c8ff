package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
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

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// TestTopoGradients checks Backward against central differences of the float64 reference, for
// all four parameters, on a 2×2-pixel, 3×3-unit torus with overlapping Gaussian pools: the
// auto-encoder's full loss, and the predictive model's decoder and encoder losses.
func TestTopoGradients(t *testing.T) {
	for _, predictive := range []bool{false, true} {
		t.Run(fmt.Sprintf("predictive=%v", predictive), func(t *testing.T) {
			be := groupBackend(t)
			cfg := model.TopoConfig{Patch: 2, MapH: 3, MapW: 3, Pools: model.PoolsTorus, Window: 2, Stride: 1, Sigma: 1,
				Lambda: 0.3, Eps: 1e-2, Predictive: predictive, Alpha: 0.7, InferIters: 5}
			tm, err := model.NewTopo(be, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer tm.Free()
			const batch = 5
			n, m := cfg.Inputs(), cfg.Units()
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
				be.Upload(p, params[i])
			}
			w, err := tm.Batch(batch)
			if err != nil {
				t.Fatal(err)
			}
			be.Upload(w.X, x)
			tm.Encode(w)
			if predictive {
				be.Upload(w.Z, zStar)
			}
			tm.Forward(w)
			g, err := tm.NewGrads()
			if err != nil {
				t.Fatal(err)
			}
			defer g.Free(be)
			tm.Backward(w, g)

			ref := &topoRef{n: n, m: m, we: to64(params[0]), b: to64(params[1]), g: to64(params[2]), d: to64(params[3]),
				layout: tm.Layout, lambda: cfg.Lambda, eps: cfg.Eps, alpha: cfg.Alpha, zStar: to64(zStar),
				predictive: predictive, x: to64(x), batch: batch, minMargin: math.Inf(1)}
			const h = 1e-6
			for pi, name := range model.TopoParams {
				got := groupHost(t, be, g.List()[pi])
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
	be := groupBackend(t)
	cfg := model.DefaultTopoConfig()
	cfg.MapH, cfg.MapW, cfg.Window = 6, 7, 3
	tm, err := model.NewTopo(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Free()
	n, m := cfg.Inputs(), cfg.Units()
	r := rand.New(rand.NewPCG(5, 5))
	d := make([]float32, n*m)
	for i := range d {
		d[i] = float32(3 * r.NormFloat64())
	}
	be.Upload(tm.D, d)
	tm.NormalizeDecoder()
	got := groupHost(t, be, tm.D)
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
	s := model.FilterSimilarity(d, 2, 1, 4)
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
	if s := model.ShiftSensitivity(a, a, dim); s != 0 {
		t.Errorf("identical responses: %g, want 0", s)
	}
	if s := model.ShiftSensitivity(a, b, dim); math.Abs(s-1) > 0.03 {
		t.Errorf("independent responses: %g, want ≈ 1", s)
	}
}

// topoPatches caches natural patches for the training tests.
var topoPatches = sync.OnceValues(func() (*model.PatchSource, error) {
	return model.NaturalPatchSource(model.DefaultTopoConfig())
})

// topoChecks lists what a topographic map trained on natural patches must show:
//   - decoder filters of map neighbours are more alike (mean |cos|) than those of random pairs,
//     by a factor of 1.5;
//   - under a shift of one pixel, the response pattern of the pools changes much less than that of
//     single units (< 0.7×), and less than that of pools scattered at random over the map (< 0.75×),
//     so the invariance is the map's doing, not averaging's; under two pixels, < 0.85× the units'.
func topoChecks(sim model.MapSimilarity, one, two model.ShiftReport) []string {
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

// trainTopoBriefly trains cfg on 10,000 natural patches for 3 epochs and measures the map.
func trainTopoBriefly(t *testing.T, be kernels.Backend, cfg model.TopoConfig, epochs int) (model.MapSimilarity, model.ShiftReport, model.ShiftReport, model.TopoLoss) {
	t.Helper()
	src, err := topoPatches()
	if err != nil {
		t.Fatal(err)
	}
	x := src.Random(10000, 7)
	tm, err := model.NewTopo(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Free()
	tm.Init(1)
	opt := model.DefaultTopoTrainOptions()
	opt.Epochs = epochs
	var first, last float64
	loss, err := tm.Train(x, opt, func(p model.Progress) {
		if l, ok := p.Metric("recon"); ok && !p.EndOfEpoch {
			if first == 0 {
				first = l
			}
			last = l
		}
	})
	if err != nil {
		t.Fatal(err)
	}
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
	t.Logf("%s λ=%g scatter=%d: recon %.3f → %.3f, active %.3f", cfg.Pools, cfg.Lambda, cfg.Scatter, first, last, loss.Active)
	t.Logf("  |cos| neighbours %.3f, random pairs %.3f, ratio %.2f", sim.Neighbour, sim.Random, sim.Ratio)
	for _, r := range []model.ShiftReport{one, two} {
		t.Logf("  shift %d px: pattern change units %.3f, pools %.3f, scattered pools %.3f; raw units %.3f, raw pools %.3f",
			r.Shift, r.Units, r.Pools, r.Scattered, r.RawUnits, r.RawPools)
	}
	return sim, one, two, loss
}

// TestTopoMapEmerges trains the default topographic auto-encoder briefly on natural image
// patches and checks topoChecks. Without -short it also trains two broken models, λ = 0 and
// disjoint groups scattered over the map, and checks that each fails topoChecks: the margins are
// the ones a map without topography does not meet.
func TestTopoMapEmerges(t *testing.T) {
	be := groupBackend(t)
	cfg := model.DefaultTopoConfig()
	sim, one, two, _ := trainTopoBriefly(t, be, cfg, 3)
	if bad := topoChecks(sim, one, two); len(bad) > 0 {
		t.Errorf("the trained map fails: %v", bad)
	}
	if testing.Short() {
		return
	}
	noSparsity := cfg
	noSparsity.Lambda = 0
	scattered := cfg
	scattered.Pools, scattered.Group, scattered.Scatter = model.PoolsDisjoint, 4, 5
	for name, c := range map[string]model.TopoConfig{"lambda=0": noSparsity, "scattered-groups": scattered} {
		t.Run(name, func(t *testing.T) {
			sim, one, two, _ := trainTopoBriefly(t, be, c, 3)
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
	be := groupBackend(t)
	src, err := topoPatches()
	if err != nil {
		t.Fatal(err)
	}
	cfg := model.DefaultTopoConfig()
	cfg.Predictive, cfg.InferIters = true, 10
	tm, err := model.NewTopo(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Free()
	tm.Init(1)
	x := src.Random(6000, 8)
	held := src.Random(512, 9)
	before, err := tm.Evaluate(held, 256)
	if err != nil {
		t.Fatal(err)
	}
	opt := model.DefaultTopoTrainOptions()
	opt.Epochs = 2
	if _, err := tm.Train(x, opt, nil); err != nil {
		t.Fatal(err)
	}
	after, err := tm.Evaluate(held, 256)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := tm.DecoderSimilarity()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out energy %.3f → %.3f (recon %.3f → %.3f), prediction error %.3f → %.3f, |cos| ratio %.2f",
		before.Loss(cfg.Lambda), after.Loss(cfg.Lambda), before.Recon, after.Recon, before.PredErr, after.PredErr, sim.Ratio)
	if !(after.Loss(cfg.Lambda) < 0.9*before.Loss(cfg.Lambda)) {
		t.Errorf("held-out energy %.4g → %.4g: did not fall by 10%%", before.Loss(cfg.Lambda), after.Loss(cfg.Lambda))
	}
	if !(after.PredErr < 0.5*before.PredErr) {
		t.Errorf("prediction error %.4g → %.4g: did not halve", before.PredErr, after.PredErr)
	}
	if !(sim.Ratio > 1.3) {
		t.Errorf("neighbour/random |cos| ratio %.3f ≤ 1.3", sim.Ratio)
	}
}

// TestTopoSaveLoad: a saved model loads with the same config and gives the same responses.
func TestTopoSaveLoad(t *testing.T) {
	be := groupBackend(t)
	cfg := model.DefaultTopoConfig()
	cfg.Pools, cfg.Group, cfg.Scatter = model.PoolsDisjoint, 4, 3
	tm, err := model.NewTopo(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Free()
	tm.Init(2)
	be.Fill(tm.B, 0.1)
	path := filepath.Join(t.TempDir(), "topo.safetensors")
	if err := tm.Save(path, map[string]string{"note": "test"}); err != nil {
		t.Fatal(err)
	}
	back, err := model.LoadTopo(be, path)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Free()
	if back.Config != cfg {
		t.Fatalf("config %+v, want %+v", back.Config, cfg)
	}
	x := newGroupProblem(cfg.Inputs(), 1, 7, 3).x
	z0, p0, err := tm.Responses(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	z1, p1, err := back.Responses(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range z0 {
		if z0[i] != z1[i] {
			t.Fatalf("code %d: %g vs %g", i, z0[i], z1[i])
		}
	}
	for i := range p0 {
		if p0[i] != p1[i] {
			t.Fatalf("pool response %d: %g vs %g", i, p0[i], p1[i])
		}
	}
	if _, err := model.LoadTopo(be, filepath.Join(t.TempDir(), "missing.safetensors")); err == nil {
		t.Error("loading a missing model succeeded")
	}
}

// TestTopoLayouts: scattering keeps every pool's size and weights and moves its members.
func TestTopoLayouts(t *testing.T) {
	cfg := model.DefaultTopoConfig()
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
	tree := model.TopoConfig{Patch: 4, MapH: 3, MapW: 5, Pools: model.PoolsTree, Branch: 2, Lambda: 1, Eps: 1e-4}
	l, err := tree.Layout()
	if err != nil {
		t.Fatal(err)
	}
	// Node 14 in heap order with branch 2: 14 → 6 → 2 → 0.
	if idx, _ := l.Pool(14); fmt.Sprint(idx) != "[14 6 2 0]" {
		t.Errorf("tree pool of node 14: %v, want [14 6 2 0]", idx)
	}
	bad := model.DefaultTopoConfig()
	bad.Pools = "hexagonal"
	if err := bad.Validate(); err == nil {
		t.Error("an unknown pool layout validated")
	}
}
