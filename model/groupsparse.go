package model

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// Group-sparse coding (the group lasso) with a fixed pool layout:
//
//	min_z  ½‖x − D z‖² + α/2·‖z − p‖² + λ Σ_j √(ε + Σ_{i∈P_j} w_ji z_i²)    (z ≥ 0 if NonNegative)
//
// x [n], z [m], D [n,m]; P_j are the pools of a kernels.PoolLayout with weights w. The α term
// pulls the code towards a prediction p (the encoder's output in predictive sparse
// decomposition, Kavukcuoglu, Ranzato, Fergus & LeCun, CVPR 2009); α = 0 gives the plain group
// lasso. Two solvers:
//
//   - GroupBlockFISTA, for disjoint pools with equal weights c (ε is ignored, the penalty is
//     exactly λ√c·Σ_j ‖z_{P_j}‖₂): FISTA (Beck & Teboulle 2009) whose proximal step is the block
//     soft threshold v_G ↦ max(0, 1 − τ/‖v_G‖)·v_G, τ = λ√c/L. Units in no pool are not penalized.
//   - GroupSmoothedMM, for any layout (overlapping topographic windows, Gaussian weights, tree
//     paths): a majorize–minimize proximal-gradient scheme on the smoothed penalty. The square
//     root is concave, so at the current z the penalty is majorized by the separable quadratic
//     ½·Σ_i c_i z_i² + const with c_i = λ Σ_{j∋i} w_ji / √(ε + Σ_{k∈P_j} w_jk z_k²), and the
//     smooth part by its quadratic bound with step 1/L. Minimizing the sum of both bounds is
//     z ← v·L/(L + c) with v = z − ∇f(z)/L (v clipped at 0 when NonNegative): every step lowers
//     the smoothed objective, whatever the stiffness λ/√ε, unlike a plain gradient step.
//
// L is the Lipschitz constant of the smooth part's gradient, λ_max(DᵀD) + α, found by power
// iteration (UpdateLipschitz) — the only host round trip, done when D changes, not per step.

// GroupSparseMethod picks the solver of a GroupSparse.
type GroupSparseMethod int

const (
	// GroupAuto: GroupBlockFISTA when the pools are disjoint with equal weights, else
	// GroupSmoothedMM.
	GroupAuto GroupSparseMethod = iota
	// GroupBlockFISTA: FISTA with the block soft threshold (disjoint, equally weighted pools).
	GroupBlockFISTA
	// GroupSmoothedMM: majorize–minimize proximal gradient on the smoothed penalty (any pools).
	GroupSmoothedMM
)

func (m GroupSparseMethod) String() string {
	switch m {
	case GroupAuto:
		return "auto"
	case GroupBlockFISTA:
		return "block-fista"
	case GroupSmoothedMM:
		return "smoothed-mm"
	}
	return fmt.Sprintf("GroupSparseMethod(%d)", int(m))
}

// DefaultGroupEps is the smoothing ε inside √(ε + Σ w z²), as in the DrSAE author's code.
const DefaultGroupEps = 1e-4

// GroupSparseOptions are the problem's constants and the solver's settings.
type GroupSparseOptions struct {
	Lambda      float32 // λ ≥ 0, the weight of the group penalty
	Eps         float32 // ε ≥ 0 of the smoothed penalty (GroupSmoothedMM; > 0 needed there)
	Alpha       float32 // α ≥ 0, the weight of α/2·‖z − p‖² (needs a prior in Solve)
	NonNegative bool    // constrain z ≥ 0
	Iters       int     // iterations per Solve
	Method      GroupSparseMethod
}

// GroupSparse solves group-lasso problems for a batch of inputs with one dictionary on one
// backend. It keeps its workspaces (one set per batch size) between calls; Free releases them.
// D and the pools are borrowed: the caller keeps them alive and frees them.
type GroupSparse struct {
	be     kernels.Backend
	d      kernels.Tensor // [n,m], borrowed
	pools  kernels.Pools  // borrowed
	layout *kernels.PoolLayout
	opt    GroupSparseOptions
	method GroupSparseMethod
	n, m   int
	wscale float32 // √c for BlockFISTA (the common pool weight)
	lip    float32 // λ_max(DᵀD), without α

	power *PowerIteration
	zeroM kernels.Tensor // [m] zeros (threshold of the z ≥ 0 clip)
	oneM  kernels.Tensor // [m] ones
	work  *Cache[*groupWork]
}

