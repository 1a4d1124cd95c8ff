package lateral

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// Lateral is sparse coding with lateral inhibition: n inputs, m units, a dictionary D [n,m] of
// unit-norm columns and an inhibition matrix S [m,m]. Forward infers, for every sample,
//
//	z = argmin ½‖x − D z‖² + λ‖z‖₁ + |z|ᵀ S |z|
//
// by InferIters proximal-gradient steps from z = 0, each step
//
//	z ← shrink(y − (1/L) Dᵀ(D y − x),  (λ + 2 (S|y|)_i)/L)      L = 1.05·(λ_max(DᵀD) + 2·bound of ‖S‖₂)
//
// with a threshold per sample and unit, at y = z (ISTA, the default) or at FISTA's
// extrapolation y = z + β_k(z − z_prev) (Config.FISTA). Training lowers the energy in D (z held
// fixed, then D's columns renormalized) and raises it in S (its gradient |z||z|ᵀ), then projects
// S back to its bounded set: symmetric, in [0, s_max], zero on the diagonal, between related
// units of the tree and, with pruning (Config.PruneEvery), on the pairs pruned so far. In
// PyTorch, with t = safetensors.torch.load_file(path): x_hat = z @ t["D"].T, and t["S"] is the
// inhibition matrix.
type Lateral struct {
	cfg    Config
	be     kernels.Backend
	params []*model.Param // D, S
	d, s   *model.Param
	mask   kernels.Tensor // [m,m] 1 where S may be non-zero
	zeroM  kernels.Tensor // [m] zeros, the threshold of the shrinkages
	sMax   kernels.Tensor // [m] s_max
	dNorm  kernels.Tensor // [m]
	dInv   kernels.Tensor // [m]
	onesM  kernels.Tensor // [m]
	sT     kernels.Tensor // [m,m] scratch of S's projection
	power  *model.PowerIteration
	sNorm  float64  // a bound on ‖S‖₂ for every S training can reach (see Lipschitz)
	prune  *pruning // S's pruning; nil without
	// L is the Lipschitz constant of the inference's step size, re-estimated every
	// LipschitzEvery training steps; lipStep is the step count it was estimated at.
	L              float64
	steps, lipStep int
}

var (
	_ model.Module   = (*Lateral)(nil)
	_ model.Stepper  = (*Lateral)(nil)
	_ model.Stateful = (*Lateral)(nil)
)

// New allocates a model with zero parameters.
func New(be kernels.Backend, cfg Config) (*Lateral, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lateral config: %w", err)
	}
	n, m := cfg.Inputs, cfg.Units
	ps, err := model.NewParams(be, []string{"D", "S"}, [][]int{{n, m}, {m, m}})
	if err != nil {
		return nil, err
	}
	l := &Lateral{cfg: cfg, be: be, params: ps, d: ps[0], s: ps[1]}
	mask := cfg.Mask()
	l.sNorm = sBound(cfg, mask)
	ts, err := model.NewTensors(be, []int{m, m}, []int{m}, []int{m}, []int{m}, []int{m}, []int{m}, []int{m, m})
	if err == nil {
		l.mask, l.zeroM, l.sMax, l.dNorm, l.dInv, l.onesM, l.sT = ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6]
		be.Upload(l.mask, mask)
		be.Fill(l.zeroM, 0)
		be.Fill(l.sMax, float32(cfg.SMax))
		be.Fill(l.onesM, 1)
		l.power, err = model.NewPowerIteration(be, m, 0x1a7e)
	}
	if err == nil && cfg.PruneEvery > 0 {
		l.prune, err = newPruning(be, mask, m)
	}
	if err != nil {
		l.Free()
		return nil, fmt.Errorf("lateral: %w", err)
	}
	l.d.Project = l.normalize
	l.s.LRScale = cfg.SLRScale
	l.s.Frozen = !cfg.LearnS
	return l, nil
}

