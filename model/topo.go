package model

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
)

// TopoKind is the "model" key of a saved topographic / group-sparse auto-encoder's config.
const TopoKind = "topo"

// Pool layouts a TopoConfig can name.
const (
	PoolsTorus    = "torus"    // overlapping Window×Window windows on the MapH×MapW torus
	PoolsDisjoint = "disjoint" // consecutive groups of Group units
	PoolsTree     = "tree"     // a complete Branch-ary tree in heap order; a pool per node and its ancestors
)

// TopoConfig fixes the shape, the pools and the loss of a group-sparse auto-encoder
// (Kavukcuoglu, Ranzato, Fergus & LeCun, "Learning Invariant Features through Topographic
// Filter Maps", CVPR 2009). The JSON names are the keys of the config saved beside the weights.
type TopoConfig struct {
	Patch int `json:"patch"` // inputs are Patch×Patch image patches; n = Patch²
	MapH  int `json:"map_h"` // units sit row-major on a MapH×MapW map; m = MapH·MapW
	MapW  int `json:"map_w"`

	Pools  string  `json:"pools"`            // PoolsTorus, PoolsDisjoint or PoolsTree
	Window int     `json:"window,omitempty"` // torus: window side k
	Stride int     `json:"stride,omitempty"` // torus: window step
	Sigma  float64 `json:"sigma,omitempty"`  // torus: Gaussian weights' σ in map cells (0: flat weights)
	Group  int     `json:"group,omitempty"`  // disjoint: group size
	Branch int     `json:"branch,omitempty"` // tree: children per node
	// Scatter, when not 0, relabels the pools' members by a random permutation drawn from this
	// seed, so that a pool's units are scattered over the map. It is the control experiment:
	// the same pooling, with no relation between pools and map neighbourhoods.
	Scatter uint64 `json:"scatter,omitempty"`

	Lambda float64 `json:"lambda"` // λ, the weight of Σ_j √(ε + Σ w z²)
	Eps    float64 `json:"eps"`    // ε inside the square root

	// Predictive: the code is the optimal group-sparse code z* of ½‖x − Dz‖² + α/2‖z − F(x)‖² +
	// λ·penalty (found by GroupSparse in InferIters steps), D learns from z*, and the encoder
	// F regresses z*. Otherwise the encoder's output is the code and the whole loss is
	// minimized by back-propagation.
	Predictive bool    `json:"predictive,omitempty"`
	Alpha      float64 `json:"alpha,omitempty"`       // α of the predictive energy
	InferIters int     `json:"infer_iters,omitempty"` // solver iterations per step

	// Preprocessing of the patches, kept so that eval and encode prepare data the same way:
	// each image is locally contrast normalized with a Gaussian of LCNSigma pixels, and each
	// patch has its mean removed.
	LCNSigma float64 `json:"lcn_sigma"`
}

// DefaultTopoConfig returns a 16×16 torus of units over 12×12 patches with overlapping 5×5
// Gaussian pools (σ = 1.5 cells) at stride 1, the layout of Kavukcuoglu et al.'s topographic
// maps scaled to a run of a minute on a CPU.
func DefaultTopoConfig() TopoConfig {
	return TopoConfig{Patch: 12, MapH: 16, MapW: 16, Pools: PoolsTorus, Window: 5, Stride: 1, Sigma: 1.5,
		Lambda: 0.5, Eps: DefaultGroupEps, Alpha: 1, InferIters: 30, LCNSigma: 4}
}

// Inputs is n = Patch².
func (c TopoConfig) Inputs() int { return c.Patch * c.Patch }

// Units is m = MapH·MapW.
func (c TopoConfig) Units() int { return c.MapH * c.MapW }

// Validate returns an error naming the first field out of range.
func (c TopoConfig) Validate() error {
	switch {
	case c.Patch <= 0:
		return fmt.Errorf("patch = %d, want > 0", c.Patch)
	case c.MapH <= 0 || c.MapW <= 0:
		return fmt.Errorf("map %d×%d, want positive sides", c.MapH, c.MapW)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("lambda = %g, want a finite value ≥ 0", c.Lambda)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("eps = %g, want a finite value > 0", c.Eps)
	case c.Predictive && (!(c.Alpha >= 0) || math.IsInf(c.Alpha, 0)):
		return fmt.Errorf("alpha = %g, want a finite value ≥ 0", c.Alpha)
	case c.Predictive && c.InferIters <= 0:
		return fmt.Errorf("infer_iters = %d, want > 0", c.InferIters)
	case !(c.LCNSigma >= 0):
		return fmt.Errorf("lcn_sigma = %g, want ≥ 0", c.LCNSigma)
	}
	_, err := c.Layout()
	return err
}

// Layout builds the pool layout the config names.
func (c TopoConfig) Layout() (*kernels.PoolLayout, error) {
	m := c.Units()
	var l *kernels.PoolLayout
	var err error
	switch c.Pools {
	case PoolsTorus:
		l, err = kernels.TorusPools(c.MapH, c.MapW, c.Window, c.Stride, c.Sigma)
	case PoolsDisjoint:
		l, err = kernels.DisjointPools(m, c.Group)
	case PoolsTree:
		if c.Branch <= 0 {
			return nil, fmt.Errorf("tree pools: branch = %d, want > 0", c.Branch)
		}
		parent := make([]int, m)
		for i := range parent {
			parent[i] = (i - 1) / c.Branch
		}
		parent[0] = -1
		l, err = kernels.TreePools(parent)
	default:
		return nil, fmt.Errorf("pools = %q, want %q, %q or %q", c.Pools, PoolsTorus, PoolsDisjoint, PoolsTree)
	}
	if err != nil || c.Scatter == 0 {
		return l, err
	}
	perm := data.Permutation(m, c.Scatter)
	members := make([][]int, l.NumPools())
	weights := make([][]float32, l.NumPools())
	for j := range members {
		idx, w := l.Pool(j)
		for _, i := range idx {
			members[j] = append(members[j], perm[i])
		}
		weights[j] = append([]float32(nil), w...)
	}
	return kernels.NewPoolLayout(m, members, weights)
}