// groupWork holds the per-batch-size workspaces.
type groupWork struct {
	y, zPrev, v kernels.Tensor // [B,m]
	r           kernels.Tensor // [B,n]
	// GroupSmoothedMM only:
	norms, dyLam kernels.Tensor // [B,P]
	c, ones      kernels.Tensor // [B,m]
	lamFilled    float32        // the value dyLam holds
}

// NewGroupSparse prepares a solver for dictionary d [n,m] and device pools over m units, and
// estimates L with UpdateLipschitz. It returns an error for bad options, a method that does not
// fit the layout, or a device failure.
func NewGroupSparse(be kernels.Backend, d kernels.Tensor, pools kernels.Pools, opt GroupSparseOptions) (*GroupSparse, error) {
	s := d.Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("model: group sparse: dictionary has shape %v, want [n,m]", s)
	}
	layout := pools.Layout()
	if layout.Units != s[1] {
		return nil, fmt.Errorf("model: group sparse: dictionary has %d atoms, pools are over %d units", s[1], layout.Units)
	}
	if !(opt.Lambda >= 0) || !(opt.Alpha >= 0) || !(opt.Eps >= 0) || opt.Iters < 0 {
		return nil, fmt.Errorf("model: group sparse: λ=%v, α=%v, ε=%v, %d iterations: want λ, α, ε ≥ 0 and iterations ≥ 0", opt.Lambda, opt.Alpha, opt.Eps, opt.Iters)
	}
	gs := &GroupSparse{be: be, d: d, pools: pools, layout: layout, opt: opt, n: s[0], m: s[1]}
	gs.work = NewCache(gs.newWork, gs.freeWork)
	c, equal := commonWeight(layout)
	blockOK := layout.Disjoint && equal
	switch opt.Method {
	case GroupAuto:
		gs.method = GroupSmoothedMM
		if blockOK {
			gs.method = GroupBlockFISTA
		}
	case GroupBlockFISTA:
		if !blockOK {
			return nil, fmt.Errorf("model: group sparse: block FISTA needs disjoint pools with equal weights (the block soft threshold is the prox only there); use the smoothed method")
		}
		gs.method = GroupBlockFISTA
	case GroupSmoothedMM:
		gs.method = GroupSmoothedMM
	default:
		return nil, fmt.Errorf("model: group sparse: unknown method %v", opt.Method)
	}
	if gs.method == GroupSmoothedMM && opt.Eps <= 0 && opt.Lambda > 0 {
		return nil, fmt.Errorf("model: group sparse: the smoothed method needs ε > 0 (try %g)", DefaultGroupEps)
	}
	gs.wscale = float32(math.Sqrt(float64(c)))
	ts, err := NewTensors(be, []int{gs.m}, []int{gs.m})
	if err == nil {
		gs.zeroM, gs.oneM = ts[0], ts[1]
		gs.power, err = NewPowerIteration(be, gs.m, 1)
	}
	if err != nil {
		gs.Free()
		return nil, fmt.Errorf("model: group sparse: %w", err)
	}
	be.Fill(gs.oneM, 1)
	if _, err := gs.UpdateLipschitz(100); err != nil {
		gs.Free()
		return nil, err
	}
	return gs, nil
}

// commonWeight returns the weight every member of every pool has, and whether there is one.
func commonWeight(l *kernels.PoolLayout) (float32, bool) {
	if len(l.Weight) == 0 {
		return 1, true
	}
	c := l.Weight[0]
	for _, w := range l.Weight {
		if w != c {
			return 1, false
		}
	}
	return c, true
}

// Method returns the solver in use (never GroupAuto).
func (s *GroupSparse) Method() GroupSparseMethod { return s.method }

