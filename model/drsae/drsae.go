// Package drsae is the discriminative recurrent sparse auto-encoder (Rolfe & LeCun,
// "Discriminative Recurrent Sparse Auto-Encoders", ICLR 2013, arXiv:1301.3775), the model kind
// "drsae".
package drsae

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// Kind is the kind's registered name, the "model" key of its saved config.
const Kind = "drsae"

// phases: pre-training on reconstruction and sparsity, then all three terms (Rolfe & LeCun 2013, §3).
var phases = []string{"unsupervised", "supervised"}

func init() {
	model.Register(model.Kind{
		Name:      Kind,
		Summary:   "discriminative recurrent sparse auto-encoder (Rolfe & LeCun 2013) on MNIST",
		Phases:    phases,
		NewConfig: func() model.Config { c := DefaultConfig(); return &c },
		NewTrain:  DefaultTrainConfig,
		Data:      model.DataSpec{Source: "mnist", Preprocess: "l2", TrainSize: 50000, ValidSize: 10000},
		New:       func(be kernels.Backend, c model.Config) (model.Module, error) { return New(be, *c.(*Config)) },
		Recipes: map[string]model.Recipe{"paper": {
			Summary: "the authors' schedule: minibatch 10, plain SGD at 5e-3 on the minibatch's summed gradient (lr 0.05 here, on the mean) " +
				"decayed by 5e-7 per sample over the whole run, 100 unsupervised epochs, up to 1000 discriminative ones with early stopping " +
				"(patience 100) on the last 10,000 training digits, C's rate divided by 5, repairs every 5 minibatches",
			Apply: paperRecipe,
		}},
	})
}

// paperRecipe is the schedule of the authors' code (rolfe/recpool at the paper's runs, e.g. 2db99f2 of
// 2012-12-18) as issue 15 and docs/drsae.md read it: loss weights 5·½‖x − Dz‖² + 0.09‖z‖₁ + 1·NLL and
// the initialization are the defaults already. Their trainer adds the gradients of a minibatch
// without dividing by its size, so their rate 5e-3 is 0.05 on the minibatch mean used here; their
// decay counts every minibatch since the start (the counter's reset at the phase boundary is
// commented out), 5e-7 per sample. One choice is ours: the patience of the early stopping (their
// code saves the parameters every 50 epochs and tests every second one; the choice is by hand).
func paperRecipe(c model.Config, tc *model.TrainConfig, data *model.DataSpec) {
	cfg := c.(*Config)
	cfg.ReconWeight, cfg.Lambda, cfg.ClassWeight, cfg.ClassLRDivisor = 5, 0.09, 1, 5
	tc.Optimizer, tc.Batch, tc.Momentum, tc.LR, tc.LRDecay, tc.LRRestart = model.OptSGD, 10, 0, 0.05, 5e-7, false
	tc.PretrainEpochs, tc.Epochs, tc.Patience, tc.ProjectEvery, tc.Average = 100, 1000, 100, 5, 0
	data.TrainSize, data.ValidSize = 50000, 10000
}

// Config fixes the shape and the loss of a DrSAE. The loss of one sample is
// ReconWeight·½‖x − D z^T‖² + Lambda·‖z^T‖₁ + ClassWeight·CE, averaged over a minibatch.
type Config struct {
	Inputs  int `json:"inputs" cfg:"required,noflag" help:"n, features of a sample (from the data)"`
	Rows    int `json:"rows" cfg:"noflag" help:"image height of a sample, for pictures (from the data)"`
	Cols    int `json:"cols" cfg:"noflag" help:"image width of a sample (from the data)"`
	Classes int `json:"classes" cfg:"required,noflag" help:"k, classes of the classifier (from the data)"`
	Units   int `json:"units" cfg:"required" help:"m, hidden units (the paper's net: 400)"`
	T       int `json:"T" cfg:"required" help:"encoder steps (the paper's net: 11)"`

	Lambda      float64 `json:"lambda" help:"weight λ of the L1 sparsity term ‖z‖₁"`
	ReconWeight float64 `json:"recon_weight" help:"weight of the reconstruction term ½‖x − Dz‖²"`
	ClassWeight float64 `json:"class_weight" help:"weight of the cross-entropy term"`
	// Norm bounds, enforced by projection: rows of E, columns of D, rows of C.
	ERadius float64 `json:"e_radius" help:"bound on the norm of the rows of E (0: the paper's 1.25/(T−1))"`
	DRadius float64 `json:"d_radius" help:"bound on the norm of the columns of D"`
	CRadius float64 `json:"c_radius" help:"bound on the norm of the rows of C"`
	// NormEps is ε in the classifier's normalization z/√(ε + ‖z‖²), which keeps a zero code finite.
	NormEps float64 `json:"norm_eps" help:"ε in the classifier's input z/√(ε + ‖z‖²)"`
	// Each matrix's learning rate is divided by the number of times it appears in the unrolled
	// network (the paper): E and b by T (E·x − b enters every step), S by T−1 (z⁰ = 0), D and C
	// once; C's further by ClassLRDivisor (5 in the authors' code).
	ClassLRDivisor float64 `json:"class_lr_divisor" help:"C's learning rate is further divided by this (the authors' code: 5)"`
}

