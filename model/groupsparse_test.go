package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"

	"github.com/drsae/drsae/model/internal/modeltest"
)

func groupTensor(t testing.TB, be kernels.Backend, host []float32, shape ...int) kernels.Tensor {
	t.Helper()
	x, err := be.New(shape...)
	if err != nil {
		t.Fatal(err)
	}
	if host != nil {
		be.Upload(x, host)
	}
	return x
}

func groupHost(t testing.TB, be kernels.Backend, x kernels.Tensor) []float32 {
	t.Helper()
	h := make([]float32, x.Len())
	if err := be.Download(h, x); err != nil {
		t.Fatal(err)
	}
	return h
}

// groupProblem is a small group-lasso instance: D [n,m] with unit-norm random columns, x [B,n].
type groupProblem struct {
	n, m, b int
	d, x    []float32
}

func newGroupProblem(n, m, b int, seed uint64) groupProblem {
	r := rand.New(rand.NewPCG(seed, 3))
	p := groupProblem{n: n, m: m, b: b, d: make([]float32, n*m), x: make([]float32, b*n)}
	for j := range m {
		var s float64
		col := make([]float64, n)
		for i := range col {
			col[i] = r.NormFloat64()
			s += col[i] * col[i]
		}
		for i := range col {
			p.d[i*m+j] = float32(col[i] / math.Sqrt(s))
		}
	}
	for i := range p.x {
		p.x[i] = float32(r.NormFloat64())
	}
	return p
}

// negGrad returns g = Dᵀ(x − D z) − α(z − p) for sample s, in float64: minus the gradient of the
// smooth part.
func (p groupProblem) negGrad(z, prior []float32, alpha float64, s int) []float64 {
	r := make([]float64, p.n)
	for i := range p.n {
		r[i] = float64(p.x[s*p.n+i])
		for j := range p.m {
			r[i] -= float64(p.d[i*p.m+j]) * float64(z[s*p.m+j])
		}
	}
	g := make([]float64, p.m)
	for j := range p.m {
		for i := range p.n {
			g[j] += float64(p.d[i*p.m+j]) * r[i]
		}
		if alpha > 0 {
			g[j] -= alpha * (float64(z[s*p.m+j]) - float64(prior[s*p.m+j]))
		}
	}
	return g
}

func solveGroup(t *testing.T, be kernels.Backend, p groupProblem, layout *kernels.PoolLayout, opt model.GroupSparseOptions, prior []float32) ([]float32, model.GroupSparseMethod) {
	t.Helper()
	pools, err := be.NewPools(layout)
	if err != nil {
		t.Fatal(err)
	}
	defer be.FreePools(pools)
	d := groupTensor(t, be, p.d, p.n, p.m)
	x := groupTensor(t, be, p.x, p.b, p.n)
	z := groupTensor(t, be, nil, p.b, p.m)
	var pr kernels.Tensor
	if prior != nil {
		pr = groupTensor(t, be, prior, p.b, p.m)
		defer be.Free(pr)
	}
	defer be.Free(d)
	defer be.Free(x)
	defer be.Free(z)
	s, err := model.NewGroupSparse(be, d, pools, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Free()
	if err := s.Solve(z, x, pr); err != nil {
		t.Fatal(err)
	}
	return groupHost(t, be, z), s.Method()
}

// TestGroupLassoOptimality checks the block-FISTA solution against the optimality conditions of
// the group lasso min ½‖x − Dz‖² + α/2‖z − p‖² + λ√c Σ_G ‖z_G‖ (pools of equal weight c), with
// g = Dᵀ(x − Dz) − α(z − p):
//
//	z_G ≠ 0:  g_G = λ√c·z_G/‖z_G‖        (non-negative: on z_i > 0; g_i ≤ 0 where z_i = 0)
//	z_G = 0:  ‖g_G‖ ≤ λ√c                 (non-negative: ‖max(g_G, 0)‖ ≤ λ√c)
func TestGroupLassoOptimality(t *testing.T) {
	be := modeltest.Backend(t)
	const n, m, b, g = 12, 20, 4, 4
	p := newGroupProblem(n, m, b, 1)
	prior := make([]float32, b*m)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range prior {
		prior[i] = float32(r.Float64())
	}
	for _, tc := range []struct {
		name        string
		weight      float32
		alpha       float64
		nonNegative bool
	}{
		{"plain", 1, 0, false},
		{"weighted", 4, 0, false},
		{"nonnegative", 1, 0, true},
		{"predictive", 1, 0.5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members := make([][]int, m/g)
			weights := make([][]float32, m/g)
			for j := range members {
				for k := range g {
					members[j] = append(members[j], j*g+k)
					weights[j] = append(weights[j], tc.weight)
				}
			}
			layout, err := kernels.NewPoolLayout(m, members, weights)
			if err != nil {
				t.Fatal(err)
			}
			// λ between the smallest and largest ‖g_G‖ at z = 0, so that some groups stay off.
			lam := 1.2 / math.Sqrt(float64(tc.weight))
			var pr []float32
			if tc.alpha > 0 {
				pr = prior
			}
			z, method := solveGroup(t, be, p, layout, model.GroupSparseOptions{
				Lambda: float32(lam), Alpha: float32(tc.alpha), NonNegative: tc.nonNegative, Iters: 3000,
			}, pr)
			if method != model.GroupBlockFISTA {
				t.Fatalf("method %v, want block FISTA for disjoint equal-weight pools", method)
			}
			thr := lam * math.Sqrt(float64(tc.weight))
			const tol = 2e-3
			on, off := 0, 0
			for s := range b {
				grad := p.negGrad(z, pr, tc.alpha, s)
				for j := range m / g {
					var zn, gn float64
					for k := range g {
						i := j*g + k
						zn += float64(z[s*m+i]) * float64(z[s*m+i])
						gi := grad[i]
						if tc.nonNegative {
							gi = max(gi, 0)
						}
						gn += gi * gi
					}
					zn, gn = math.Sqrt(zn), math.Sqrt(gn)
					if zn == 0 {
						off++
						if gn > thr*(1+tol) {
							t.Errorf("sample %d group %d: z_G = 0 but ‖g_G‖ = %.6g > λ√c = %.6g", s, j, gn, thr)
						}
						continue
					}
					on++
					for k := range g {
						i := j*g + k
						zi := float64(z[s*m+i])
						if tc.nonNegative && zi < 0 {
							t.Fatalf("sample %d unit %d: z = %g < 0 with NonNegative", s, i, zi)
						}
						if tc.nonNegative && zi == 0 {
							if grad[i] > tol*thr {
								t.Errorf("sample %d unit %d: z_i = 0 in an active group but g_i = %.6g > 0", s, i, grad[i])
							}
							continue
						}
						if want := thr * zi / zn; math.Abs(grad[i]-want) > tol*thr {
							t.Errorf("sample %d unit %d: g_i = %.6g, want λ√c·z_i/‖z_G‖ = %.6g", s, i, grad[i], want)
						}
					}
				}
			}
			if on == 0 || off == 0 {
				t.Fatalf("%d active and %d zero groups: the test needs both; change λ", on, off)
			}
			t.Logf("%d active, %d zero groups", on, off)
		})
	}
}