func (l *Lateral) Kind() string             { return Kind }
func (l *Lateral) Config() model.Config     { return &l.cfg }
func (l *Lateral) Backend() kernels.Backend { return l.be }
func (l *Lateral) Params() []*model.Param   { return l.params }
func (l *Lateral) Phases() []string         { return phases }
func (l *Lateral) Criterion() string        { return "loss" }

// Code is the inferred code z of the last Forward.
func (l *Lateral) Code(w model.Work) kernels.Tensor { return w.(*work).z }

// D and S are the current dictionary and inhibition matrix.
func (l *Lateral) D() kernels.Tensor { return l.d.Value }
func (l *Lateral) S() kernels.Tensor { return l.s.Value }

// Free releases the device memory.
func (l *Lateral) Free() {
	model.FreeParams(l.be, l.params)
	model.FreeTensors(l.be, l.mask, l.zeroM, l.sMax, l.dNorm, l.dInv, l.onesM, l.sT)
	if l.power != nil {
		l.power.Free()
	}
	if l.prune != nil {
		l.prune.free(l.be)
	}
}

// normalize scales every column of d to unit norm (D's projection).
func (l *Lateral) normalize(d kernels.Tensor) {
	l.be.Norms(l.dNorm, d, kernels.PerCol)
	l.be.Div(l.dInv, l.onesM, l.dNorm)
	l.be.BroadcastMul(d, d, l.dInv, kernels.PerCol)
}

// ProjectS puts s back in S's feasible set: s ← mask ⊙ clip((s + sᵀ)/2, 0, s_max). Each step
// keeps symmetry, so the result is symmetric, non-negative, bounded by s_max entrywise
// (‖S‖_F ≤ s_max·m), and zero on the diagonal, between related units and on pruned pairs.
func (l *Lateral) ProjectS(s kernels.Tensor) {
	be := l.be
	be.Transpose(l.sT, s)
	be.Axpby(0.5, l.sT, 0.5, s)
	be.PosShrink(s, s, l.zeroM)   // max(s, 0)
	be.PosShrink(l.sT, s, l.sMax) // max(s − s_max, 0)
	be.Axpby(-1, l.sT, 1, s)      // min(s, s_max)
	be.Hadamard(s, s, l.mask)
}

// Init draws D with unit-norm Gaussian columns and sets S = s_scale on every allowed entry.
func (l *Lateral) Init(_ *model.Samples, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 0x1a7e))
	cols, err := l.be.New(l.cfg.Units, l.cfg.Inputs)
	if err != nil {
		return err
	}
	l.be.Upload(cols, model.UnitRows(r, l.cfg.Units, l.cfg.Inputs))
	l.be.Transpose(l.d.Value, cols)
	l.be.Free(cols)
	l.SetHandS()
	return l.be.Sync()
}

// SetHandS sets the hand-set S: s_scale on every allowed entry.
func (l *Lateral) SetHandS() {
	l.be.Copy(l.s.Value, l.mask)
	l.be.Axpby(0, l.mask, float32(l.cfg.SScale), l.s.Value)
}

// work holds one batch size's buffers.
type work struct {
	x    kernels.Tensor // [B,n]
	r    kernels.Tensor // [B,n] residual D z − x
	xd   kernels.Tensor // [B,m] X·D
	z    kernels.Tensor // [B,m] the code
	v    kernels.Tensor // [B,m] gradient step
	a    kernels.Tensor // [B,m] |z|
	t    kernels.Tensor // [B,m] thresholds
	u    kernels.Tensor // [B,m] scratch
	y    kernels.Tensor // [B,m] FISTA's extrapolated point
	zp   kernels.Tensor // [B,m] the previous iterate
	dtd  kernels.Tensor // [m,m] DᵀD
	sums *model.Scalars
	all  []kernels.Tensor
	be   kernels.Backend
}