// Topo is a group-sparse auto-encoder on one backend, with n = Patch² inputs and m units on a
// MapH×MapW map:
//
//	encoder:  F(x) = g ⊙ max(0, W_e x − b)          W_e [m,n], b [m], g [m] (a learned scale per unit)
//	decoder:  x̂ = D z                               D [n,m], unit-norm columns
//	loss:     ½‖x − D z‖² + λ Σ_j √(ε + Σ_{i∈P_j} w_ji z_i²)
//
// With Config.Predictive false, z = F(x) and SGD lowers the loss in all four parameters. With
// Predictive true (predictive sparse decomposition), z is the optimal code z* for D, the decoder
// lowers ½‖x − D z*‖² and the encoder ½‖z* − F(x)‖². The pools P_j and weights w are fixed;
// with overlapping windows on a torus they make neighbouring units learn similar filters.
//
// A TopoBatch holds a batch's buffers, allocated once. A Topo is not safe for concurrent use.
type Topo struct {
	Config TopoConfig
	Layout *kernels.PoolLayout
	Pools  kernels.Pools

	We, B, G, D kernels.Tensor // W_e [m,n], b [m], g [m], D [n,m]

	be      kernels.Backend
	dNorm   kernels.Tensor // [m] column norms of D
	dInv    kernels.Tensor // [m] their inverses
	onesM   kernels.Tensor // [m]
	batches map[int]*TopoBatch
	// dVersion counts changes of D, so that a predictive batch's solver knows when its step
	// size 1/L is stale.
	dVersion uint64
}

// TopoParams names the parameters in the order of Topo.Params and in the saved file.
var TopoParams = []string{"We", "b", "g", "D"}

// ParamShapes returns the shapes of W_e, b, g, D.
func (c TopoConfig) ParamShapes() [][]int {
	n, m := c.Inputs(), c.Units()
	return [][]int{{m, n}, {m}, {m}, {n, m}}
}

// NewTopo allocates a model with zero parameters on be and copies its pools to the device; call
// Init or load parameters next.
func NewTopo(be kernels.Backend, cfg TopoConfig) (*Topo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("topo config: %w", err)
	}
	layout, _ := cfg.Layout()
	t := &Topo{Config: cfg, Layout: layout, be: be, batches: map[int]*TopoBatch{}}
	m := cfg.Units()
	shapes := append(cfg.ParamShapes(), []int{m}, []int{m}, []int{m})
	ts, err := newTensors(be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("topo: %w", err)
	}
	t.We, t.B, t.G, t.D = ts[0], ts[1], ts[2], ts[3]
	t.dNorm, t.dInv, t.onesM = ts[4], ts[5], ts[6]
	be.Fill(t.onesM, 1)
	if t.Pools, err = be.NewPools(layout); err != nil {
		t.Free()
		return nil, fmt.Errorf("topo: pools: %w", err)
	}
	return t, nil
}

// Backend returns the backend the parameters live on.
func (t *Topo) Backend() kernels.Backend { return t.be }

// Params returns W_e, b, g, D in the order of TopoParams.
func (t *Topo) Params() []kernels.Tensor { return []kernels.Tensor{t.We, t.B, t.G, t.D} }

// Free releases the parameters, the pools and the batch buffers.
func (t *Topo) Free() {
	for _, w := range t.batches {
		w.Free()
	}
	t.batches = map[int]*TopoBatch{}
	for _, x := range []kernels.Tensor{t.We, t.B, t.G, t.D, t.dNorm, t.dInv, t.onesM} {
		if x != nil {
			t.be.Free(x)
		}
	}
	t.We, t.B, t.G, t.D = nil, nil, nil, nil
	if t.Pools != nil {
		t.be.FreePools(t.Pools)
		t.Pools = nil
	}
}

// Init draws D with unit-norm Gaussian columns, sets W_e = Dᵀ (the encoder starts as the
// decoder's transpose), b = 0 and g = 1. The same seed gives the same parameters.
func (t *Topo) Init(seed uint64) {
	n, m := t.Config.Inputs(), t.Config.Units()
	r := rand.New(rand.NewPCG(seed, 0x70b0))
	d := make([]float32, n*m)
	for j := range m {
		var s float64
		col := make([]float64, n)
		for i := range col {
			col[i] = r.NormFloat64()
			s += col[i] * col[i]
		}
		for i := range col {
			d[i*m+j] = float32(col[i] / math.Sqrt(s))
		}
	}
	we := make([]float32, m*n)
	for i := range n {
		for j := range m {
			we[j*n+i] = d[i*m+j]
		}
	}
	t.be.Upload(t.D, d)
	t.be.Upload(t.We, we)
	t.be.Fill(t.B, 0)
	t.be.Fill(t.G, 1)
	t.DecoderChanged()
}

// DecoderChanged tells the model that D was written from outside (by Upload): a predictive
// model's solvers then re-estimate their step size before the next Infer. Init, LoadTopo and
// training call it themselves.
func (t *Topo) DecoderChanged() { t.dVersion++ }