// UseDictionary makes the solver use d, of the same shape as its dictionary so far (its step
// size is kept: call UpdateLipschitz when d differs much).
func (s *GroupSparse) UseDictionary(d kernels.Tensor) {
	kernels.CheckShape("model.GroupSparse.UseDictionary", "D", d, s.n, s.m)
	s.d = d
}

// PowerVector is the warm-start vector of the solver's power iteration (state a checkpoint keeps).
func (s *GroupSparse) PowerVector() kernels.Tensor { return s.power.Vector() }

// DictionaryLipschitz is the current estimate of λ_max(DᵀD), without α and as SetLipschitz takes it.
func (s *GroupSparse) DictionaryLipschitz() float32 { return s.lip }

// SetLipschitz sets the estimate of λ_max(DᵀD) (without α), for a caller that keeps its own
// power iteration.
func (s *GroupSparse) SetLipschitz(l float32) { s.lip = l }

// Lipschitz returns L = λ_max(DᵀD) + α, the inverse step size.
func (s *GroupSparse) Lipschitz() float32 { return s.lip + s.opt.Alpha }

// UpdateLipschitz re-estimates λ_max(DᵀD) by at most iters steps of the power iteration
// (PowerIteration), warm-started from the last estimate's vector, so that after a small change
// of D a few steps suffice. The estimate approaches λ_max from below, so it is raised by 1% to
// keep the step 1/L safe. It downloads a few numbers: call it after D changes, not per step.
func (s *GroupSparse) UpdateLipschitz(iters int) (float32, error) {
	l, _, err := s.power.Run(s.d, max(iters, 1), 1e-5)
	if err != nil {
		return 0, fmt.Errorf("model: group sparse: power iteration: %w", err)
	}
	if !(l >= 0) || math.IsInf(l, 0) {
		return 0, fmt.Errorf("model: group sparse: power iteration gave λ_max(DᵀD) = %v; is the dictionary finite?", l)
	}
	s.lip = float32(1.01*l) + 1e-12
	return s.lip, nil
}

// newWork allocates the workspaces for batches of b samples.
func (s *GroupSparse) newWork(b int) (*groupWork, error) {
	shapes := [][]int{{b, s.m}, {b, s.m}, {b, s.m}, {b, s.n}}
	if s.method == GroupSmoothedMM {
		p := s.layout.NumPools()
		shapes = append(shapes, []int{b, p}, []int{b, p}, []int{b, s.m}, []int{b, s.m})
	}
	ts, err := NewTensors(s.be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("model: group sparse: %w", err)
	}
	w := &groupWork{y: ts[0], zPrev: ts[1], v: ts[2], r: ts[3], lamFilled: float32(math.NaN())}
	if s.method == GroupSmoothedMM {
		w.norms, w.dyLam, w.c, w.ones = ts[4], ts[5], ts[6], ts[7]
		s.be.Fill(w.ones, 1)
	}
	return w, nil
}

func (s *GroupSparse) freeWork(w *groupWork) {
	FreeTensors(s.be, w.y, w.zPrev, w.v, w.r, w.norms, w.dyLam, w.c, w.ones)
}

// Solve runs Iters iterations from the code in z [B,m] (a warm start; zeros for a cold one) and
// leaves the result in z. x is [B,n]; prior [B,m] is the p of the α term and must be given when
// α > 0 (it may be nil otherwise). It returns an error only if a workspace cannot be allocated.
func (s *GroupSparse) Solve(z, x, prior kernels.Tensor) error {
	b, m := kernels.Dims2(z)
	if m != s.m {
		panic(fmt.Sprintf("model: GroupSparse.Solve: z is %v, want [B,%d]", z.Shape(), s.m))
	}
	if rb, n := kernels.Dims2(x); rb != b || n != s.n {
		panic(fmt.Sprintf("model: GroupSparse.Solve: x is %v, z is %v, want x [%d,%d]", x.Shape(), z.Shape(), b, s.n))
	}
	if s.opt.Alpha > 0 && prior == nil {
		panic("model: GroupSparse.Solve: α > 0 needs a prior")
	}
	if prior != nil && prior.Len() != z.Len() {
		panic(fmt.Sprintf("model: GroupSparse.Solve: prior is %v, z is %v", prior.Shape(), z.Shape()))
	}
	w, err := s.work.Get(b)
	if err != nil {
		return err
	}
	if s.method == GroupBlockFISTA {
		s.fista(w, z, x, prior)
	} else {
		s.smoothedMM(w, z, x, prior)
	}
	return nil
}