func (w *work) Size() int               { return w.x.Shape()[0] }
func (w *work) Inputs() kernels.Tensor  { return w.x }
func (w *work) Targets() kernels.Tensor { return nil }
func (w *work) Free() {
	model.FreeTensors(w.be, w.all...)
	w.sums.Free()
}

// NewWork allocates the buffers of passes over b samples.
func (l *Lateral) NewWork(b int) (model.Work, error) {
	n, m := l.cfg.Inputs, l.cfg.Units
	ts, err := model.NewTensors(l.be, []int{b, n}, []int{b, n}, []int{b, m}, []int{b, m}, []int{b, m}, []int{b, m},
		[]int{b, m}, []int{b, m}, []int{m, m}, []int{b, m}, []int{b, m})
	if err != nil {
		return nil, err
	}
	w := &work{x: ts[0], r: ts[1], xd: ts[2], z: ts[3], v: ts[4], a: ts[5], t: ts[6], u: ts[7], dtd: ts[8], y: ts[9], zp: ts[10], all: ts, be: l.be}
	if w.sums, err = model.NewScalars(l.be, 4); err != nil {
		model.FreeTensors(l.be, ts...)
		return nil, err
	}
	return w, nil
}

// abs writes |z| into a, using u as scratch: |z| = max(z, 0) + max(−z, 0).
func (l *Lateral) abs(a, z, u kernels.Tensor) {
	l.be.PosShrink(a, z, l.zeroM)
	l.be.Axpby(-1, z, 0, u)
	l.be.PosShrink(u, u, l.zeroM)
	l.be.Axpby(1, u, 1, a)
}

// Lipschitz bounds the curvature of the smooth part of the energy for a fixed sign pattern σ of
// z, ½‖x − D z‖² + zᵀ diag(σ) S diag(σ) z: L = 1.05·(λ_max(DᵀD) + 2·sNorm), with λ_max(DᵀD)
// from a warm-started power iteration, rounded to a float32 so that a checkpoint holds it exactly.
// Training re-estimates it only every LipschitzEvery steps: D moves little in between, and the
// 5% margin covers that as it covers the power iteration's approach from below.
func (l *Lateral) Lipschitz() (float64, error) {
	est, _, err := l.power.Run(l.d.Value, 30, 1e-4)
	if err != nil {
		return 0, err
	}
	if !(est > 0) {
		return 0, fmt.Errorf("lateral: λ_max(DᵀD) = %g, want > 0", est)
	}
	return float64(float32(1.05 * (est + 2*l.sNorm))), nil
}

// sBound bounds ‖S‖₂ with no read-back of S: S ≥ 0, so ‖S‖₂ ≤ max_i Σ_j S_ij ≤ s·c, with c the
// most entries a row of mask allows and s the largest an entry can be: s_max for a learned S,
// which AfterStep projects after every step; s_scale for a hand-set one. The bound holds however
// S moves between two estimates of L, and for the best and averaged copies of S that the trainer
// swaps in, which may hold pairs pruned since (mask is the start's pattern: pruning only removes
// entries); S's row sums read back at each estimate would not, as a learned S grows in between.
// The price: it is looser than the largest row sum while S is below s_max (twice it at the start
// from s_scale = 0.5, 4% at the end of the default run), and a pruned S keeps the bound of the
// pattern it started from.
func sBound(cfg Config, mask []float32) float64 {
	m, most := cfg.Units, 0
	for i := range m {
		c := 0
		for _, v := range mask[i*m : (i+1)*m] {
			if v != 0 {
				c++
			}
		}
		most = max(most, c)
	}
	s := cfg.SMax
	if !cfg.LearnS {
		s = cfg.SScale
	}
	return s * float64(most)
}