// NormalizeDecoder scales every column of D to unit norm, on the device.
func (t *Topo) NormalizeDecoder() {
	be := t.be
	be.Norms(t.dNorm, t.D, kernels.PerCol)
	be.Div(t.dInv, t.onesM, t.dNorm) // 1/‖D_j‖
	be.BroadcastMul(t.D, t.D, t.dInv, kernels.PerCol)
	t.DecoderChanged()
}

// TopoBatch holds the buffers of one batch size: the forward values, the gradients and, for the
// predictive model, a solver.
type TopoBatch struct {
	N int            // batch size B
	X kernels.Tensor // [B,n] input
	A kernels.Tensor // [B,m] W_e x
	U kernels.Tensor // [B,m] max(0, W_e x − b)
	F kernels.Tensor // [B,m] encoder output g ⊙ U
	Z kernels.Tensor // [B,m] the code: F itself, or the optimal code z* (predictive)
	R kernels.Tensor // [B,n] residual D z − x
	P kernels.Tensor // [B,P] pool responses √(ε + Σ w z²)

	dZ, tmp, dA kernels.Tensor // [B,m]
	dyLam       kernels.Tensor // [B,P] holding λ/B
	onesB       kernels.Tensor // [1,B]
	solver      *GroupSparse   // predictive only, made by solverFor
	lipVersion  uint64         // the Topo.dVersion the solver's step size was estimated for
	be          kernels.Backend
	lamFilled   float64
}

// Batch returns the buffers for batch size b, allocated on first use and kept.
func (t *Topo) Batch(b int) (*TopoBatch, error) {
	if w, ok := t.batches[b]; ok {
		return w, nil
	}
	n, m, p := t.Config.Inputs(), t.Config.Units(), t.Layout.NumPools()
	shapes := [][]int{{b, n}, {b, m}, {b, m}, {b, m}, {b, n}, {b, p}, {b, m}, {b, m}, {b, m}, {b, p}, {1, b}}
	predictive := t.Config.Predictive
	if predictive {
		shapes = append(shapes, []int{b, m})
	}
	ts, err := newTensors(t.be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("topo: buffers for batch %d: %w", b, err)
	}
	w := &TopoBatch{N: b, X: ts[0], A: ts[1], U: ts[2], F: ts[3], R: ts[4], P: ts[5], dZ: ts[6], tmp: ts[7], dA: ts[8], dyLam: ts[9], onesB: ts[10],
		be: t.be, lamFilled: math.NaN(), lipVersion: t.dVersion}
	w.Z = w.F
	t.be.Fill(w.onesB, 1)
	if predictive {
		w.Z = ts[11]
	}
	t.batches[b] = w
	return w, nil
}

// solverFor returns the batch's group-sparse solver, made on first use (Responses never needs
// one), with a step size fresh for the current D.
func (t *Topo) solverFor(w *TopoBatch) (*GroupSparse, error) {
	if !t.Config.Predictive {
		panic("model: Topo.Infer: not a predictive model")
	}
	if w.solver == nil {
		s, err := NewGroupSparse(t.be, t.D, t.Pools, GroupSparseOptions{
			Lambda: float32(t.Config.Lambda), Eps: float32(t.Config.Eps), Alpha: float32(t.Config.Alpha),
			NonNegative: true, Iters: t.Config.InferIters,
		})
		if err != nil {
			return nil, fmt.Errorf("topo: %w", err)
		}
		w.solver, w.lipVersion = s, t.dVersion
	}
	return w.solver, nil
}

// Free releases the batch's buffers.
func (w *TopoBatch) Free() {
	for _, x := range []kernels.Tensor{w.X, w.A, w.U, w.F, w.R, w.P, w.dZ, w.tmp, w.dA, w.dyLam, w.onesB} {
		w.be.Free(x)
	}
	if w.Z != w.F {
		w.be.Free(w.Z)
	}
	if w.solver != nil {
		w.solver.Free()
	}
}

// Encode computes F = g ⊙ max(0, W_e x − b) from w.X, and sets Z = F (the auto-encoder's
// code; the predictive model's starting point).
func (t *Topo) Encode(w *TopoBatch) {
	be := t.be
	be.Gemm(false, true, 1, w.X, t.We, 0, w.A) // A = X·W_eᵀ          [B,m]
	be.PosShrink(w.U, w.A, t.B)                // U = max(0, A − b)
	be.BroadcastMul(w.F, w.U, t.G, kernels.PerCol)
	if w.Z != w.F {
		be.Copy(w.Z, w.F)
	}
}

// Infer replaces Z by the optimal code z* for the current D, warm-started from and pulled
// towards the encoder's output F (predictive models only; call Encode first). If D changed since
// the batch's solver last estimated L, it re-estimates it first (a few downloads).
func (t *Topo) Infer(w *TopoBatch) error {
	s, err := t.solverFor(w)
	if err != nil {
		return err
	}
	if w.lipVersion != t.dVersion {
		if _, err := s.UpdateLipschitz(50); err != nil {
			return err
		}
		w.lipVersion = t.dVersion
	}
	return s.Solve(w.Z, w.X, w.F)
}

// Forward computes the residual R = Z·Dᵀ − X and the pool responses P of the current Z.
func (t *Topo) Forward(w *TopoBatch) {
	be := t.be
	be.Copy(w.R, w.X)
	be.Gemm(false, true, 1, w.Z, t.D, -1, w.R)
	be.PoolNorms(w.P, w.Z, t.Pools, float32(t.Config.Eps))
}