// gradStep writes v = at − ∇f(at)/L, f(z) = ½‖x − D z‖² + α/2‖z − p‖², clipped at 0 when
// NonNegative.
func (s *GroupSparse) gradStep(w *groupWork, v, at, x, prior kernels.Tensor) {
	be, L := s.be, s.Lipschitz()
	be.Copy(w.r, x)
	be.Gemm(false, true, 1, at, s.d, -1, w.r) // r = at·Dᵀ − x      [B,n]
	be.Copy(v, at)
	be.Gemm(false, false, -1/L, w.r, s.d, 1, v) // v = at − r·D/L   [B,m]
	if s.opt.Alpha > 0 {
		a := s.opt.Alpha / L
		be.Axpby(-a, at, 1, v)
		be.Axpby(a, prior, 1, v)
	}
	if s.opt.NonNegative {
		be.PosShrink(v, v, s.zeroM)
	}
}

// fista: y₁ = z₀, t₁ = 1; z_k = prox(y_k − ∇f(y_k)/L); t_{k+1} = (1 + √(1+4t_k²))/2;
// y_{k+1} = z_k + ((t_k − 1)/t_{k+1})(z_k − z_{k−1}).
func (s *GroupSparse) fista(w *groupWork, z, x, prior kernels.Tensor) {
	be := s.be
	tau := s.opt.Lambda * s.wscale / s.Lipschitz()
	be.Copy(w.y, z)
	be.Copy(w.zPrev, z)
	t := 1.0
	for range s.opt.Iters {
		s.gradStep(w, w.v, w.y, x, prior)
		be.BlockSoftThreshold(z, w.v, s.pools, tau)
		tNext := (1 + math.Sqrt(1+4*t*t)) / 2
		beta := float32((t - 1) / tNext)
		t = tNext
		// y = (1+β)·z − β·z_prev, then z_prev = z.
		be.Copy(w.y, z)
		be.Axpby(-beta, w.zPrev, 1+beta, w.y)
		be.Copy(w.zPrev, z)
	}
}

// smoothedMM: z ← v·L/(L + c(z)), v = z − ∇f(z)/L, c_i = λ Σ_{j∋i} w_ji/√(ε + Σ w z²).
func (s *GroupSparse) smoothedMM(w *groupWork, z, x, prior kernels.Tensor) {
	be := s.be
	lamOverL := s.opt.Lambda / s.Lipschitz()
	if w.lamFilled != lamOverL {
		be.Fill(w.dyLam, lamOverL)
		w.lamFilled = lamOverL
	}
	for range s.opt.Iters {
		s.gradStep(w, w.v, z, x, prior)
		// c/L = PoolNormsBackward with z replaced by ones: Σ_j (λ/L)·w_ji·1/norm_j.
		be.PoolNorms(w.norms, z, s.pools, s.opt.Eps)
		be.PoolNormsBackward(w.c, w.dyLam, w.ones, w.norms, s.pools)
		be.BroadcastAdd(w.c, w.c, 1, s.oneM, kernels.PerCol) // 1 + c/L
		be.Div(z, w.v, w.c)                                  // z = v/(1 + c/L)
	}
}

// Free releases the solver's workspaces (not D or the pools).
func (s *GroupSparse) Free() {
	for _, t := range []kernels.Tensor{s.zeroM, s.oneM} {
		if t != nil {
			s.be.Free(t)
		}
	}
	s.zeroM, s.oneM = nil, nil
	if s.power != nil {
		s.power.Free()
		s.power = nil
	}
	s.work.Free()
}