// smoothedObjective is ½‖x − Dz‖² + λ Σ_j √(ε + Σ w z²), the mean over the batch.
func smoothedObjective(p groupProblem, z []float32, l *kernels.PoolLayout, lam, eps float64) float64 {
	return groupLassoObjective(p.x, p.d, z, p.n, p.m, l, lam, eps)
}

// TestGroupSmoothedMM checks the majorize–minimize solver on overlapping Gaussian pools of a
// torus: the smoothed objective never rises from one iteration to the next, and at the end its
// gradient Dᵀ(Dz − x) + λ Σ_j w_ji z_i/√(ε + Σ w z²) vanishes.
func TestGroupSmoothedMM(t *testing.T) {
	be := modeltest.Backend(t)
	layout, err := kernels.TorusPools(5, 5, 3, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	const n, b = 10, 3
	m := layout.Units
	p := newGroupProblem(n, m, b, 2)
	const lam, eps = 0.3, 1e-3
	pools, err := be.NewPools(layout)
	if err != nil {
		t.Fatal(err)
	}
	defer be.FreePools(pools)
	d := groupTensor(t, be, p.d, n, m)
	x := groupTensor(t, be, p.x, b, n)
	z := groupTensor(t, be, nil, b, m)
	s, err := model.NewGroupSparse(be, d, pools, model.GroupSparseOptions{Lambda: lam, Eps: eps, Iters: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Free()
	if s.Method() != model.GroupSmoothedMM {
		t.Fatalf("method %v for overlapping pools, want smoothed MM", s.Method())
	}
	prev := smoothedObjective(p, make([]float32, b*m), layout, lam, eps)
	first := prev
	for it := range 3000 {
		if err := s.Solve(z, x, nil); err != nil {
			t.Fatal(err)
		}
		if it%10 != 0 && it > 50 {
			continue
		}
		f := smoothedObjective(p, groupHost(t, be, z), layout, lam, eps)
		if f > prev*(1+1e-6)+1e-7 {
			t.Fatalf("iteration %d: objective rose from %.9g to %.9g", it, prev, f)
		}
		prev = f
	}
	zh := groupHost(t, be, z)
	var worst float64
	for smp := range b {
		g := p.negGrad(zh, nil, 0, smp)
		zs := zh[smp*m : (smp+1)*m]
		pen := make([]float64, m)
		for j := range layout.NumPools() {
			idx, w := layout.Pool(j)
			q := eps
			for k, i := range idx {
				q += float64(w[k]) * float64(zs[i]) * float64(zs[i])
			}
			for k, i := range idx {
				pen[i] += lam * float64(w[k]) * float64(zs[i]) / math.Sqrt(q)
			}
		}
		for i := range m {
			worst = max(worst, math.Abs(pen[i]-g[i]))
		}
	}
	t.Logf("objective %.6g → %.6g, largest gradient component %.3g", first, prev, worst)
	if worst > 2e-3 {
		t.Errorf("gradient of the smoothed objective at the solution: largest component %.3g, want < 2e-3", worst)
	}
}

// TestGroupSmoothedMatchesBlock: on disjoint pools with a tiny ε, the smoothed solver reaches
// the objective of the exact block-FISTA solution.
func TestGroupSmoothedMatchesBlock(t *testing.T) {
	be := modeltest.Backend(t)
	const n, m, b = 12, 16, 3
	layout, err := kernels.DisjointPools(m, 4)
	if err != nil {
		t.Fatal(err)
	}
	p := newGroupProblem(n, m, b, 3)
	const lam = 0.8
	zb, _ := solveGroup(t, be, p, layout, model.GroupSparseOptions{Lambda: lam, Iters: 2000}, nil)
	zs, method := solveGroup(t, be, p, layout, model.GroupSparseOptions{Lambda: lam, Eps: 1e-8, Iters: 4000, Method: model.GroupSmoothedMM}, nil)
	if method != model.GroupSmoothedMM {
		t.Fatalf("method %v", method)
	}
	fb := smoothedObjective(p, zb, layout, lam, 0)
	fs := smoothedObjective(p, zs, layout, lam, 0)
	t.Logf("block FISTA %.8g, smoothed MM %.8g", fb, fs)
	if math.Abs(fs-fb) > 1e-3*fb {
		t.Errorf("smoothed MM objective %.8g, block FISTA %.8g: differ by more than 0.1%%", fs, fb)
	}
	if fs < fb*(1-1e-4) {
		t.Errorf("smoothed MM %.8g beats the exact optimum %.8g: block FISTA has not converged", fs, fb)
	}
}

// TestGroupSparseRejects: block FISTA on overlapping pools, and the smoothed method without ε,
// are errors, not wrong answers.
func TestGroupSparseRejects(t *testing.T) {
	be := modeltest.Backend(t)
	torus, _ := kernels.TorusPools(4, 4, 2, 1, 0)
	pools, err := be.NewPools(torus)
	if err != nil {
		t.Fatal(err)
	}
	defer be.FreePools(pools)
	d := groupTensor(t, be, newGroupProblem(5, 16, 1, 1).d, 5, 16)
	defer be.Free(d)
	if _, err := model.NewGroupSparse(be, d, pools, model.GroupSparseOptions{Lambda: 1, Iters: 1, Method: model.GroupBlockFISTA}); err == nil {
		t.Error("block FISTA accepted overlapping pools")
	}
	if _, err := model.NewGroupSparse(be, d, pools, model.GroupSparseOptions{Lambda: 1, Iters: 1}); err == nil {
		t.Error("smoothed method accepted ε = 0")
	}
}

// groupPenalty returns Σ_j √(ε + Σ_{i∈P_j} w_ji z_i²) for one code z [m], in float64.
func groupPenalty(z []float32, l *kernels.PoolLayout, eps float64) float64 {
	var sum float64
	for j := range l.NumPools() {
		idx, wt := l.Pool(j)
		q := eps
		for k, i := range idx {
			v := float64(z[i])
			q += float64(wt[k]) * v * v
		}
		sum += math.Sqrt(q)
	}
	return sum
}

// groupLassoObjective returns the mean over the batch of ½‖x − D z‖² + λ·groupPenalty(z), on
// the host in float64, for x [B,n], z [B,m] and D [n,m] (row-major). It is the number a solver
// lowers; tests and reports use it.
func groupLassoObjective(x, d, z []float32, n, m int, l *kernels.PoolLayout, lambda, eps float64) float64 {
	if len(d) != n*m || len(x)%n != 0 || len(z) != len(x)/n*m {
		panic(fmt.Sprintf("groupLassoObjective: x %d, D %d, z %d values for n=%d, m=%d", len(x), len(d), len(z), n, m))
	}
	b := len(x) / n
	var sum float64
	for s := range b {
		zs := z[s*m : (s+1)*m]
		for r := range n {
			e := -float64(x[s*n+r])
			row := d[r*m : (r+1)*m]
			for i, v := range zs {
				e += float64(row[i]) * float64(v)
			}
			sum += e * e / 2
		}
		sum += lambda * groupPenalty(zs, l, eps)
	}
	return sum / float64(max(b, 1))
}