// Forward infers the codes of the batch in w and computes the residual R = Z·Dᵀ − X. It
// estimates L on its first call and then every LipschitzEvery training steps; evaluation between
// two training steps uses the last estimate.
func (l *Lateral) Forward(mw model.Work, phase int) error {
	w, be := mw.(*work), l.be
	if l.L == 0 || l.steps%l.cfg.LipschitzEvery == 0 && l.lipStep != l.steps {
		L, err := l.Lipschitz()
		if err != nil {
			return err
		}
		l.L, l.lipStep = L, l.steps
	}
	inv := float32(1 / l.L)
	be.Gemm(true, false, 1, l.d.Value, l.d.Value, 0, w.dtd) // DᵀD
	be.Gemm(false, false, 1, w.x, l.d.Value, 0, w.xd)       // X·D
	be.Fill(w.z, 0)
	be.Fill(w.zp, 0)
	tk := 1.0
	for range l.cfg.InferIters {
		beta := 0.0
		if l.cfg.FISTA {
			tn := (1 + math.Sqrt(1+4*tk*tk)) / 2
			beta, tk = (tk-1)/tn, tn
		}
		be.Copy(w.y, w.z) // Y = Z + β(Z − Z_prev)
		be.Axpby(-float32(beta), w.zp, float32(1+beta), w.y)
		be.Copy(w.zp, w.z)
		l.step(w, inv)
	}
	be.Copy(w.r, w.x)
	be.Gemm(false, true, 1, w.z, l.d.Value, -1, w.r)
	return nil
}

// step is one proximal-gradient step of the inference from Y, with step size inv = 1/L, into Z.
func (l *Lateral) step(w *work, inv float32) {
	be := l.be
	// V = Y − (Y·DᵀD − X·D)/L
	be.Copy(w.v, w.xd)
	be.Gemm(false, false, -inv, w.y, w.dtd, inv, w.v)
	be.Axpby(1, w.y, 1, w.v)
	// T = (λ + 2·|Y|·S)/L  (S symmetric)
	l.abs(w.a, w.y, w.u)
	be.Fill(w.t, float32(l.cfg.Lambda)*inv)
	be.Gemm(false, false, 2*inv, w.a, l.s.Value, 1, w.t)
	// Z = sign(V)·max(|V| − T, 0) = max(V − T, 0) − max(−V − T, 0)
	be.Copy(w.u, w.v)
	be.Axpby(-1, w.t, 1, w.u)
	be.PosShrink(w.z, w.u, l.zeroM)
	be.Copy(w.u, w.v)
	be.Axpby(-1, w.t, -1, w.u)
	be.PosShrink(w.u, w.u, l.zeroM)
	be.Axpby(-1, w.u, 1, w.z)
}

// Backward writes, for the batch mean of the energy at the inferred codes (held fixed), D's
// gradient Rᵀ·Z/B and the negative of S's, −|Z|ᵀ·|Z|/B: the trainer's descent step on S is then
// an ascent on the energy.
func (l *Lateral) Backward(mw model.Work, phase int) {
	w, be := mw.(*work), l.be
	inv := 1 / float32(w.Size())
	be.Gemm(true, false, inv, w.r, w.z, 0, l.d.Grad)
	if l.s.Grad != nil {
		l.abs(w.a, w.z, w.u)
		be.Gemm(true, false, -inv, w.a, w.a, 0, l.s.Grad)
		if l.prune != nil {
			be.Axpby(-1, l.s.Grad, 1, l.prune.coact) // the co-activity |Z|ᵀ·|Z|/B
		}
	}
}

// AfterStep counts the training step, prunes S's pattern when a pruning is due, and projects a
// learned S after every step, whatever the trainer's project_every: the step size's bound on
// ‖S‖₂ (sBound) needs S in its set at every Forward.
func (l *Lateral) AfterStep(model.Work) error {
	l.steps++
	if l.prune != nil && l.steps%l.cfg.PruneEvery == 0 {
		if err := l.pruneS(); err != nil {
			return err
		}
	}
	if l.cfg.LearnS {
		l.ProjectS(l.s.Value)
	}
	return nil
}