// DefaultConfig is the paper's MNIST net, 784-400¹¹-10, with the loss weights of the authors'
// code (5, 0.09, 1) and their constraints.
func DefaultConfig() Config {
	return Config{Inputs: 784, Rows: 28, Cols: 28, Classes: 10, Units: 400, T: 11,
		Lambda: 0.09, ReconWeight: 5, ClassWeight: 1, DRadius: 1, CRadius: 5, NormEps: 1e-6, ClassLRDivisor: 1}
}

// DefaultTrainConfig is the schedule of `drsae train drsae` (docs/drsae.md says how it departs
// from the authors' minibatch of 10 and learning rate 5e-3).
func DefaultTrainConfig() model.TrainConfig {
	c := model.DefaultTrainConfig()
	c.Batch, c.PretrainEpochs, c.Epochs, c.LR, c.LRDecay = 50, 1, 60, 0.01, 5e-6
	c.ProjectEvery, c.Patience = 5, 10
	return c
}

// EffectiveERadius is ERadius, or the paper's 1.25/(T−1) when it is 0 (1.25 for T = 1): the
// input drive E·x enters every one of the T−1 recurrent steps, so its scale falls with T.
func (c Config) EffectiveERadius() float64 {
	switch {
	case c.ERadius > 0:
		return c.ERadius
	case c.T <= 1:
		return 1.25
	}
	return 1.25 / float64(c.T-1)
}

// Validate returns an error naming the first key out of range.
func (c Config) Validate() error {
	if err := model.CheckSizes(c.Inputs, c.Units, c.T); err != nil {
		return err
	}
	bad := func(v float64) bool { return !(v >= 0) || math.IsInf(v, 0) }
	switch {
	case c.Inputs <= 0:
		return fmt.Errorf("inputs = %d, want > 0", c.Inputs)
	case c.Classes > model.MaxUnits:
		return model.SizeError("classes", c.Classes, model.MaxUnits)
	case c.Units <= 0:
		return fmt.Errorf("units = %d, want > 0", c.Units)
	case c.Classes < 2:
		return fmt.Errorf("classes = %d, want ≥ 2", c.Classes)
	case c.T < 1:
		return fmt.Errorf("T = %d, want ≥ 1", c.T)
	case bad(c.Lambda):
		return fmt.Errorf("lambda = %g, want a finite value ≥ 0", c.Lambda)
	case bad(c.ReconWeight):
		return fmt.Errorf("recon_weight = %g, want a finite value ≥ 0", c.ReconWeight)
	case bad(c.ClassWeight):
		return fmt.Errorf("class_weight = %g, want a finite value ≥ 0", c.ClassWeight)
	case bad(c.ERadius):
		return fmt.Errorf("e_radius = %g, want ≥ 0", c.ERadius)
	case !(c.DRadius > 0) || math.IsInf(c.DRadius, 0):
		return fmt.Errorf("d_radius = %g, want > 0", c.DRadius)
	case !(c.CRadius > 0) || math.IsInf(c.CRadius, 0):
		return fmt.Errorf("c_radius = %g, want > 0", c.CRadius)
	case !(c.NormEps > 0):
		return fmt.Errorf("norm_eps = %g, want > 0", c.NormEps)
	case !(c.ClassLRDivisor > 0) || math.IsInf(c.ClassLRDivisor, 0):
		return fmt.Errorf("class_lr_divisor = %g, want > 0", c.ClassLRDivisor)
	case c.Rows < 0 || c.Cols < 0 || (c.Rows*c.Cols != 0 && c.Rows*c.Cols != c.Inputs):
		return fmt.Errorf("rows × cols = %d×%d does not hold %d inputs", c.Rows, c.Cols, c.Inputs)
	}
	return nil
}

