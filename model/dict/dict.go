// Package dict is dictionary learning for sparse coding, the model kind "dict": a dictionary D
// [n, m] (a unit-norm column per atom) for which samples have sparse codes
// z = argmin ½‖x − D z‖² + λ‖z‖₁, learned as scikit-learn's MiniBatchDictionaryLearning and
// SPAMS' trainDL do, by alternating FISTA on a minibatch with a projected gradient step on D.
package dict

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// phases: one phase of training.
var phases = []string{"train"}

// Kind is the kind's registered name.
const Kind = "dict"

func init() {
	model.Register(model.Kind{
		Name:      Kind,
		Summary:   "sparse coding dictionary D: min ½‖x − Dz‖² + λ‖z‖₁ by FISTA, learned on minibatches",
		Phases:    phases,
		NewConfig: func() model.Config { c := DefaultConfig(); return &c },
		NewTrain:  DefaultTrainConfig,
		Data:      model.DataSpec{Source: "mnist", Preprocess: "none", TestSize: 1000},
		New:       func(be kernels.Backend, c model.Config) (model.Module, error) { return New(be, *c.(*Config)) },
	})
}

// Config holds a dictionary's shape, its coding problem and its inference.
type Config struct {
	Inputs int `json:"inputs" cfg:"required,noflag" help:"n, features of a sample (from the data)"`
	Rows   int `json:"rows" cfg:"noflag" help:"image height of a sample (from the data)"`
	Cols   int `json:"cols" cfg:"noflag" help:"image width of a sample (from the data)"`
	Units  int `json:"units" cfg:"required" help:"m, atoms of the dictionary"`

	Lambda      float64 `json:"lambda" help:"weight λ of the L1 penalty"`
	NonNegative bool    `json:"nonnegative" help:"non-negative codes z ≥ 0"`
	// NonNegativeDict constrains the atoms to D ≥ 0 as well (SPAMS' posD, scikit-learn's
	// positive_dict): the projection onto {D ≥ 0, ‖d_j‖ ≤ 1}.
	NonNegativeDict bool    `json:"nonnegative_dict" help:"non-negative atoms D ≥ 0"`
	Algorithm       string  `json:"algorithm" help:"sparse inference: fista or ista"`
	Iterations      int     `json:"iterations" help:"inference iterations per minibatch"`
	Tol             float64 `json:"tol" help:"stop inference once the codes change by less than this, relative (0: run every iteration)"`
	// DeadAfter: an atom that no code has used for this many consecutive training samples is
	// replaced by the worst-reconstructed sample of the current minibatch, scaled to unit norm
	// (SPAMS' "clean" option does the same). Negative: never.
	DeadAfter int `json:"dead_after" help:"replace an atom unused for this many training samples (negative: never)"`
}

// DefaultConfig: 400 atoms, λ = 0.1, FISTA with 50 iterations, dead atoms replaced after 5000
// samples.
func DefaultConfig() Config {
	return Config{Units: 400, Lambda: 0.1, Algorithm: "fista", Iterations: 50, DeadAfter: 5000}
}

// DefaultTrainConfig: 10 epochs of minibatches of 256, plain SGD with lr 1 — the step on D is in
// units of 1/λ_max(ZᵀZ), the inverse Lipschitz constant of the minibatch gradient in D, so 1 is
// the largest step that cannot increase the minibatch loss.
func DefaultTrainConfig() model.TrainConfig {
	c := model.DefaultTrainConfig()
	c.Batch, c.Epochs, c.LR, c.Momentum = 256, 10, 1, 0
	return c
}

// Validate returns an error naming the first key out of range.
func (c Config) Validate() error {
	if err := model.CheckSizes(c.Inputs, c.Units, 0); err != nil {
		return err
	}
	switch {
	case c.Inputs <= 0:
		return fmt.Errorf("inputs = %d, want > 0", c.Inputs)
	case c.Units <= 0:
		return fmt.Errorf("units = %d, want > 0", c.Units)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 1):
		return fmt.Errorf("lambda = %v, want a finite λ ≥ 0", c.Lambda)
	case c.Iterations <= 0:
		return fmt.Errorf("iterations = %d, want > 0", c.Iterations)
	case !(c.Tol >= 0 && c.Tol < 1):
		return fmt.Errorf("tol = %v, want 0 ≤ tol < 1", c.Tol)
	case c.Rows*c.Cols != 0 && c.Rows*c.Cols != c.Inputs:
		return fmt.Errorf("rows × cols = %d×%d does not hold %d inputs", c.Rows, c.Cols, c.Inputs)
	}
	if _, err := model.ParseAlgorithm(c.Algorithm); err != nil {
		return fmt.Errorf("algorithm = %q, want fista or ista", c.Algorithm)
	}
	return nil
}