// TopoGrads holds the gradients of W_e, b, g, D.
type TopoGrads struct {
	We, B, G, D kernels.Tensor
	gRow        kernels.Tensor // G viewed as [1,m]
}

// List returns the gradients in the order of Topo.Params.
func (g *TopoGrads) List() []kernels.Tensor { return []kernels.Tensor{g.We, g.B, g.G, g.D} }

// NewGrads allocates zero gradients.
func (t *Topo) NewGrads() (*TopoGrads, error) {
	ts, err := newTensors(t.be, t.Config.ParamShapes()...)
	if err != nil {
		return nil, fmt.Errorf("topo gradients: %w", err)
	}
	g := &TopoGrads{We: ts[0], B: ts[1], G: ts[2], D: ts[3]}
	g.gRow = t.be.Reshape(g.G, 1, t.Config.Units())
	return g, nil
}

// Free releases the gradients.
func (g *TopoGrads) Free(be kernels.Backend) {
	for _, x := range g.List() {
		be.Free(x)
	}
}

// Backward writes into g the gradients of the mean loss over the batch, after Encode (and Infer)
// and Forward:
//
//	auto-encoder:  L = (1/B) Σ_b ½‖x_b − D z_b‖² + λ Σ_j √(ε + Σ w z²),  z = F(x)
//	predictive:    L_D = (1/B) Σ_b ½‖x_b − D z*_b‖²  for D,  L_F = (α'/B) Σ_b ½‖z*_b − F(x_b)‖²
//	               for W_e, b, g (α' = α, or 1 when α = 0)
func (t *Topo) Backward(w *TopoBatch, g *TopoGrads) {
	be := t.be
	inv := 1 / float32(w.N)
	// ∂/∂D ½‖D z − x‖² = r zᵀ:  dD = Rᵀ·Z/B  [n,m]
	be.Gemm(true, false, inv, w.R, w.Z, 0, g.D)
	if t.Config.Predictive {
		a := float32(t.Config.Alpha)
		if a == 0 {
			a = 1
		}
		// dF = α(F − z*)/B
		be.Copy(w.dZ, w.F)
		be.Axpby(-a*inv, w.Z, a*inv, w.dZ)
	} else {
		// dZ = R·D/B + (λ/B)·∂penalty/∂z
		be.Gemm(false, false, inv, w.R, t.D, 0, w.dZ)
		lam := t.Config.Lambda / float64(w.N)
		if lam != w.lamFilled {
			be.Fill(w.dyLam, float32(lam))
			w.lamFilled = lam
		}
		be.PoolNormsBackward(w.tmp, w.dyLam, w.Z, w.P, t.Pools)
		be.Axpby(1, w.tmp, 1, w.dZ)
	}
	t.encoderBackward(w, g)
}

// encoderBackward back-propagates dF = w.dZ through F = g ⊙ max(0, X·W_eᵀ − b).
func (t *Topo) encoderBackward(w *TopoBatch, g *TopoGrads) {
	be := t.be
	be.Hadamard(w.tmp, w.dZ, w.U)
	be.Gemm(false, false, 1, w.onesB, w.tmp, 0, g.gRow) // dg = Σ_b dF ⊙ U
	be.BroadcastMul(w.tmp, w.dZ, t.G, kernels.PerCol)   // dU = dF ⊙ g
	be.PosShrinkBackward(w.dA, g.B, w.tmp, w.A, t.B)    // dA, db
	be.Gemm(true, false, 1, w.dA, w.X, 0, g.We)         // dW_e = dAᵀ·X  [m,n]
}

// TopoLoss holds the mean terms of the loss over the samples seen.
type TopoLoss struct {
	Recon   float64 // ½‖x − D z‖²
	Penalty float64 // Σ_j √(ε + Σ w z²) (without λ)
	PredErr float64 // ½‖z* − F(x)‖² (predictive)
	Active  float64 // fraction of units with |z| > ActiveThreshold
	N       int     // samples
}

// Loss returns λ·Penalty + Recon (the energy a non-predictive model minimizes).
func (l TopoLoss) Loss(lambda float64) float64 { return l.Recon + lambda*l.Penalty }

// Add merges o into l, weighting by samples.
func (l *TopoLoss) Add(o TopoLoss) {
	if o.N == 0 {
		return
	}
	n := float64(l.N + o.N)
	f, g := float64(l.N)/n, float64(o.N)/n
	l.Recon = f*l.Recon + g*o.Recon
	l.Penalty = f*l.Penalty + g*o.Penalty
	l.PredErr = f*l.PredErr + g*o.PredErr
	l.Active = f*l.Active + g*o.Active
	l.N += o.N
}

// Metrics lists the loss terms for progress reports.
func (l TopoLoss) Metrics(lambda float64, predictive bool) []Metric {
	ms := []Metric{{"loss", l.Loss(lambda)}, {"recon", l.Recon}, {"penalty", l.Penalty}, {"active", l.Active}}
	if predictive {
		ms = append(ms, Metric{"pred_err", l.PredErr})
	}
	return ms
}

// ActiveThreshold is the |z| above which a unit counts as active. The encoder's ReLU gives
// exact zeros; the smoothed solver of a predictive model leaves tiny values instead.
const ActiveThreshold = 1e-3

// ErrTopoNotFinite is returned when training produces a NaN or infinite loss.
var ErrTopoNotFinite = errors.New("topo: loss is not finite")