// Loss reads back "recon" ½‖x − D z‖², "l1" ‖z‖₁, "inhib" |z|ᵀS|z|, "loss" the energy
// recon + λ·l1 + inhib, and "L0" the number of non-zero units, each summed over the batch.
func (l *Lateral) Loss(mw model.Work, phase int) (model.Sums, error) {
	w, be := mw.(*work), l.be
	l.abs(w.a, w.z, w.u)
	be.Gemm(false, false, 1, w.a, l.s.Value, 0, w.t)
	be.Hadamard(w.t, w.t, w.a)
	w.sums.Sum(w.r, kernels.ReduceSquares)
	w.sums.Sum(w.z, kernels.ReduceAbs)
	w.sums.Sum(w.t, kernels.ReduceSum)
	w.sums.Count(w.z, 0)
	v, err := w.sums.Read()
	if err != nil {
		return model.Sums{}, err
	}
	s := model.Sums{N: w.Size()}
	s.Set("loss", v[0]/2+l.cfg.Lambda*v[1]+v[2])
	s.Set("recon", v[0]/2)
	s.Set("l1", v[1])
	s.Set("inhib", v[2])
	s.Set("L0", v[3])
	return s, nil
}

// State is what steers the next steps beyond the parameters: the power iteration's warm-start
// vector, the step counts, L and, with pruning, S's pattern and the co-activity since the last
// pruning.
func (l *Lateral) State() ([]model.NamedTensor, error) {
	m := l.cfg.Units
	v := make([]float32, m)
	if err := l.be.Download(v, l.power.Vector()); err != nil {
		return nil, err
	}
	st := []model.NamedTensor{{Name: "power", Shape: []int{m}, Data: v},
		{Name: "steps", Shape: []int{2}, Data: []float32{float32(l.steps), float32(l.lipStep)}},
		{Name: "lipschitz", Shape: []int{1}, Data: []float32{float32(l.L)}}}
	if l.prune == nil {
		return st, nil
	}
	c := make([]float32, m*m)
	if err := l.be.Download(c, l.prune.coact); err != nil {
		return nil, err
	}
	return append(st, model.NamedTensor{Name: "mask", Shape: []int{m, m}, Data: slices.Clone(l.prune.mask)},
		model.NamedTensor{Name: "coactivity", Shape: []int{m, m}, Data: c}), nil
}

// SetState restores what State saved; a key it lacks keeps its start value.
func (l *Lateral) SetState(st map[string]model.HostTensor) error {
	m := l.cfg.Units
	sizes := []struct {
		name string
		n    int
	}{{"power", m}, {"steps", 2}, {"lipschitz", 1}, {"mask", m * m}, {"coactivity", m * m}}
	for _, k := range sizes {
		if v, ok := st[k.name]; ok && len(v.Data) != k.n {
			return fmt.Errorf("lateral: state %q has %d values, want %d", k.name, len(v.Data), k.n)
		}
	}
	if v, ok := st["power"]; ok {
		l.be.Upload(l.power.Vector(), v.Data)
	}
	if v, ok := st["steps"]; ok {
		if s, ls := v.Data[0], v.Data[1]; s < 0 || ls < 0 || ls > s || s != float32(int(s)) || ls != float32(int(ls)) {
			return fmt.Errorf("lateral: state \"steps\" holds %g and %g, want counts with the second at most the first", s, ls)
		}
		l.steps, l.lipStep = int(v.Data[0]), int(v.Data[1])
	}
	if v, ok := st["lipschitz"]; ok {
		if !(v.Data[0] > 0) {
			return fmt.Errorf("lateral: state \"lipschitz\" = %g, want > 0", v.Data[0])
		}
		l.L = float64(v.Data[0])
	}
	if l.prune != nil {
		return l.prune.setState(l.be, l.mask, l.cfg, st)
	}
	return nil
}
