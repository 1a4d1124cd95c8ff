package topo

import (
	"fmt"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// Topo is a group-sparse auto-encoder with n inputs and m units on a MapH×MapW map:
//
//	encoder:  F(x) = g ⊙ max(0, W_e x − b)     W_e [m,n], b [m], g [m] (a learned scale per unit)
//	decoder:  x̂ = D z                          D [n,m], unit-norm columns
//	loss:     ½‖x − D z‖² + λ Σ_j √(ε + Σ_{i∈P_j} w_ji z_i²)
//
// With Predictive false, z = F(x) and the whole loss is lowered in all four parameters. With
// Predictive true (predictive sparse decomposition), z is the optimal code z* for D, the decoder
// lowers ½‖x − D z*‖² and the encoder α/2‖z* − F(x)‖². The pools P_j and weights w are fixed;
// with overlapping windows on a torus they make neighbouring units learn similar filters. In
// PyTorch, with t = safetensors.torch.load_file(path):
//
//	z = t["g"] * relu(x @ t["We"].T - t["b"]);  x_hat = z @ t["D"].T
type Topo struct {
	cfg            Config
	be             kernels.Backend
	Layout         *kernels.PoolLayout
	Pools          kernels.Pools
	params         []*model.Param // We, b, g, D
	we, b, g, d    *model.Param
	dNorm, dInv    kernels.Tensor // [m] column norms of D and their inverses
	onesM          kernels.Tensor // [m]
	solver         *model.GroupSparse
	steps, lipStep int // training steps done; the step the last step size was estimated for
}

var _ model.Module = (*Topo)(nil)

// New allocates a model with zero parameters and copies its pools to the device.
func New(be kernels.Backend, cfg Config) (*Topo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("topo config: %w", err)
	}
	layout, _ := cfg.Layout()
	n, m := cfg.Inputs, cfg.Units()
	ps, err := model.NewParams(be, []string{"We", "b", "g", "D"}, [][]int{{m, n}, {m}, {m}, {n, m}})
	if err != nil {
		return nil, err
	}
	t := &Topo{cfg: cfg, be: be, Layout: layout, params: ps, we: ps[0], b: ps[1], g: ps[2], d: ps[3]}
	ts, err := model.NewTensors(be, []int{m}, []int{m}, []int{m})
	if err == nil {
		t.dNorm, t.dInv, t.onesM = ts[0], ts[1], ts[2]
		be.Fill(t.onesM, 1)
		t.Pools, err = be.NewPools(layout)
	}
	if err != nil {
		t.Free()
		return nil, fmt.Errorf("topo: %w", err)
	}
	t.d.LRScale, t.d.Project = cfg.DecoderLRScale, t.normalize
	return t, nil
}

func (t *Topo) Kind() string             { return Kind }
func (t *Topo) Config() model.Config     { return &t.cfg }
func (t *Topo) Backend() kernels.Backend { return t.be }
func (t *Topo) Params() []*model.Param   { return t.params }
func (t *Topo) Phases() []string         { return phases }
func (t *Topo) Criterion() string        { return "loss" }

// Code is the code z of the last Forward: the encoder's output, or the optimal code.
func (t *Topo) Code(w model.Work) kernels.Tensor { return w.(*work).z }

// Free releases the parameters, the pools and the solver.
func (t *Topo) Free() {
	model.FreeParams(t.be, t.params)
	model.FreeTensors(t.be, t.dNorm, t.dInv, t.onesM)
	if t.Pools != nil {
		t.be.FreePools(t.Pools)
	}
	if t.solver != nil {
		t.solver.Free()
	}
}

// normalize scales every column of d to unit norm, on the device (D's projection).
func (t *Topo) normalize(d kernels.Tensor) {
	t.be.Norms(t.dNorm, d, kernels.PerCol)
	t.be.Div(t.dInv, t.onesM, t.dNorm)
	t.be.BroadcastMul(d, d, t.dInv, kernels.PerCol)
}

// Init draws D with unit-norm Gaussian columns, sets W_e = Dᵀ (the encoder starts as the
// decoder's transpose), b = 0 and g = 1. The same seed gives the same parameters.
func (t *Topo) Init(_ *model.Samples, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 0x70b0))
	t.be.Upload(t.we.Value, model.UnitRows(r, t.cfg.Units(), t.cfg.Inputs)) // D's columns, as rows
	t.be.Transpose(t.d.Value, t.we.Value)
	t.be.Fill(t.b.Value, 0)
	t.be.Fill(t.g.Value, 1)
	return t.be.Sync()
}