// CodingOptions are the options of a SparseCoder for this dictionary.
func (c Config) CodingOptions() model.CodingOptions {
	alg, _ := model.ParseAlgorithm(c.Algorithm)
	return model.CodingOptions{Lambda: c.Lambda, NonNegative: c.NonNegative, Algorithm: alg, MaxIter: c.Iterations, Tol: c.Tol}
}

// Dict is a learned dictionary. Its training step, for a minibatch X [B,n]:
//
//  1. Z = argmin ½‖X − Z Dᵀ‖² + λ‖Z‖₁ by Iterations of FISTA (or ISTA) from zero;
//  2. D ← D − lr·(B/λ_max(ZᵀZ))·∂L/∂D with L the minibatch mean of ½‖X − Z Dᵀ‖², i.e.
//     D + (lr/λ_max(ZᵀZ))·(X − Z Dᵀ)ᵀZ: the module sets D's learning-rate scale every step;
//  3. every column projected onto the unit ball (and D ≥ 0 with NonNegativeDict);
//  4. atoms unused for DeadAfter samples replaced by the worst-reconstructed samples.
type Dict struct {
	cfg    Config
	be     kernels.Backend
	params []*model.Param
	coder  *model.SparseCoder
	powerZ *model.PowerIteration
	zero   kernels.Tensor // [m] zeros, the clip of NonNegativeDict
	unused []float32      // per atom, training samples since a code last used it
	err    error          // a failure inside Backward, reported by AfterStep
}

var _ model.Module = (*Dict)(nil)

// New allocates a dictionary of zeros; Init or loading sets it.
func New(be kernels.Backend, cfg Config) (*Dict, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dict config: %w", err)
	}
	ps, err := model.NewParams(be, []string{"D"}, [][]int{{cfg.Inputs, cfg.Units}})
	if err != nil {
		return nil, err
	}
	d := &Dict{cfg: cfg, be: be, params: ps, unused: make([]float32, cfg.Units)}
	if d.zero, err = be.New(cfg.Units); err == nil {
		d.powerZ, err = model.NewPowerIteration(be, cfg.Units, 8)
	}
	if err != nil {
		d.Free()
		return nil, err
	}
	ps[0].Project = d.project
	return d, nil
}

func (d *Dict) Kind() string                     { return Kind }
func (d *Dict) Config() model.Config             { return &d.cfg }
func (d *Dict) Backend() kernels.Backend         { return d.be }
func (d *Dict) Params() []*model.Param           { return d.params }
func (d *Dict) Phases() []string                 { return phases }
func (d *Dict) Criterion() string                { return "loss" }
func (d *Dict) Code(w model.Work) kernels.Tensor { return w.(*work).z }

// D is the dictionary [n, m].
func (d *Dict) D() kernels.Tensor { return d.params[0].Value }

// Free releases the device memory.
func (d *Dict) Free() {
	model.FreeParams(d.be, d.params)
	model.FreeTensors(d.be, d.zero)
	if d.coder != nil {
		d.coder.Free()
	}
	if d.powerZ != nil {
		d.powerZ.Free()
	}
}

// project puts x in the constraint set: every column in the unit ball and, with
// NonNegativeDict, x ≥ 0 first. Clipping then scaling is the exact projection onto the
// intersection: scaling a non-negative vector keeps it non-negative.
func (d *Dict) project(x kernels.Tensor) {
	if d.cfg.NonNegativeDict {
		d.be.PosShrink(x, x, d.zero)
	}
	d.be.ProjectNormBall(x, 1, kernels.PerCol)
}