// Loss downloads R, P and Z (and F) after Forward and returns the batch's mean loss terms. It is
// the only host round trip of a training step, made only when a report is due.
func (t *Topo) Loss(w *TopoBatch) (TopoLoss, error) {
	be := t.be
	r := make([]float32, w.R.Len())
	p := make([]float32, w.P.Len())
	z := make([]float32, w.Z.Len())
	for _, c := range []struct {
		dst []float32
		src kernels.Tensor
	}{{r, w.R}, {p, w.P}, {z, w.Z}} {
		if err := be.Download(c.dst, c.src); err != nil {
			return TopoLoss{}, err
		}
	}
	l := TopoLoss{N: w.N}
	for _, v := range r {
		l.Recon += float64(v) * float64(v) / 2
	}
	for _, v := range p {
		l.Penalty += float64(v)
	}
	for _, v := range z {
		if v > ActiveThreshold || v < -ActiveThreshold {
			l.Active++
		}
	}
	if w.Z != w.F {
		f := make([]float32, w.F.Len())
		if err := be.Download(f, w.F); err != nil {
			return TopoLoss{}, err
		}
		for i, v := range f {
			d := float64(v) - float64(z[i])
			l.PredErr += d * d / 2
		}
	}
	b := float64(w.N)
	l.Recon /= b
	l.Penalty /= b
	l.PredErr /= b
	l.Active /= b * float64(t.Config.Units())
	if math.IsNaN(l.Recon+l.Penalty+l.PredErr) || math.IsInf(l.Recon+l.Penalty+l.PredErr, 0) {
		return l, ErrTopoNotFinite
	}
	return l, nil
}

// TopoTrainOptions are the settings of Topo.Train.
type TopoTrainOptions struct {
	Epochs      int     // passes over the patches
	Batch       int     // samples per step
	LR          float64 // learning rate of W_e, b, g (and D unless DecoderLR is set)
	DecoderLR   float64 // learning rate of D; 0: LR
	Momentum    float64 // heavy-ball momentum μ ∈ [0,1)
	Seed        uint64  // shuffling
	ReportEvery int     // steps between progress reports (each downloads a batch's loss); 0: 20
	// LipschitzEvery: steps between re-estimates of λ_max(DᵀD) by the predictive model's solver
	// (5 warm-started power iterations); 0: 10.
	LipschitzEvery int
}

// DefaultTopoTrainOptions are settings that train the default config on 20,000 natural patches
// in about half a minute on a CPU. The decoder learns 5× faster than the encoder: with the
// columns renormalized after every step, a slow D keeps the high-frequency noise of its random
// start for many epochs.
func DefaultTopoTrainOptions() TopoTrainOptions {
	return TopoTrainOptions{Epochs: 10, Batch: 64, LR: 0.02, DecoderLR: 0.1, Momentum: 0.9, Seed: 1}
}

// Train runs SGD over x [N, n] (preprocessed patches, see PatchSource) for opt.Epochs epochs
// in shuffled minibatches; the last partial batch of an epoch is dropped. It reports to
// progress after every ReportEvery steps (with the mean loss of the batches measured since the
// last report) and at the end of each epoch; it returns ErrTopoNotFinite if the loss blows up.
func (t *Topo) Train(x []float32, opt TopoTrainOptions, progress ProgressFunc) (TopoLoss, error) {
	n := t.Config.Inputs()
	if len(x)%n != 0 {
		panic(fmt.Sprintf("model: Topo.Train: %d values are not a whole number of %d-pixel patches", len(x), n))
	}
	if opt.Batch <= 0 || opt.Epochs < 0 || !(opt.LR > 0) || opt.Momentum < 0 || opt.Momentum >= 1 || opt.DecoderLR < 0 {
		return TopoLoss{}, fmt.Errorf("topo training: batch %d, %d epochs, lr %g, decoder lr %g, momentum %g: want batch > 0, epochs ≥ 0, lr > 0, 0 ≤ μ < 1",
			opt.Batch, opt.Epochs, opt.LR, opt.DecoderLR, opt.Momentum)
	}
	samples := len(x) / n
	steps := samples / opt.Batch
	if steps == 0 {
		return TopoLoss{}, fmt.Errorf("topo training: %d patches are fewer than one batch of %d", samples, opt.Batch)
	}
	if opt.ReportEvery <= 0 {
		opt.ReportEvery = 20
	}
	if opt.LipschitzEvery <= 0 {
		opt.LipschitzEvery = 10
	}
	w, err := t.Batch(opt.Batch)
	if err != nil {
		return TopoLoss{}, err
	}
	g, err := t.NewGrads()
	if err != nil {
		return TopoLoss{}, err
	}
	defer g.Free(t.be)
	dlr := opt.DecoderLR
	if dlr == 0 {
		dlr = opt.LR
	}
	sgd, err := NewSGD(t.be, t.Params(), opt.Momentum, []float64{1, 1, 1, dlr / opt.LR})
	if err != nil {
		return TopoLoss{}, fmt.Errorf("topo training: %w", err)
	}
	defer sgd.Free()
	clock := newProgressClock(progress, "topo")
	host := make([]float32, opt.Batch*n)
	var epochLoss TopoLoss
	for epoch := 1; epoch <= opt.Epochs; epoch++ {
		perm := data.Permutation(samples, opt.Seed+uint64(epoch))
		epochLoss = TopoLoss{}
		var since TopoLoss
		for step := 1; step <= steps; step++ {
			for k, i := range perm[(step-1)*opt.Batch : step*opt.Batch] {
				copy(host[k*n:(k+1)*n], x[i*n:(i+1)*n])
			}
			t.be.Upload(w.X, host)
			if err := t.Step(w, g, sgd, opt.LR, (epoch-1)*steps+step, opt.LipschitzEvery); err != nil {
				return epochLoss, err
			}
			if step%opt.ReportEvery == 0 || step == steps {
				// The loss of the batch just used, at the parameters before the update: Step leaves
				// R, P, Z as they were when the gradient was taken.
				l, err := t.Loss(w)
				if err != nil {
					return epochLoss, fmt.Errorf("epoch %d step %d: %w", epoch, step, err)
				}
				since.Add(l)
				epochLoss.Add(l)
				clock.report(Progress{Epoch: epoch, Epochs: opt.Epochs, Step: step, Steps: steps, Metrics: since.Metrics(t.Config.Lambda, t.Config.Predictive)})
				since = TopoLoss{}
			}
		}
		if err := t.be.Sync(); err != nil {
			return epochLoss, err
		}
		clock.report(Progress{Epoch: epoch, Epochs: opt.Epochs, Step: steps, Steps: steps, EndOfEpoch: true, Metrics: epochLoss.Metrics(t.Config.Lambda, t.Config.Predictive)})
	}
	return epochLoss, nil
}