// DrSAE is a discriminative recurrent sparse auto-encoder on one backend:
//
//	encoder:     z⁰ = 0,  z^{t+1} = max(0, E·x + S·z^t − b),  t = 0..T−1   (model.ShrinkEncoder)
//	decoder:     x̂ = D·z^T
//	classifier:  p = softmax(C·z^T/√(ε + ‖z^T‖²))
//	loss:        ReconWeight·½‖x − x̂‖² + Lambda·‖z^T‖₁ + ClassWeight·(−log p_y)
//
// with E [m,n], S [m,m], b [m], D [n,m], C [k,m], and ‖E_i,:‖ ≤ ERadius, ‖D_:,j‖ ≤ DRadius,
// ‖C_c,:‖ ≤ CRadius. It trains in two phases: "unsupervised" (the classifier term left out),
// then "supervised". In PyTorch, with t = safetensors.torch.load_file(path) and
// cfg = json.load(open(config)):
//
//	z = zeros(B, cfg["units"])
//	for _ in range(cfg["T"]): z = relu(x @ t["E"].T + z @ t["S"].T - t["b"])
//	x_hat = z @ t["D"].T;  logits = (z / sqrt(cfg["norm_eps"] + (z*z).sum(1, keepdim=True))) @ t["C"].T
type DrSAE struct {
	cfg           Config
	be            kernels.Backend
	params        []*model.Param
	e, s, b, d, c *model.Param
	enc           model.ShrinkEncoder
	onesM         kernels.Tensor // [m]
}

var _ model.Module = (*DrSAE)(nil)

// New allocates a DrSAE with zero parameters; Init or loading sets them.
func New(be kernels.Backend, cfg Config) (*DrSAE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("drsae config: %w", err)
	}
	n, u, k, T := cfg.Inputs, cfg.Units, cfg.Classes, float64(cfg.T)
	ps, err := model.NewParams(be, []string{"E", "S", "b", "D", "C"}, [][]int{{u, n}, {u, u}, {u}, {n, u}, {k, u}})
	if err != nil {
		return nil, fmt.Errorf("drsae %d-%d-%d: %w", n, u, k, err)
	}
	m := &DrSAE{cfg: cfg, be: be, params: ps, e: ps[0], s: ps[1], b: ps[2], d: ps[3], c: ps[4]}
	if m.onesM, err = be.New(u); err != nil {
		m.Free()
		return nil, err
	}
	be.Fill(m.onesM, 1)
	m.e.LRScale, m.s.LRScale, m.b.LRScale, m.c.LRScale = 1/T, 1/math.Max(1, T-1), 1/T, 1/cfg.ClassLRDivisor
	m.e.Project = model.NormBall(be, cfg.EffectiveERadius(), kernels.PerRow)
	m.d.Project = model.NormBall(be, cfg.DRadius, kernels.PerCol)
	m.c.Project = model.NormBall(be, cfg.CRadius, kernels.PerRow)
	m.enc = model.ShrinkEncoder{E: m.e, S: m.s, Theta: m.b, T: cfg.T, NonNegative: true}
	return m, nil
}

func (m *DrSAE) Kind() string                     { return Kind }
func (m *DrSAE) Config() model.Config             { return &m.cfg }
func (m *DrSAE) Backend() kernels.Backend         { return m.be }
func (m *DrSAE) Params() []*model.Param           { return m.params }
func (m *DrSAE) Phases() []string                 { return []string{"unsupervised", "supervised"} }
func (m *DrSAE) Criterion() string                { return "err" }
func (m *DrSAE) Code(w model.Work) kernels.Tensor { return w.(*work).enc.Code() }

// Free releases the parameters.
func (m *DrSAE) Free() {
	model.FreeParams(m.be, m.params)
	model.FreeTensors(m.be, m.onesM)
}