// work holds one batch size's buffers.
type work struct {
	x    kernels.Tensor // [B,n] input
	a    kernels.Tensor // [B,m] W_e x
	u    kernels.Tensor // [B,m] max(0, W_e x − b)
	f    kernels.Tensor // [B,m] encoder output g ⊙ U
	z    kernels.Tensor // [B,m] the code: f itself, or the optimal code z* (predictive)
	r    kernels.Tensor // [B,n] residual D z − x
	p    kernels.Tensor // [B,P] pool responses √(ε + Σ w z²)
	dz   kernels.Tensor // [B,m]
	tmp  kernels.Tensor // [B,m]
	da   kernels.Tensor // [B,m]
	lam  kernels.Tensor // [B,P] holding λ/B
	ones kernels.Tensor // [1,B]
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
func (t *Topo) NewWork(b int) (model.Work, error) {
	n, m, p := t.cfg.Inputs, t.cfg.Units(), t.Layout.NumPools()
	shapes := [][]int{{b, n}, {b, m}, {b, m}, {b, m}, {b, n}, {b, p}, {b, m}, {b, m}, {b, m}, {b, p}, {1, b}}
	if t.cfg.Predictive {
		shapes = append(shapes, []int{b, m})
	}
	ts, err := model.NewTensors(t.be, shapes...)
	if err != nil {
		return nil, err
	}
	w := &work{x: ts[0], a: ts[1], u: ts[2], f: ts[3], r: ts[4], p: ts[5], dz: ts[6], tmp: ts[7], da: ts[8], lam: ts[9], ones: ts[10], all: ts, be: t.be}
	w.z = w.f
	if t.cfg.Predictive {
		w.z = ts[11]
	}
	if w.sums, err = model.NewScalars(t.be, 4); err != nil {
		model.FreeTensors(t.be, ts...)
		return nil, err
	}
	t.be.Fill(w.ones, 1)
	t.be.Fill(w.lam, float32(t.cfg.Lambda/float64(b)))
	return w, nil
}

// Encode computes F = g ⊙ max(0, W_e x − b) of the batch in w.
func (t *Topo) encode(w *work) {
	be := t.be
	be.Gemm(false, true, 1, w.x, t.we.Value, 0, w.a) // A = X·W_eᵀ [B,m]
	be.PosShrink(w.u, w.a, t.b.Value)                // U = max(0, A − b)
	be.BroadcastMul(w.f, w.u, t.g.Value, kernels.PerCol)
}

// infer replaces z by the optimal code z* for the current D, warm-started from and pulled
// towards F. The step size 1/L is re-estimated every LipschitzEvery training steps (5
// warm-started power iterations): D moves a little every step.
func (t *Topo) infer(w *work) error {
	if err := t.makeSolver(); err != nil {
		return err
	}
	t.solver.UseDictionary(t.d.Value)
	if next := t.steps + 1; next%t.cfg.LipschitzEvery == 0 && t.lipStep != next {
		if _, err := t.solver.UpdateLipschitz(5); err != nil {
			return err
		}
		t.lipStep = next
	}
	t.be.Copy(w.z, w.f)
	return t.solver.Solve(w.z, w.x, w.f)
}

// makeSolver makes the predictive model's group-sparse solver on first use; it estimates its
// step size for the current D.
func (t *Topo) makeSolver() error {
	if t.solver != nil {
		return nil
	}
	s, err := model.NewGroupSparse(t.be, t.d.Value, t.Pools, model.GroupSparseOptions{
		Lambda: float32(t.cfg.Lambda), Eps: float32(t.cfg.Eps), Alpha: float32(t.cfg.Alpha),
		NonNegative: true, Iters: t.cfg.InferIters})
	if err != nil {
		return fmt.Errorf("topo: %w", err)
	}
	t.solver = s
	return nil
}

// Forward computes the code, the residual R = Z·Dᵀ − X and the pool responses P.
func (t *Topo) Forward(mw model.Work, phase int) error {
	w := mw.(*work)
	t.encode(w)
	if t.cfg.Predictive {
		if err := t.infer(w); err != nil {
			return err
		}
	}
	t.decode(w)
	return nil
}

// decode computes R = Z·Dᵀ − X and P for the code in w.
func (t *Topo) decode(w *work) {
	t.be.Copy(w.r, w.x)
	t.be.Gemm(false, true, 1, w.z, t.d.Value, -1, w.r)
	t.be.PoolNorms(w.p, w.z, t.Pools, float32(t.cfg.Eps))
}

// Backward writes the gradients of the batch mean of the loss:
//
//	auto-encoder:  L = ½‖x − D z‖² + λ Σ_j √(ε + Σ w z²),  z = F(x)
//	predictive:    L_D = ½‖x − D z*‖² for D,  L_F = α'/2·‖z* − F(x)‖² for W_e, b, g (α' = α, or 1 when α = 0)
func (t *Topo) Backward(mw model.Work, phase int) {
	w, be := mw.(*work), t.be
	t.steps++
	inv := 1 / float32(w.Size())
	be.Gemm(true, false, inv, w.r, w.z, 0, t.d.Grad) // ∂/∂D ½‖D z − x‖² = r zᵀ: Rᵀ·Z/B [n,m]
	if t.cfg.Predictive {
		a := float32(t.cfg.Alpha)
		if a == 0 {
			a = 1
		}
		be.Copy(w.dz, w.f) // dF = α(F − z*)/B
		be.Axpby(-a*inv, w.z, a*inv, w.dz)
	} else {
		be.Gemm(false, false, inv, w.r, t.d.Value, 0, w.dz) // dZ = R·D/B + (λ/B)·∂penalty/∂z
		be.PoolNormsBackward(w.tmp, w.lam, w.z, w.p, t.Pools)
		be.Axpby(1, w.tmp, 1, w.dz)
	}
	// Through F = g ⊙ max(0, X·W_eᵀ − b).
	be.Hadamard(w.tmp, w.dz, w.u)
	be.Gemm(false, false, 1, w.ones, w.tmp, 0, be.Reshape(t.g.Grad, 1, t.cfg.Units())) // dg = Σ_b dF ⊙ U
	be.BroadcastMul(w.tmp, w.dz, t.g.Value, kernels.PerCol)                            // dU = dF ⊙ g
	be.PosShrinkBackward(w.da, t.b.Grad, w.tmp, w.a, t.b.Value)                        // dA, db
	be.Gemm(true, false, 1, w.da, w.x, 0, t.we.Grad)                                   // dW_e = dAᵀ·X [m,n]
}

// ActiveThreshold is the |z| above which a unit counts as active: the encoder's ReLU gives exact
// zeros, the smoothed solver of a predictive model leaves tiny values instead.
const ActiveThreshold = 1e-3

// Loss reads back "recon" ½‖x − D z‖², "penalty" Σ_j √(ε + Σ w z²) (without λ), "loss"
// recon + λ·penalty, "active" (the fraction of active units, summed over samples) and, for a
// predictive model, "pred_err" ½‖z* − F(x)‖².
func (t *Topo) Loss(mw model.Work, phase int) (model.Sums, error) {
	w := mw.(*work)
	w.sums.Sum(w.r, kernels.ReduceSquares)
	w.sums.Sum(w.p, kernels.ReduceSum)
	w.sums.Count(w.z, ActiveThreshold)
	if t.cfg.Predictive {
		t.be.Copy(w.tmp, w.f)
		t.be.Axpby(-1, w.z, 1, w.tmp)
		w.sums.Sum(w.tmp, kernels.ReduceSquares)
	}
	v, err := w.sums.Read()
	if err != nil {
		return model.Sums{}, err
	}
	s := model.Sums{N: w.Size()}
	s.Set("loss", v[0]/2+t.cfg.Lambda*v[1])
	s.Set("recon", v[0]/2)
	s.Set("penalty", v[1])
	s.Set("active", v[2]/float64(t.cfg.Units()))
	if t.cfg.Predictive {
		s.Set("pred_err", v[3]/2)
	}
	return s, nil
}

// State is the step counter and, for a predictive model, the solver's step size and the
// warm-start vector of its power iteration.
func (t *Topo) State() ([]model.NamedTensor, error) {
	st := []model.NamedTensor{{Name: "steps", Shape: []int{2}, Data: []float32{float32(t.steps), float32(t.lipStep)}}}
	if t.solver != nil {
		v := make([]float32, t.cfg.Units())
		if err := t.be.Download(v, t.solver.PowerVector()); err != nil {
			return nil, err
		}
		st = append(st, model.NamedTensor{Name: "power", Shape: []int{len(v)}, Data: v},
			model.NamedTensor{Name: "lipschitz", Shape: []int{1}, Data: []float32{t.solver.DictionaryLipschitz()}})
	}
	return st, nil
}

// SetState restores what State saved.
func (t *Topo) SetState(st map[string]model.HostTensor) error {
	if s := st["steps"].Data; len(s) == 2 {
		t.steps, t.lipStep = int(s[0]), int(s[1])
	}
	if v, ok := st["power"]; ok && t.cfg.Predictive {
		if err := t.makeSolver(); err != nil {
			return err
		}
		if len(v.Data) != t.cfg.Units() || len(st["lipschitz"].Data) != 1 {
			return fmt.Errorf("state \"power\" or \"lipschitz\" has the wrong length")
		}
		t.be.Upload(t.solver.PowerVector(), v.Data)
		t.solver.SetLipschitz(st["lipschitz"].Data[0])
	}
	return nil
}