// Step is one training step on the batch in w.X: forward (and inference), backward, an SGD
// update of all parameters with learning rate lr, and the renormalization of D. step counts
// from 1; the predictive model re-estimates its step size every lipEvery steps (a download of
// a few numbers). It leaves w's forward values (R, P, Z, F) as they were at the gradient.
func (t *Topo) Step(w *TopoBatch, g *TopoGrads, sgd *SGD, lr float64, step, lipEvery int) error {
	t.Encode(w)
	if t.Config.Predictive {
		s, err := t.solverFor(w)
		if err != nil {
			return err
		}
		// D moves a little every step; re-estimating L every lipEvery steps (warm-started, 5
		// power iterations) keeps the step safe without a download per step.
		if lipEvery > 0 && step%lipEvery == 0 {
			if _, err := s.UpdateLipschitz(5); err != nil {
				return err
			}
			w.lipVersion = t.dVersion
		}
		if err := s.Solve(w.Z, w.X, w.F); err != nil {
			return err
		}
	}
	t.Forward(w)
	t.Backward(w, g)
	sgd.Step(t.Params(), g.List(), lr)
	t.NormalizeDecoder()
	return nil
}

// Responses encodes x [N,n] (host) in batches of at most batch samples with the encoder and
// returns the codes F(x) [N,m] and the pool responses √(ε + Σ w F²) [N,P], on the host.
func (t *Topo) Responses(x []float32, batch int) (codes, pooled []float32, err error) {
	n, m, p := t.Config.Inputs(), t.Config.Units(), t.Layout.NumPools()
	if len(x)%n != 0 {
		panic(fmt.Sprintf("model: Topo.Responses: %d values are not a whole number of %d-pixel patches", len(x), n))
	}
	total := len(x) / n
	codes = make([]float32, total*m)
	pooled = make([]float32, total*p)
	batch = max(1, min(batch, total))
	for lo := 0; lo < total; lo += batch {
		b := min(batch, total-lo)
		w, err := t.Batch(b)
		if err != nil {
			return nil, nil, err
		}
		t.be.Upload(w.X, x[lo*n:(lo+b)*n])
		t.Encode(w)
		t.be.PoolNorms(w.P, w.F, t.Pools, float32(t.Config.Eps))
		if err := t.be.Download(codes[lo*m:(lo+b)*m], w.F); err != nil {
			return nil, nil, err
		}
		if err := t.be.Download(pooled[lo*p:(lo+b)*p], w.P); err != nil {
			return nil, nil, err
		}
	}
	return codes, pooled, nil
}

// Evaluate returns the mean loss terms over x [N,n] (host) with the model's code: the encoder's
// output, or for a predictive model the optimal code found from it.
func (t *Topo) Evaluate(x []float32, batch int) (TopoLoss, error) {
	n := t.Config.Inputs()
	total := len(x) / n
	var sum TopoLoss
	batch = max(1, min(batch, total))
	for lo := 0; lo+batch <= total; lo += batch {
		w, err := t.Batch(batch)
		if err != nil {
			return sum, err
		}
		t.be.Upload(w.X, x[lo*n:(lo+batch)*n])
		t.Encode(w)
		if t.Config.Predictive {
			if err := t.Infer(w); err != nil {
				return sum, err
			}
		}
		t.Forward(w)
		l, err := t.Loss(w)
		if err != nil {
			return sum, err
		}
		sum.Add(l)
	}
	return sum, nil
}

// ---- measurements of a topographic map ----

// MapSimilarity compares the decoder filters of neighbouring units on the map with those of
// random pairs: Neighbour is the mean |cos| between D_i and D_j over the 4-neighbour pairs of the
// MapH×MapW torus, Random the mean |cos| over all pairs i ≠ j, Ratio = Neighbour/Random.
type MapSimilarity struct {
	Neighbour, Random, Ratio float64
}

// DecoderSimilarity downloads D and measures MapSimilarity on the model's map.
func (t *Topo) DecoderSimilarity() (MapSimilarity, error) {
	d := make([]float32, t.D.Len())
	if err := t.be.Download(d, t.D); err != nil {
		return MapSimilarity{}, err
	}
	return FilterSimilarity(d, t.Config.Inputs(), t.Config.MapH, t.Config.MapW), nil
}