// Init sets the atoms to Units random training samples scaled to unit norm, as SPAMS does; an
// all-zero sample is replaced by a random direction, and with more atoms than samples, samples
// repeat with a little noise.
func (d *Dict) Init(train *model.Samples, seed uint64) error {
	n, m := d.cfg.Inputs, d.cfg.Units
	if train.N() == 0 || train.Dim != n {
		return fmt.Errorf("dict init: %d samples of %d features, want some of %d", train.N(), train.Dim, n)
	}
	num := train.N()
	rng := rand.New(rand.NewPCG(seed, 0xd1c7))
	perm := rng.Perm(num)
	host := make([]float32, n*m)
	col := make([]float64, n)
	for j := range m {
		s := train.X[perm[j%num]*n:]
		var norm float64
		for i := range col {
			col[i] = float64(s[i])
			if j >= num {
				col[i] += 0.01 * rng.NormFloat64()
			}
			norm += col[i] * col[i]
		}
		if norm == 0 {
			for i := range col {
				col[i] = rng.NormFloat64()
				norm += col[i] * col[i]
			}
		}
		for i := range col {
			host[i*m+j] = float32(col[i] / math.Sqrt(norm))
		}
	}
	d.be.Upload(d.D(), host)
	d.project(d.D())
	return d.be.Sync()
}

// work holds one batch size's buffers.
type work struct {
	x, z, r kernels.Tensor // [B,n], [B,m], residual Z·Dᵀ − X [B,n]
	counts  kernels.Tensor // [m]
	rows    kernels.Tensor // [B]
	sums    *model.Scalars
	be      kernels.Backend
}

func (w *work) Size() int               { return w.x.Shape()[0] }
func (w *work) Inputs() kernels.Tensor  { return w.x }
func (w *work) Targets() kernels.Tensor { return nil }
func (w *work) Free() {
	model.FreeTensors(w.be, w.x, w.z, w.r, w.counts, w.rows)
	w.sums.Free()
}

// NewWork allocates the buffers of passes over b samples.
func (d *Dict) NewWork(b int) (model.Work, error) {
	n, m := d.cfg.Inputs, d.cfg.Units
	ts, err := model.NewTensors(d.be, []int{b, n}, []int{b, m}, []int{b, n}, []int{m}, []int{b})
	if err != nil {
		return nil, err
	}
	w := &work{x: ts[0], z: ts[1], r: ts[2], counts: ts[3], rows: ts[4], be: d.be}
	if w.sums, err = model.NewScalars(d.be, 3); err != nil {
		model.FreeTensors(d.be, ts...)
		return nil, err
	}
	return w, nil
}

// Coder returns the dictionary's sparse coder, made on first use, for the current D.
func (d *Dict) Coder() (*model.SparseCoder, error) {
	if d.coder == nil {
		c, err := model.NewSparseCoder(d.be, d.D(), d.cfg.CodingOptions())
		if err != nil {
			return nil, err
		}
		d.coder = c
		return c, nil
	}
	// The power iteration starts from the last estimate's vector: a few steps after a small change.
	return d.coder, d.coder.SetDictionary(d.D())
}

// Forward codes the batch (step 1) and leaves the residual Z·Dᵀ − X.
func (d *Dict) Forward(mw model.Work, phase int) error {
	w := mw.(*work)
	coder, err := d.Coder()
	if err != nil {
		return err
	}
	if _, err := coder.Encode(w.z, w.x); err != nil {
		return err
	}
	d.be.Copy(w.r, w.x)
	d.be.Gemm(false, true, 1, w.z, d.D(), -1, w.r)
	return nil
}

// Backward writes ∂L/∂D = rᵀ·Z/B and sets D's learning-rate scale to B/λ_max(ZᵀZ) (0 when the
// codes are all zero: no step).
func (d *Dict) Backward(mw model.Work, phase int) {
	w := mw.(*work)
	b := w.Size()
	d.be.Gemm(true, false, 1/float32(b), w.r, w.z, 0, d.params[0].Grad)
	lz, _, err := d.powerZ.Run(w.z, 50, 1e-3)
	d.err = err
	d.params[0].LRScale = 0
	if lz > 0 {
		d.params[0].LRScale = float64(b) / lz
	}
}

// Loss reads back "recon" ½‖x − Dz‖², "l1" ‖z‖₁ and "L0", and "loss" ½‖x − Dz‖² + λ‖z‖₁.
func (d *Dict) Loss(mw model.Work, phase int) (model.Sums, error) {
	w := mw.(*work)
	w.sums.Sum(w.r, kernels.ReduceSquares)
	w.sums.Sum(w.z, kernels.ReduceAbs)
	w.sums.Count(w.z, 0)
	v, err := w.sums.Read()
	if err != nil {
		return model.Sums{}, err
	}
	s := model.Sums{N: w.Size()}
	s.Set("loss", v[0]/2+d.cfg.Lambda*v[1])
	s.Set("recon", v[0]/2)
	s.Set("l1", v[1])
	s.Set("L0", v[2])
	return s, nil
}

