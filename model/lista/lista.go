// Package lista is the learned ISTA encoder of Gregor & LeCun ("Learning Fast Approximations of
// Sparse Coding", ICML 2010, §3.1), the model kind "lista": T shrinkage steps trained to regress
// the optimal codes of a dictionary.
package lista

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/dict"
)

// phases: one phase of training.
var phases = []string{"train"}

// Kind is the kind's registered name.
const Kind = "lista"

func init() {
	model.Register(model.Kind{
		Name:      Kind,
		Summary:   "learned ISTA encoder (Gregor & LeCun 2010): T steps z ← h_θ(W_e x + S z) that regress a dictionary's FISTA codes",
		Phases:    phases,
		NewConfig: func() model.Config { c := DefaultConfig(); return &c },
		NewTrain:  DefaultTrainConfig,
		Data:      model.DataSpec{Source: "mnist", Preprocess: "none", TrainSize: 10000, TestSize: 1000},
		New:       func(be kernels.Backend, c model.Config) (model.Module, error) { return New(be, *c.(*Config)) },
	})
}

// Config holds the encoder's shape, the sparse coding problem it approximates (that of its
// dictionary) and how its targets are found.
type Config struct {
	Inputs int `json:"inputs" cfg:"required,noflag" help:"n, features of a sample (the dictionary's)"`
	Rows   int `json:"rows" cfg:"noflag" help:"image height of a sample (from the data)"`
	Cols   int `json:"cols" cfg:"noflag" help:"image width of a sample (from the data)"`
	Units  int `json:"units" cfg:"required,noflag" help:"m, atoms of the dictionary"`
	T      int `json:"T" cfg:"required" help:"shrinkage steps"`
	// Dictionary is the file of the dict model whose codes the encoder learns; Init reads it.
	Dictionary  string  `json:"dictionary" cfg:"required" flag:"dict" help:"the dictionary (.safetensors from drsae train dict)"`
	Lambda      float64 `json:"lambda" cfg:"noflag" help:"λ of the sparse coding problem (the dictionary's)"`
	NonNegative bool    `json:"nonnegative" cfg:"noflag" help:"one-sided shrinkage h⁺_θ(v) = max(v − θ, 0) (the dictionary's)"`
	// The targets z*: FISTA for TargetIterations iterations or until a relative change of TargetTol.
	TargetIterations int     `json:"target_iterations" help:"FISTA iterations for the target codes z*"`
	TargetTol        float64 `json:"target_tol" help:"stop FISTA for z* once the codes change by less than this, relative"`
	// InputPower E‖x‖² and CodePower E‖z*‖² of the training data scale the learning rates; the
	// first training run measures them (FitData).
	InputPower float64 `json:"input_power" cfg:"noflag" help:"E‖x‖² of the training data"`
	CodePower  float64 `json:"code_power" cfg:"noflag" help:"E‖z*‖² of the training targets"`
}

// DefaultConfig: T = 3, targets from 500 FISTA iterations or a relative change of 1e-6.
func DefaultConfig() Config { return Config{T: 3, TargetIterations: 500, TargetTol: 1e-6} }

// DefaultTrainConfig: 20 epochs of minibatches of 64, SGD with lr 0.3 and momentum 0.9.
func DefaultTrainConfig() model.TrainConfig {
	c := model.DefaultTrainConfig()
	c.Batch, c.Epochs, c.LR = 64, 20, 0.3
	return c
}

// Validate returns an error naming the first key out of range.
func (c Config) Validate() error {
	if err := model.CheckSizes(c.Inputs, c.Units, c.T); err != nil {
		return err
	}
	switch {
	case c.Inputs <= 0 || c.Units <= 0:
		return fmt.Errorf("inputs = %d, units = %d, want both > 0", c.Inputs, c.Units)
	case c.T <= 0:
		return fmt.Errorf("T = %d, want ≥ 1", c.T)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 1):
		return fmt.Errorf("lambda = %v, want a finite λ ≥ 0", c.Lambda)
	case c.TargetIterations <= 0:
		return fmt.Errorf("target_iterations = %d, want > 0", c.TargetIterations)
	case !(c.TargetTol >= 0 && c.TargetTol < 1):
		return fmt.Errorf("target_tol = %g, want 0 ≤ tol < 1", c.TargetTol)
	case c.InputPower < 0 || c.CodePower < 0:
		return fmt.Errorf("input_power = %g, code_power = %g, want ≥ 0", c.InputPower, c.CodePower)
	}
	return nil
}

// FromDictionary fills the keys that come from a dictionary's config.
func (c *Config) FromDictionary(d dict.Config) {
	c.Inputs, c.Units, c.Rows, c.Cols = d.Inputs, d.Units, d.Rows, d.Cols
	c.Lambda, c.NonNegative = d.Lambda, d.NonNegative
}