// FilterSimilarity measures MapSimilarity for the columns of d [n, h·w] laid out row-major on an
// h×w torus.
func FilterSimilarity(d []float32, n, h, w int) MapSimilarity {
	m := h * w
	if len(d) != n*m {
		panic(fmt.Sprintf("model: FilterSimilarity: %d values, want %d×%d", len(d), n, m))
	}
	cols := make([][]float64, m)
	for j := range cols {
		c := make([]float64, n)
		var s float64
		for i := range n {
			c[i] = float64(d[i*m+j])
			s += c[i] * c[i]
		}
		if s > 0 {
			for i := range c {
				c[i] /= math.Sqrt(s)
			}
		}
		cols[j] = c
	}
	cos := func(a, b int) float64 {
		var s float64
		for i, v := range cols[a] {
			s += v * cols[b][i]
		}
		return math.Abs(s)
	}
	var nb, nn float64
	for r := range h {
		for c := range w {
			i := r*w + c
			if w > 1 {
				nb += cos(i, r*w+(c+1)%w)
				nn++
			}
			if h > 1 {
				nb += cos(i, ((r+1)%h)*w+c)
				nn++
			}
		}
	}
	var all, na float64
	for i := range m {
		for j := i + 1; j < m; j++ {
			all += cos(i, j)
			na++
		}
	}
	s := MapSimilarity{Neighbour: nb / max(nn, 1), Random: all / max(na, 1)}
	if s.Random > 0 {
		s.Ratio = s.Neighbour / s.Random
	}
	return s
}

// ShiftSensitivity measures how much responses change when the input shifts: r0 and r1
// [N, dim] are the responses to N patches and to the same patches shifted. For each response
// dimension k with a non-zero variance it is
//
//	s_k = E[(r0_k − r1_k)²] / (Var r0_k + Var r1_k)
//
// averaged over k: 0 when the shift changes nothing, about 1 when the shifted patch is as
// different as an unrelated one (1 − the correlation of r0_k and r1_k, for equal variances).
// It is scale free, so single units and pools compare fairly.
func ShiftSensitivity(r0, r1 []float32, dim int) float64 {
	if len(r0) != len(r1) || dim <= 0 || len(r0)%dim != 0 {
		panic(fmt.Sprintf("model: ShiftSensitivity: %d and %d values for dimension %d", len(r0), len(r1), dim))
	}
	n := len(r0) / dim
	var sum float64
	var count int
	for k := range dim {
		var m0, m1 float64
		for s := range n {
			m0 += float64(r0[s*dim+k])
			m1 += float64(r1[s*dim+k])
		}
		m0 /= float64(n)
		m1 /= float64(n)
		var v0, v1, diff float64
		for s := range n {
			a, b := float64(r0[s*dim+k]), float64(r1[s*dim+k])
			v0 += (a - m0) * (a - m0)
			v1 += (b - m1) * (b - m1)
			diff += (a - b) * (a - b)
		}
		if v0+v1 <= 1e-12*float64(n) {
			continue
		}
		sum += diff / (v0 + v1)
		count++
	}
	if count == 0 {
		return math.NaN()
	}
	return sum / float64(count)
}

// ShiftReport compares single units with pools under small shifts of the input. Units, Pools
// and Scattered are ShiftSensitivity of the response patterns: each sample's response vector
// divided by its L2 norm. Without that division, pools always look invariant, since the pooled
// energy of any dense code tracks the patch's contrast, which a shift hardly changes (a model
// trained with λ = 0 has raw pooled sensitivity far below its units'); the pattern says which
// pools respond, and only a map that groups units tuned alike keeps it under a shift. RawUnits
// and RawPools are the sensitivities of the responses as they are.
type ShiftReport struct {
	Shift              int     // pixels
	Units, Pools       float64 // pattern sensitivity of the codes and of the pool responses
	Scattered          float64 // of pool responses over the same pools with members scattered at random
	RawUnits, RawPools float64 // sensitivity of the unnormalized responses
}

// ShiftInvariance measures ShiftReport on count patches of src cut at random places and again
// shifted by shift pixels (half of them horizontally, half vertically). Scattered pools the
// codes with a layout whose members are relabelled at random (seed), the control that tells
// invariance due to the map from invariance due to averaging.
func (t *Topo) ShiftInvariance(src *PatchSource, shift, count int, seed uint64) (ShiftReport, error) {
	x0, x1 := src.ShiftPairs(count, shift, seed)
	z0, p0, err := t.Responses(x0, 256)
	if err != nil {
		return ShiftReport{}, err
	}
	z1, p1, err := t.Responses(x1, 256)
	if err != nil {
		return ShiftReport{}, err
	}
	m, p := t.Config.Units(), t.Layout.NumPools()
	sc := t.Config
	sc.Scatter = seed | 1
	scattered, err := sc.Layout()
	if err != nil {
		return ShiftReport{}, err
	}
	q0 := PoolResponses(z0, scattered, t.Config.Eps)
	q1 := PoolResponses(z1, scattered, t.Config.Eps)
	rep := ShiftReport{Shift: shift, RawUnits: ShiftSensitivity(z0, z1, m), RawPools: ShiftSensitivity(p0, p1, p)}
	pattern := func(v []float32, dim int) []float32 {
		data.NormalizeRows(v, dim, 0)
		return v
	}
	rep.Units = ShiftSensitivity(pattern(z0, m), pattern(z1, m), m)
	rep.Pools = ShiftSensitivity(pattern(p0, p), pattern(p1, p), p)
	rep.Scattered = ShiftSensitivity(pattern(q0, p), pattern(q1, p), p)
	return rep, nil
}