// AfterStep replaces the atoms that no code has used for DeadAfter samples by the samples of the
// minibatch with the largest reconstruction errors, scaled to unit norm, with a column scatter
// on the device (step 4).
func (d *Dict) AfterStep(mw model.Work) error {
	if d.err != nil || d.cfg.DeadAfter < 0 {
		return d.err
	}
	w, be := mw.(*work), d.be
	b, n := w.Size(), d.cfg.Inputs
	used := make([]float32, d.cfg.Units)
	be.CountAbove(w.counts, w.z, 0, kernels.PerCol)
	if err := be.Download(used, w.counts); err != nil {
		return err
	}
	var dead []int
	for j, u := range used {
		if u > 0 {
			d.unused[j] = 0
		} else if d.unused[j] += float32(b); d.unused[j] >= float32(max(d.cfg.DeadAfter, b)) {
			dead = append(dead, j)
		}
	}
	if len(dead) == 0 {
		return nil
	}
	errs := make([]float32, b)
	x := make([]float32, b*n)
	be.Norms(w.rows, w.r, kernels.PerRow)
	if err := be.Download(errs, w.rows); err != nil {
		return err
	}
	if err := be.Download(x, w.x); err != nil {
		return err
	}
	// The worst-reconstructed samples, worst first (a zero sample, reconstructed exactly, is never one).
	order := make([]int, b)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(errs[j], errs[i]) })
	k := min(len(dead), b)
	src := make([]float32, n*k) // [n, k]: column c is the replacement of atom dead[c]
	idx := make([]float32, k)
	for c, j := range dead[:k] {
		s := x[order[c]*n : (order[c]+1)*n]
		var norm float64
		for _, v := range s {
			norm += float64(v) * float64(v)
		}
		for i, v := range s {
			src[i*k+c] = float32(float64(v) / math.Sqrt(max(norm, 1e-30)))
		}
		idx[c] = float32(j)
	}
	for _, j := range dead {
		d.unused[j] = 0
	}
	ts, err := model.NewTensors(be, []int{n, k}, []int{k})
	if err != nil {
		return err
	}
	defer model.FreeTensors(be, ts...)
	be.Upload(ts[0], src)
	be.Upload(ts[1], idx)
	be.ScatterCols(d.D(), ts[0], ts[1])
	return nil
}

// State is what steers later steps beyond D: the atoms' unused counters and the warm-start
// vectors of the two power iterations.
func (d *Dict) State() ([]model.NamedTensor, error) {
	st := []model.NamedTensor{{Name: "unused", Shape: []int{d.cfg.Units}, Data: slices.Clone(d.unused)}}
	pis := map[string]*model.PowerIteration{"power_z": d.powerZ}
	if d.coder != nil {
		pis["power_d"] = d.coder.Power()
	}
	for name, pi := range pis {
		v := make([]float32, d.cfg.Units)
		if err := d.be.Download(v, pi.Vector()); err != nil {
			return nil, err
		}
		st = append(st, model.NamedTensor{Name: name, Shape: []int{d.cfg.Units}, Data: v})
	}
	return st, nil
}

// SetState restores what State saved.
func (d *Dict) SetState(st map[string]model.HostTensor) error {
	for name, t := range st {
		if len(t.Data) != d.cfg.Units {
			return fmt.Errorf("state %q: %d values, want %d", name, len(t.Data), d.cfg.Units)
		}
	}
	copy(d.unused, st["unused"].Data)
	if v, ok := st["power_z"]; ok {
		d.be.Upload(d.powerZ.Vector(), v.Data)
	}
	if v, ok := st["power_d"]; ok {
		if _, err := d.Coder(); err != nil {
			return err
		}
		d.be.Upload(d.coder.Power().Vector(), v.Data)
	}
	return nil
}

// Load reads a saved dictionary.
func Load(be kernels.Backend, path string) (*Dict, error) {
	m, _, err := model.LoadModel(be, path)
	if err != nil {
		return nil, err
	}
	d, ok := m.(*Dict)
	if !ok {
		m.Free()
		return nil, fmt.Errorf("%s: a %s model, not a dictionary", path, m.Kind())
	}
	return d, nil
}