// LISTA is the encoder
//
//	z_0 = 0,  z_{t+1} = h_θ(W_e x + S z_t),  t = 0 … T−1,  output z_T   (model.ShrinkEncoder)
//
// with W_e [m,n], S [m,m], θ [m], trained on ½‖z_T − z*‖² with z* the optimal codes of its
// dictionary D [n,m] (kept frozen beside it, for reconstructions). From its initialization
// W_e = Dᵀ/L, S = I − DᵀD/L, θ = λ/L it computes exactly T iterations of ISTA.
type LISTA struct {
	cfg    Config
	be     kernels.Backend
	params []*model.Param // We, S, theta, D
	enc    model.ShrinkEncoder
}

var _ model.Module = (*LISTA)(nil)

// New allocates an encoder of zeros; Init (or FromDictionary, or loading) sets it.
func New(be kernels.Backend, cfg Config) (*LISTA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lista config: %w", err)
	}
	n, m := cfg.Inputs, cfg.Units
	ps, err := model.NewParams(be, []string{"We", "S", "theta", "D"}, [][]int{{m, n}, {m, m}, {m}, {n, m}})
	if err != nil {
		return nil, err
	}
	l := &LISTA{cfg: cfg, be: be, params: ps}
	ps[3].Frozen = true
	l.enc = model.ShrinkEncoder{E: ps[0], S: ps[1], Theta: ps[2], T: cfg.T, NonNegative: cfg.NonNegative}
	l.setScales()
	return l, nil
}

// setScales sets each parameter's learning rate to the inverse of the curvature of one step's
// loss in it — 1/E‖x‖² for W_e, 1/E‖z*‖² for S, 1 for θ — divided, as in DrSAE (Rolfe & LeCun
// 2013, §3), by T, the number of times each is repeated in the unrolled net; θ's by T². A change
// of θ lowers every active unit at every step, and through S these changes add up in the same
// direction, so the curvature in θ grows like T²: with θ's rate divided by T only, training at
// T ≥ 3 pushed θ up until units died for good (measured on MNIST, 400 atoms).
func (l *LISTA) setScales() {
	T := float64(l.cfg.T)
	l.params[0].LRScale = 1 / (T * math.Max(l.cfg.InputPower, 1e-12))
	l.params[1].LRScale = 1 / (T * math.Max(l.cfg.CodePower, 1e-12))
	l.params[2].LRScale = 1 / (T * T)
}

func (l *LISTA) Kind() string                     { return Kind }
func (l *LISTA) Config() model.Config             { return &l.cfg }
func (l *LISTA) Backend() kernels.Backend         { return l.be }
func (l *LISTA) Params() []*model.Param           { return l.params }
func (l *LISTA) Phases() []string                 { return phases }
func (l *LISTA) Criterion() string                { return "loss" }
func (l *LISTA) Code(w model.Work) kernels.Tensor { return w.(*work).enc.Code() }
func (l *LISTA) Free()                            { model.FreeParams(l.be, l.params) }

// D is the dictionary [n,m].
func (l *LISTA) D() kernels.Tensor { return l.params[3].Value }

// Init reads the dictionary named by the config and sets the encoder to its ISTA values.
func (l *LISTA) Init(train *model.Samples, seed uint64) error {
	d, err := dict.Load(l.be, l.cfg.Dictionary)
	if err != nil {
		return fmt.Errorf("lista: the dictionary: %w", err)
	}
	defer d.Free()
	return l.SetDictionary(d.D())
}

// SetDictionary copies d [n,m] as the encoder's dictionary and sets the encoder to ISTA's values
// for it: W_e = Dᵀ/L, S = I − DᵀD/L, θ = λ/L, L = λ_max(DᵀD) (Gregor & LeCun 2010, Algorithm 3).
func (l *LISTA) SetDictionary(d kernels.Tensor) error {
	kernels.CheckShape("lista.SetDictionary", "D", d, l.cfg.Inputs, l.cfg.Units)
	L, err := model.LipschitzConstant(l.be, d)
	if err != nil {
		return err
	}
	eye, err := model.Identity(l.be, l.cfg.Units)
	if err != nil {
		return err
	}
	defer l.be.Free(eye)
	l.be.Copy(l.D(), d)
	l.enc.SetISTA(l.be, d, eye, l.cfg.Lambda, L)
	return l.be.Sync()
}