// PoolResponses computes √(ε + Σ_{i∈P_j} w_ji z_i²) on the host for codes z [N, units]: [N, P].
func PoolResponses(z []float32, l *kernels.PoolLayout, eps float64) []float32 {
	m, p := l.Units, l.NumPools()
	n := len(z) / m
	out := make([]float32, n*p)
	for s := range n {
		zs := z[s*m : (s+1)*m]
		for j := range p {
			idx, wt := l.Pool(j)
			q := eps
			for k, i := range idx {
				q += float64(wt[k]) * float64(zs[i]) * float64(zs[i])
			}
			out[s*p+j] = float32(math.Sqrt(q))
		}
	}
	return out
}

// ---- natural image patches ----

// PatchMargin is the largest shift ShiftInvariance and ShiftPairs are meant for: images must
// hold a patch with this many pixels to spare on every side.
const PatchMargin = 2

// PatchSource cuts Size×Size patches from natural images prepared as a TopoConfig says: each
// image locally contrast normalized (data.LocalContrastNormalize with LCNSigma pixels; none if
// 0), each patch with its mean removed.
type PatchSource struct {
	Images []data.Gray
	Size   int
}

// NewPatchSource normalizes imgs (copies; imgs are not changed) for patches of size pixels.
// Images smaller than size + 2·PatchMargin are left out; Images may end up empty.
func NewPatchSource(imgs []data.Gray, size int, lcnSigma float64) *PatchSource {
	s := &PatchSource{Size: size}
	for _, g := range imgs {
		if g.W < size+2*PatchMargin || g.H < size+2*PatchMargin {
			continue
		}
		if lcnSigma > 0 {
			g = data.LocalContrastNormalize(g, lcnSigma)
		}
		s.Images = append(s.Images, g)
	}
	return s
}

// NaturalPatchSource prepares the photographs embedded in package data for cfg.
func NaturalPatchSource(cfg TopoConfig) (*PatchSource, error) {
	imgs, err := data.NaturalImages()
	if err != nil {
		return nil, err
	}
	return NewPatchSource(imgs, cfg.Patch, cfg.LCNSigma), nil
}

// Random returns count random patches [count, Size²] drawn with seed.
func (s *PatchSource) Random(count int, seed uint64) []float32 {
	x := data.Patches(s.Images, s.Size, count, seed)
	data.RemoveMean(x, s.Size*s.Size)
	return x
}

// ShiftPairs returns count patches at random places and the same patches shifted by shift
// pixels (even samples move right, odd ones down), each [count, Size²].
func (s *PatchSource) ShiftPairs(count, shift int, seed uint64) (x0, x1 []float32) {
	n := s.Size * s.Size
	x0 = make([]float32, 0, count*n)
	x1 = make([]float32, 0, count*n)
	r := rand.New(rand.NewPCG(seed, 0x5417))
	for k := range count {
		img := s.Images[r.IntN(len(s.Images))]
		at := data.RandomPositions(img, s.Size, 1, shift, r.Uint64())
		dx, dy := shift, 0
		if k%2 == 1 {
			dx, dy = 0, shift
		}
		x0 = append(x0, data.PatchesAt(img, s.Size, at)...)
		x1 = append(x1, data.PatchesAt(img, s.Size, data.Shift(at, dx, dy))...)
	}
	data.RemoveMean(x0, n)
	data.RemoveMean(x1, n)
	return x0, x1
}

// PatchAt returns the patch of image i whose top-left corner is at p, prepared like Random.
func (s *PatchSource) PatchAt(i int, p image.Point) []float32 {
	x := data.PatchesAt(s.Images[i], s.Size, []image.Point{p})
	data.RemoveMean(x, s.Size*s.Size)
	return x
}

// ---- saving and loading ----

// topoJSON is the config file saved beside the tensors: {"model": "topo", "patch": …, …}.
type topoJSON struct {
	Model string `json:"model"`
	TopoConfig
}

// Save writes W_e [m,n], b [m], g [m], D [n,m] to path (safetensors) and the config to the .json
// beside it, each atomically. meta goes into the safetensors metadata; it may be nil.
//
// In PyTorch, with t = safetensors.torch.load_file(path):
//
//	z = t["g"] * relu(x @ t["We"].T - t["b"]);  x_hat = z @ t["D"].T
func (t *Topo) Save(path string, meta map[string]string) error {
	ts, err := downloadTensors(t.be, TopoParams, t.Params(), "")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := SaveTensors(path, ts, meta); err != nil {
		return err
	}
	return SaveConfig(ConfigPath(path), topoJSON{Model: TopoKind, TopoConfig: t.Config})
}

// LoadTopo reads a model saved by Save onto be.
func LoadTopo(be kernels.Backend, path string) (*Topo, error) {
	cfgPath := ConfigPath(path)
	var js topoJSON
	if err := LoadConfig(cfgPath, TopoKind, &js); err != nil {
		return nil, err
	}
	if err := js.TopoConfig.Validate(); err != nil {
		return nil, fmt.Errorf("model config %s: %v", cfgPath, err)
	}
	tensors, _, err := LoadTensors(path)
	if err != nil {
		return nil, err
	}
	want := map[string][]int{}
	shapes := js.TopoConfig.ParamShapes()
	for i, n := range TopoParams {
		want[n] = shapes[i]
	}
	if err := checkTensors(path, tensors, want); err != nil {
		return nil, err
	}
	for name, x := range tensors {
		for _, v := range x.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%s: tensor %q holds a NaN or infinite value", path, name)
			}
		}
	}
	t, err := NewTopo(be, js.TopoConfig)
	if err != nil {
		return nil, err
	}
	for i, n := range TopoParams {
		be.Upload(t.Params()[i], tensors[n].Data)
	}
	t.DecoderChanged()
	if err := be.Sync(); err != nil {
		t.Free()
		return nil, err
	}
	return t, nil
}