// Init sets the parameters as the authors' code does: every column of D is uniform noise in
// ±1/√m plus 0.25 × a random training sample, scaled to norm DRadius; E = α·Dᵀ and S = I − α·DᵀD
// with α = ERadius/DRadius (so E meets its bound and the encoder starts as non-negative ISTA with
// step α); b = 1e-5; C uniform in ±1/√m. train may be nil (noise only). The same seed gives the
// same parameters.
func (m *DrSAE) Init(train *model.Samples, seed uint64) error {
	c := m.cfg
	n, u, k := c.Inputs, c.Units, c.Classes
	if train.N() > 0 && train.Dim != n {
		return fmt.Errorf("drsae init: the samples have %d features, the model takes %d", train.Dim, n)
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed0f0d15ae))
	scale := 1 / math.Sqrt(float64(u))
	d, col := make([]float32, n*u), make([]float64, n) // D [n,u]
	for j := range u {
		var sample []float32
		if train.N() > 0 {
			s := r.IntN(train.N())
			sample = train.X[s*n : (s+1)*n]
		}
		norm := 0.0
		for i := range n {
			col[i] = (2*r.Float64() - 1) * scale
			if sample != nil {
				col[i] += 0.25 * float64(sample[i])
			}
			norm += col[i] * col[i]
		}
		for i, v := range col {
			d[i*u+j] = float32(v * c.DRadius / math.Sqrt(norm))
		}
	}
	cl := make([]float32, k*u)
	for i := range cl {
		cl[i] = float32((2*r.Float64() - 1) * scale)
	}
	m.be.Upload(m.d.Value, d)
	m.be.Upload(m.c.Value, cl)
	// E = α·Dᵀ, S = I − α·DᵀD, b = 1e-5: ISTA's values for step α and λ = 1e-5/α, on the device.
	alpha := c.EffectiveERadius() / c.DRadius
	eye, err := model.Identity(m.be, u)
	if err != nil {
		return err
	}
	defer m.be.Free(eye)
	m.enc.SetISTA(m.be, m.d.Value, eye, 1e-5/alpha, 1/alpha)
	return m.be.Sync()
}

// SetISTA sets the encoder to T steps of non-negative ISTA for ½‖x − D z‖² + λ‖z‖₁ with the
// current D and step 1/l: E = Dᵀ/l, S = I − DᵀD/l, b = λ/l (l ≥ λ_max(DᵀD) for convergence).
func (m *DrSAE) SetISTA(lambda, l float64) error {
	eye, err := model.Identity(m.be, m.cfg.Units)
	if err != nil {
		return err
	}
	defer m.be.Free(eye)
	m.enc.SetISTA(m.be, m.d.Value, eye, lambda, l)
	return m.be.Sync()
}

// work holds the inputs and every intermediate of the passes over B samples.
type work struct {
	x, labels kernels.Tensor
	enc       *model.EncoderWork
	r         kernels.Tensor // residual D·z^T − x [B,n]
	zn        kernels.Tensor // z^T/‖z^T‖ [B,m]
	norms     kernels.Tensor // √(ε + ‖z^T‖²) [B]
	logits    kernels.Tensor // C·zn [B,k]
	dlog      kernels.Tensor // softmax − onehot [B,k]
	xent      kernels.Tensor // per-sample cross-entropy [B]
	pred      kernels.Tensor // argmax [B]
	sums      *model.Scalars
	all       []kernels.Tensor
	be        kernels.Backend
}

func (w *work) Size() int               { return w.x.Shape()[0] }
func (w *work) Inputs() kernels.Tensor  { return w.x }
func (w *work) Targets() kernels.Tensor { return w.labels }
func (w *work) Free() {
	model.FreeTensors(w.be, w.all...)
	w.enc.Free()
	w.sums.Free()
}

// NewWork allocates the buffers of passes over b samples.
func (m *DrSAE) NewWork(b int) (model.Work, error) {
	n, u, k := m.cfg.Inputs, m.cfg.Units, m.cfg.Classes
	ts, err := model.NewTensors(m.be, []int{b, n}, []int{b}, []int{b, n}, []int{b, u}, []int{b}, []int{b, k}, []int{b, k}, []int{b}, []int{b})
	if err != nil {
		return nil, err
	}
	w := &work{x: ts[0], labels: ts[1], r: ts[2], zn: ts[3], norms: ts[4], logits: ts[5], dlog: ts[6], xent: ts[7], pred: ts[8], all: ts, be: m.be}
	if w.enc, err = m.enc.NewWork(m.be, b); err == nil {
		w.sums, err = model.NewScalars(m.be, 5)
	}
	if err != nil {
		model.FreeTensors(m.be, ts...)
		if w.enc != nil {
			w.enc.Free()
		}
		return nil, err
	}
	return w, nil
}