// Targets sets s.Y to the optimal codes z* of s.X for the dictionary: FISTA for up to
// TargetIterations or until the relative change falls below TargetTol ("the optimal codes",
// Gregor & LeCun 2010, §3).
func (l *LISTA) Targets(s *model.Samples, progress model.ProgressFunc) error {
	c := l.cfg
	coder, err := model.NewSparseCoder(l.be, l.D(), model.CodingOptions{Lambda: c.Lambda, NonNegative: c.NonNegative,
		Algorithm: model.FISTA, MaxIter: c.TargetIterations, Tol: c.TargetTol})
	if err != nil {
		return err
	}
	defer coder.Free()
	z, err := model.CodeAll(l.be, coder, s, 256, progress)
	if err != nil {
		return err
	}
	s.Y, s.YDim = z, c.Units
	return nil
}

// FitData measures E‖x‖² and E‖z*‖² of the training data for the learning-rate scales, the first
// time the encoder trains (a resumed run keeps the values in its config).
func (l *LISTA) FitData(train *model.Samples) error {
	if l.cfg.InputPower == 0 {
		l.cfg.InputPower, l.cfg.CodePower = meanSquare(train.X, train.N()), meanSquare(train.Y, train.N())
		l.setScales()
	}
	return nil
}

func meanSquare(x []float32, n int) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s / float64(max(n, 1))
}

type work struct {
	x, zstar, diff, r kernels.Tensor // [B,n], [B,m], z_T − z* [B,m], z_T·Dᵀ − x [B,n]
	enc               *model.EncoderWork
	sums              *model.Scalars
	be                kernels.Backend
}

func (w *work) Size() int               { return w.x.Shape()[0] }
func (w *work) Inputs() kernels.Tensor  { return w.x }
func (w *work) Targets() kernels.Tensor { return w.zstar }
func (w *work) Free() {
	model.FreeTensors(w.be, w.x, w.zstar, w.diff, w.r)
	w.enc.Free()
	w.sums.Free()
}

// NewWork allocates the buffers of passes over b samples.
func (l *LISTA) NewWork(b int) (model.Work, error) {
	n, m := l.cfg.Inputs, l.cfg.Units
	ts, err := model.NewTensors(l.be, []int{b, n}, []int{b, m}, []int{b, m}, []int{b, n})
	if err != nil {
		return nil, err
	}
	w := &work{x: ts[0], zstar: ts[1], diff: ts[2], r: ts[3], be: l.be}
	if w.enc, err = l.enc.NewWork(l.be, b); err == nil {
		w.sums, err = model.NewScalars(l.be, 5)
	}
	if err != nil {
		model.FreeTensors(l.be, ts...)
		if w.enc != nil {
			w.enc.Free()
		}
		return nil, err
	}
	return w, nil
}

// Forward runs the T steps.
func (l *LISTA) Forward(mw model.Work, phase int) error {
	w := mw.(*work)
	l.enc.Forward(l.be, w.enc, w.x)
	return nil
}

// difference writes z_T − z* into w.diff.
func (l *LISTA) difference(w *work) {
	l.be.Copy(w.diff, w.enc.Code())
	l.be.Axpby(-1, w.zstar, 1, w.diff)
}

// Backward backpropagates δ = (z_T − z*)/B through the T steps (Gregor & LeCun 2010, Algorithm 4).
func (l *LISTA) Backward(mw model.Work, phase int) {
	w := mw.(*work)
	l.difference(w)
	l.be.Axpby(1/float32(w.Size()), w.diff, 0, w.enc.Delta)
	l.enc.Backward(l.be, w.enc, w.x)
}

// Loss reads back "loss" ½‖z_T − z*‖², "code_err" ‖z_T − z*‖², and, against the dictionary,
// "objective" ½‖x − D z_T‖² + λ‖z_T‖₁ with its "recon" and "l1" terms and "L0".
func (l *LISTA) Loss(mw model.Work, phase int) (model.Sums, error) {
	w, be := mw.(*work), l.be
	z := w.enc.Code()
	l.difference(w)
	be.Copy(w.r, w.x)
	be.Gemm(false, true, 1, z, l.D(), -1, w.r) // the reconstruction, only where it is read back
	w.sums.Sum(w.diff, kernels.ReduceSquares)
	w.sums.Sum(w.r, kernels.ReduceSquares)
	w.sums.Sum(z, kernels.ReduceAbs)
	w.sums.Count(z, 0)
	v, err := w.sums.Read()
	if err != nil {
		return model.Sums{}, err
	}
	s := model.Sums{N: w.Size()}
	s.Set("loss", v[0]/2)
	s.Set("code_err", v[0])
	s.Set("objective", v[1]/2+l.cfg.Lambda*v[2])
	s.Set("recon", v[1]/2)
	s.Set("l1", v[2])
	s.Set("L0", v[3])
	return s, nil
}