// Forward runs the encoder, the decoder and, in the supervised phase, the classifier with its
// cross-entropy and gradient. Nothing is read back to the host.
func (m *DrSAE) Forward(mw model.Work, phase int) error {
	w, be := mw.(*work), m.be
	m.enc.Forward(be, w.enc, w.x)
	zt := w.enc.Code()
	be.Copy(w.r, w.x)
	be.Gemm(false, true, 1, zt, m.d.Value, -1, w.r) // r = z·Dᵀ − x [B,n]
	if phase == 1 {
		be.NormalizeRows(w.zn, w.norms, zt, float32(m.cfg.NormEps))
		be.Gemm(false, true, 1, w.zn, m.c.Value, 0, w.logits) // logits = zn·Cᵀ [B,k]
		be.SoftmaxXent(w.xent, w.dlog, w.logits, w.labels)
	}
	return nil
}

// Backward computes the gradients of the minibatch mean of the loss; in the unsupervised phase
// the classifier term is left out and ∂C is zero. δ = ∂L/∂z^T goes through the encoder's BPTT.
func (m *DrSAE) Backward(mw model.Work, phase int) {
	w, be, c := mw.(*work), m.be, m.cfg
	inv := 1 / float32(w.Size())
	wr := float32(c.ReconWeight) * inv
	zt, dz := w.enc.Code(), w.enc.Delta
	// Decoder: ∂D = wr·rᵀ·z [n,m]; δ = wr·r·D + λ (the L1 gradient; the ReLU mask at z^T = 0 is
	// applied by the encoder's backward, so adding λ everywhere gives λ·[z^T > 0]).
	be.Gemm(true, false, wr, w.r, zt, 0, m.d.Grad)
	be.Gemm(false, false, wr, w.r, m.d.Value, 0, dz)
	be.BroadcastAdd(dz, dz, float32(c.Lambda)*inv, m.onesM, kernels.PerCol)
	if phase == 1 {
		wc := float32(c.ClassWeight) * inv
		// ∂C = wc·(p − y)ᵀ·zn [k,m]; ∂zn = wc·(p − y)·C [B,m], then through the normalization.
		be.Gemm(true, false, wc, w.dlog, w.zn, 0, m.c.Grad)
		be.Gemm(false, false, wc, w.dlog, m.c.Value, 0, w.enc.Scratch)
		be.NormalizeRowsBackward(w.enc.GSum, w.enc.Scratch, w.zn, w.norms)
		be.Axpby(1, w.enc.GSum, 1, dz)
	} else {
		be.Fill(m.c.Grad, 0)
	}
	m.enc.Backward(be, w.enc, w.x)
}

// Loss reads back the sums over the batch of "recon" ½‖x − x̂‖², "l1" ‖z^T‖₁, "L0" (active
// units), and in the supervised phase "xent" and "err" (misclassified samples); "loss" is their
// weighted sum.
func (m *DrSAE) Loss(mw model.Work, phase int) (model.Sums, error) {
	w, be, c := mw.(*work), m.be, m.cfg
	zt := w.enc.Code()
	w.sums.Sum(w.r, kernels.ReduceSquares)
	w.sums.Sum(zt, kernels.ReduceAbs)
	w.sums.Count(zt, 0)
	if phase == 1 {
		w.sums.Sum(w.xent, kernels.ReduceSum)
		be.Argmax(w.pred, w.logits)
		be.Axpby(-1, w.labels, 1, w.pred) // pred − label: non-zero where wrong
		w.sums.Count(w.pred, 0.5)
	}
	v, err := w.sums.Read()
	if err != nil {
		return model.Sums{}, err
	}
	s := model.Sums{N: w.Size()}
	recon, l1 := v[0]/2, v[1]
	loss := c.ReconWeight*recon + c.Lambda*l1
	if phase == 1 {
		loss += c.ClassWeight * v[3]
	}
	s.Set("loss", loss)
	s.Set("recon", recon)
	s.Set("l1", l1)
	if phase == 1 {
		s.Set("xent", v[3])
		s.Set("err", v[4])
	}
	s.Set("L0", v[2])
	return s, nil
}
