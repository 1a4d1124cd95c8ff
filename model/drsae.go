package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
)

// DrSAEConfig fixes the shape and the loss of a discriminative recurrent sparse auto-encoder
// (Rolfe & LeCun, "Discriminative Recurrent Sparse Auto-Encoders", ICLR 2013). The JSON names
// are the keys of the config file saved beside the weights.
type DrSAEConfig struct {
	Inputs  int `json:"inputs"`  // n, features of a sample (784 for MNIST)
	Units   int `json:"units"`   // m, hidden units (the paper: 400)
	Classes int `json:"classes"` // k, classes of the classifier (10)
	T       int `json:"T"`       // encoder steps (the paper: 11)

	// The loss of one sample, L = ReconWeight·½‖x − D z^T‖² + Lambda·‖z^T‖₁ + ClassWeight·CE,
	// averaged over a minibatch. The defaults are the weights of the authors' code (5, 0.09, 1).
	Lambda      float64 `json:"lambda"`
	ReconWeight float64 `json:"recon_weight"`
	ClassWeight float64 `json:"class_weight"`

	// Norm bounds enforced by Project: rows of E, columns of D, rows of C.
	ERadius float64 `json:"e_radius"` // 1.25/(T−1)
	DRadius float64 `json:"d_radius"` // 1
	CRadius float64 `json:"c_radius"` // 5

	// NormEps is ε in the classifier's normalization z/√(ε + ‖z‖²), which keeps an all-zero
	// code finite.
	NormEps float64 `json:"norm_eps"`

	// Rows, Cols: the image shape of an input, for pictures (0 when the inputs are not images).
	Rows int `json:"rows,omitempty"`
	Cols int `json:"cols,omitempty"`
	// Data names the data set the model was trained on ("mnist", "fashion"), for the tools
	// that evaluate it; informational.
	Data string `json:"data,omitempty"`
}

// DefaultDrSAEConfig returns the paper's MNIST net, 784-400¹¹-10, with the authors' loss
// weights and constraints.
func DefaultDrSAEConfig() DrSAEConfig {
	c := DrSAEConfig{Inputs: 784, Units: 400, Classes: 10, T: 11, Rows: 28, Cols: 28}
	c.SetDefaults()
	return c
}

// SetDefaults replaces every zero loss weight, radius and ε of c with the paper's value for
// c.T (weights 5, 0.09, 1 from the authors' code). A zero weight cannot be kept: to switch a
// term off, give it a tiny value.
func (c *DrSAEConfig) SetDefaults() {
	if c.Lambda == 0 {
		c.Lambda = 0.09
	}
	if c.ReconWeight == 0 {
		c.ReconWeight = 5
	}
	if c.ClassWeight == 0 {
		c.ClassWeight = 1
	}
	if c.ERadius == 0 {
		c.ERadius = DrSAEERadius(c.T)
	}
	if c.DRadius == 0 {
		c.DRadius = 1
	}
	if c.CRadius == 0 {
		c.CRadius = 5
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-6
	}
}

// DrSAEERadius is the paper's bound on the norm of an encoder row, 1.25/(T−1) (1.25 for T = 1):
// the input drive E·x enters every one of the T−1 recurrent steps, so its scale falls with T.
func DrSAEERadius(t int) float64 {
	if t <= 1 {
		return 1.25
	}
	return 1.25 / float64(t-1)
}

// Validate returns an error naming the first field out of range.
func (c DrSAEConfig) Validate() error {
	switch {
	case c.Inputs <= 0:
		return fmt.Errorf("inputs = %d, want > 0", c.Inputs)
	case c.Units <= 0:
		return fmt.Errorf("units = %d, want > 0", c.Units)
	case c.Classes < 2:
		return fmt.Errorf("classes = %d, want ≥ 2", c.Classes)
	case c.T < 1:
		return fmt.Errorf("T = %d, want ≥ 1", c.T)
	case c.Lambda < 0 || math.IsNaN(c.Lambda) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("lambda = %g, want a finite value ≥ 0", c.Lambda)
	case c.ReconWeight < 0 || c.ClassWeight < 0 || math.IsNaN(c.ReconWeight+c.ClassWeight) || math.IsInf(c.ReconWeight+c.ClassWeight, 0):
		return fmt.Errorf("loss weights recon %g, class %g: want finite values ≥ 0", c.ReconWeight, c.ClassWeight)
	case !(c.ERadius > 0) || !(c.DRadius > 0) || !(c.CRadius > 0):
		return fmt.Errorf("radii E %g, D %g, C %g: want > 0", c.ERadius, c.DRadius, c.CRadius)
	case !(c.NormEps > 0):
		return fmt.Errorf("norm_eps = %g, want > 0", c.NormEps)
	case c.Rows < 0 || c.Cols < 0 || (c.Rows*c.Cols != 0 && c.Rows*c.Cols != c.Inputs):
		return fmt.Errorf("image shape %d×%d does not hold %d inputs", c.Rows, c.Cols, c.Inputs)
	}
	return nil
}

// DrSAE is a discriminative recurrent sparse auto-encoder on one backend (Rolfe & LeCun 2013):
//
//	encoder:     z⁰ = 0,  z^{t+1} = max(0, E·x + S·z^t − b),  t = 0..T−1
//	decoder:     x̂ = D·z^T
//	classifier:  p = softmax(C·z^T/√(ε + ‖z^T‖²))
//	loss:        ReconWeight·½‖x − x̂‖² + Lambda·‖z^T‖₁ + ClassWeight·(−log p_y)
//
// with E [m,n], S [m,m], b [m], D [n,m], C [k,m] (n inputs, m units, k classes), the norm
// constraints ‖E_i,:‖ ≤ ERadius, ‖D_:,j‖ ≤ DRadius, ‖C_c,:‖ ≤ CRadius enforced by Project.
// With E = Dᵀ/L, S = I − DᵀD/L and b = λ/L the encoder is T steps of non-negative ISTA.
//
// A minibatch of B samples is the rows of a [B,n] tensor; a DrSAEBatch holds the buffers of a
// forward and backward pass for one B, allocated once. A DrSAE is not safe for concurrent use.
type DrSAE struct {
	Config DrSAEConfig
	be     kernels.Backend

	E, S, B, D, C kernels.Tensor // parameters: E [m,n], S [m,m], b [m], D [n,m], C [k,m]

	batches map[int]*DrSAEBatch // buffers kept by Evaluate and EncodeSet, per batch size
}

// DrSAEParams names the parameters in the order of DrSAE.Params and of the saved file.
var DrSAEParams = []string{"E", "S", "b", "D", "C"}

// NewDrSAE allocates a DrSAE with zero parameters on be; call Init or load parameters next.
func NewDrSAE(be kernels.Backend, cfg DrSAEConfig) (*DrSAE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("drsae config: %w", err)
	}
	m := &DrSAE{Config: cfg, be: be}
	n, u, k := cfg.Inputs, cfg.Units, cfg.Classes
	shapes := [][]int{{u, n}, {u, u}, {u}, {n, u}, {k, u}}
	ts, err := newTensors(be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("drsae %d-%d-%d: %w", n, u, k, err)
	}
	m.E, m.S, m.B, m.D, m.C = ts[0], ts[1], ts[2], ts[3], ts[4]
	return m, nil
}

// newTensors allocates one tensor per shape, freeing them all if one fails.
func newTensors(be kernels.Backend, shapes ...[]int) ([]kernels.Tensor, error) {
	ts := make([]kernels.Tensor, len(shapes))
	for i, s := range shapes {
		t, err := be.New(s...)
		if err != nil {
			for _, d := range ts[:i] {
				be.Free(d)
			}
			return nil, err
		}
		ts[i] = t
	}
	return ts, nil
}

// Backend returns the backend the parameters live on.
func (m *DrSAE) Backend() kernels.Backend { return m.be }

// Params returns E, S, b, D, C in the order of DrSAEParams.
func (m *DrSAE) Params() []kernels.Tensor { return []kernels.Tensor{m.E, m.S, m.B, m.D, m.C} }

// ParamShapes returns the shape of each parameter, in the order of DrSAEParams.
func (c DrSAEConfig) ParamShapes() [][]int {
	n, u, k := c.Inputs, c.Units, c.Classes
	return [][]int{{u, n}, {u, u}, {u}, {n, u}, {k, u}}
}

// Free releases the parameters and the buffers m keeps.
func (m *DrSAE) Free() {
	for _, t := range m.Params() {
		m.be.Free(t)
	}
	for _, w := range m.batches {
		w.Free()
	}
	m.batches = nil
}

// Init sets the parameters as the authors' code does: every column of D is uniform noise in
// ±1/√m plus 0.25 × a random sample of x (x holds N samples [N,n], e.g. unit-norm training
// digits), normalized to norm DRadius; E = α·Dᵀ and S = I − α·DᵀD with α = ERadius (so E meets
// its bound and the encoder starts as non-negative ISTA with step α); b = 1e-5; C uniform in
// ±1/√m. x may be nil (noise only). The same seed gives the same parameters.
func (m *DrSAE) Init(x []float32, seed uint64) error {
	c := m.Config
	n, u, k := c.Inputs, c.Units, c.Classes
	if x != nil && (len(x) == 0 || len(x)%n != 0) {
		return fmt.Errorf("drsae init: %d values are not a whole number of samples of %d features", len(x), n)
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed0f0d15ae))
	scale := 1 / math.Sqrt(float64(u))
	d := make([]float64, n*u) // [n,u]
	for j := 0; j < u; j++ {
		var sample []float32
		if x != nil {
			s := r.IntN(len(x) / n)
			sample = x[s*n : (s+1)*n]
		}
		norm := 0.0
		for i := 0; i < n; i++ {
			v := (2*r.Float64() - 1) * scale
			if sample != nil {
				v += 0.25 * float64(sample[i])
			}
			d[i*u+j] = v
			norm += v * v
		}
		norm = math.Sqrt(norm)
		for i := 0; i < n; i++ {
			d[i*u+j] *= c.DRadius / norm
		}
	}
	alpha := c.ERadius / c.DRadius
	e := make([]float32, u*n)
	for i := 0; i < n; i++ {
		for j := 0; j < u; j++ {
			e[j*n+i] = float32(alpha * d[i*u+j])
		}
	}
	// S = I − α·DᵀD, in float64 then rounded.
	s := make([]float32, u*u)
	col := make([]float64, n)
	for a := 0; a < u; a++ {
		for i := 0; i < n; i++ {
			col[i] = d[i*u+a]
		}
		for b := a; b < u; b++ {
			dot := 0.0
			for i := 0; i < n; i++ {
				dot += col[i] * d[i*u+b]
			}
			v := -alpha * dot
			if a == b {
				v++
			}
			s[a*u+b], s[b*u+a] = float32(v), float32(v)
		}
	}
	bias := make([]float32, u)
	for i := range bias {
		bias[i] = 1e-5
	}
	cl := make([]float32, k*u)
	for i := range cl {
		cl[i] = float32((2*r.Float64() - 1) * scale)
	}
	m.be.Upload(m.E, e)
	m.be.Upload(m.S, s)
	m.be.Upload(m.B, bias)
	m.be.Upload(m.D, toFloat32(d))
	m.be.Upload(m.C, cl)
	return m.be.Sync()
}

func toFloat32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// SetISTA sets the encoder to T steps of non-negative ISTA for ½‖x − D z‖² + λ‖z‖₁ with the
// current D and step 1/l: E = Dᵀ/l, S = I − DᵀD/l, b = λ/l (l ≥ λ_max(DᵀD) for convergence).
func (m *DrSAE) SetISTA(lambda, l float64) error {
	c := m.Config
	n, u := c.Inputs, c.Units
	d := make([]float32, n*u)
	if err := m.be.Download(d, m.D); err != nil {
		return err
	}
	e := make([]float32, u*n)
	s := make([]float32, u*u)
	for i := 0; i < n; i++ {
		for j := 0; j < u; j++ {
			e[j*n+i] = float32(float64(d[i*u+j]) / l)
		}
	}
	for a := 0; a < u; a++ {
		for b := 0; b < u; b++ {
			dot := 0.0
			for i := 0; i < n; i++ {
				dot += float64(d[i*u+a]) * float64(d[i*u+b])
			}
			v := -dot / l
			if a == b {
				v++
			}
			s[a*u+b] = float32(v)
		}
	}
	bias := make([]float32, u)
	for i := range bias {
		bias[i] = float32(lambda / l)
	}
	m.be.Upload(m.E, e)
	m.be.Upload(m.S, s)
	m.be.Upload(m.B, bias)
	return m.be.Sync()
}

// Project enforces the constraints: rows of E onto the ball of radius ERadius, columns of D
// onto DRadius, rows of C onto CRadius (Rolfe & LeCun 2013, sec. 2; the authors "repair"
// every few minibatches).
func (m *DrSAE) Project() {
	c := m.Config
	m.be.ProjectNormBall(m.E, float32(c.ERadius), kernels.PerRow)
	m.be.ProjectNormBall(m.D, float32(c.DRadius), kernels.PerCol)
	m.be.ProjectNormBall(m.C, float32(c.CRadius), kernels.PerRow)
}

// DrSAEGrads holds ∂L/∂ of every parameter, shaped like them.
type DrSAEGrads struct {
	E, S, B, D, C kernels.Tensor
}

// List returns the gradients in the order of DrSAEParams.
func (g *DrSAEGrads) List() []kernels.Tensor { return []kernels.Tensor{g.E, g.S, g.B, g.D, g.C} }

// NewGrads allocates gradient buffers for m.
func (m *DrSAE) NewGrads() (*DrSAEGrads, error) {
	ts, err := newTensors(m.be, m.Config.ParamShapes()...)
	if err != nil {
		return nil, fmt.Errorf("drsae gradients: %w", err)
	}
	return &DrSAEGrads{E: ts[0], S: ts[1], B: ts[2], D: ts[3], C: ts[4]}, nil
}

// Free releases the gradient buffers.
func (g *DrSAEGrads) Free(be kernels.Backend) {
	for _, t := range g.List() {
		be.Free(t)
	}
}

// DrSAEBatch holds the inputs and every intermediate of a forward and backward pass for
// minibatches of B samples. The pre-activations a^t of all T steps are kept for
// backpropagation through time.
type DrSAEBatch struct {
	N      int            // samples in a batch, B
	X      kernels.Tensor // inputs [B,n]
	Labels kernels.Tensor // class indices as floats [B]

	u      kernels.Tensor   // E·x [B,m]; also a¹, the first pre-activation
	a, z   []kernels.Tensor // a^t (a[0] = u) and z^t, t = 1..T, each [B,m]
	r      kernels.Tensor   // residual D·z^T − x [B,n]
	zn     kernels.Tensor   // z^T/‖z^T‖ [B,m]
	norms  kernels.Tensor   // √(ε + ‖z^T‖²) [B]
	logits kernels.Tensor   // C·zn [B,k]
	dlog   kernels.Tensor   // softmax − onehot [B,k]
	xent   kernels.Tensor   // per-sample cross-entropy [B]
	pred   kernels.Tensor   // argmax [B]
	rnorm  kernels.Tensor   // ‖x − x̂‖ per sample [B]
	l1     kernels.Tensor   // ‖z^T‖₁ per sample [B,1]
	dz, g  kernels.Tensor   // ∂L/∂z^t and ∂L/∂a^t [B,m]
	gsum   kernels.Tensor   // Σ_t ∂L/∂a^t [B,m]
	onesM  kernels.Tensor   // ones [m,1]
	onesB  kernels.Tensor   // ones [B,1]
	zero   kernels.Tensor   // zeros [m]
	cnt    kernels.Tensor   // per-unit counts [m]
	be     kernels.Backend
	all    []kernels.Tensor
}

// NewBatch allocates the buffers of a pass over B samples.
func (m *DrSAE) NewBatch(b int) (*DrSAEBatch, error) {
	if b <= 0 {
		return nil, fmt.Errorf("drsae: batch size %d, want > 0", b)
	}
	c := m.Config
	n, u, k, T := c.Inputs, c.Units, c.Classes, c.T
	shapes := [][]int{{b, n}, {b}, {b, u}, {b, n}, {b, u}, {b}, {b, k}, {b, k}, {b}, {b}, {b}, {b, 1},
		{b, u}, {b, u}, {b, u}, {u, 1}, {b, 1}, {u}, {u}}
	for t := 0; t < T; t++ {
		shapes = append(shapes, []int{b, u}) // z^t
		if t > 0 {
			shapes = append(shapes, []int{b, u}) // a^t
		}
	}
	ts, err := newTensors(m.be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("drsae batch of %d: %w", b, err)
	}
	w := &DrSAEBatch{N: b, be: m.be, all: ts}
	w.X, w.Labels, w.u, w.r, w.zn, w.norms, w.logits, w.dlog, w.xent, w.pred, w.rnorm, w.l1 =
		ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], ts[7], ts[8], ts[9], ts[10], ts[11]
	w.dz, w.g, w.gsum, w.onesM, w.onesB, w.zero, w.cnt = ts[12], ts[13], ts[14], ts[15], ts[16], ts[17], ts[18]
	rest := ts[19:]
	w.a = append(w.a, w.u)
	for t := 0; t < T; t++ {
		w.z = append(w.z, rest[0])
		rest = rest[1:]
		if t > 0 {
			w.a = append(w.a, rest[0])
			rest = rest[1:]
		}
	}
	m.be.Fill(w.onesM, 1)
	m.be.Fill(w.onesB, 1)
	return w, nil
}

// Free releases the buffers.
func (w *DrSAEBatch) Free() {
	for _, t := range w.all {
		w.be.Free(t)
	}
	w.all = nil
}

// Code returns z^T [B,m] of the last Forward or Encode; it is overwritten by the next pass.
func (w *DrSAEBatch) Code() kernels.Tensor { return w.z[len(w.z)-1] }

// Step returns z^t [B,m] of the last pass, t = 1..T.
func (w *DrSAEBatch) Step(t int) kernels.Tensor { return w.z[t-1] }

// Residual returns D·z^T − x [B,n] of the last Forward.
func (w *DrSAEBatch) Residual() kernels.Tensor { return w.r }

// Logits returns C·z^T/‖z^T‖ [B,k] of the last Forward.
func (w *DrSAEBatch) Logits() kernels.Tensor { return w.logits }

func (m *DrSAE) checkBatch(w *DrSAEBatch) {
	if w.be != m.be || len(w.z) != m.Config.T || w.X.Shape()[1] != m.Config.Inputs || w.z[0].Shape()[1] != m.Config.Units || w.logits.Shape()[1] != m.Config.Classes {
		panic("model: DrSAE: batch buffers were made for another model")
	}
}

// Encode runs the T encoder steps on w.X: a¹ = E·x (z⁰ = 0), z^t = max(0, a^t − b),
// a^{t+1} = E·x + S·z^t. The code z^T is w.Code().
func (m *DrSAE) Encode(w *DrSAEBatch) {
	m.checkBatch(w)
	be := m.be
	be.Gemm(false, true, 1, w.X, m.E, 0, w.u) // u = X·Eᵀ [B,m]
	be.PosShrink(w.z[0], w.u, m.B)
	for t := 1; t < m.Config.T; t++ {
		be.Copy(w.a[t], w.u)
		be.Gemm(false, true, 1, w.z[t-1], m.S, 1, w.a[t]) // a += z·Sᵀ
		be.PosShrink(w.z[t], w.a[t], m.B)
	}
}

// Forward runs the encoder, the decoder and the classifier on w.X (and w.Labels when
// classify is true, for the cross-entropy and its gradient). Nothing is read back to the host.
func (m *DrSAE) Forward(w *DrSAEBatch, classify bool) {
	m.Encode(w)
	be := m.be
	zt := w.Code()
	be.Copy(w.r, w.X)
	be.Gemm(false, true, 1, zt, m.D, -1, w.r) // r = z·Dᵀ − x [B,n]
	if classify {
		be.NormalizeRows(w.zn, w.norms, zt, float32(m.Config.NormEps))
		be.Gemm(false, true, 1, w.zn, m.C, 0, w.logits) // logits = zn·Cᵀ [B,k]
		be.SoftmaxXent(w.xent, w.dlog, w.logits, w.Labels)
	}
}

// Backward computes the gradients of the minibatch mean of the loss after Forward(w, classify)
// into g. With classify false the classifier term is left out and g.C is zeroed: the
// unsupervised phase. Backpropagation through time: with δ^T = ∂L/∂z^T,
//
//	g^t = δ^t ⊙ [a^t > b],  δ^{t−1} = g^t·S  (rows are samples),
//	∂E = Σ_t g^tᵀ·x,  ∂S = Σ_{t≥2} g^tᵀ·z^{t−1},  ∂b = −Σ_t Σ_batch g^t.
func (m *DrSAE) Backward(w *DrSAEBatch, g *DrSAEGrads, classify bool) {
	m.checkBatch(w)
	be, c := m.be, m.Config
	inv := 1 / float32(w.N)
	wr := float32(c.ReconWeight) * inv
	zt := w.Code()
	// Decoder: ∂D = wr·rᵀ·z [n,m]; δ = wr·r·D + λ (the L1 gradient; the ReLU mask at z^T = 0
	// is applied below by PosShrinkBackward, so adding λ everywhere gives λ·[z^T > 0]).
	be.Gemm(true, false, wr, w.r, zt, 0, g.D)
	be.Gemm(false, false, wr, w.r, m.D, 0, w.dz)
	be.BroadcastAdd(w.dz, w.dz, float32(c.Lambda)*inv, be.Reshape(w.onesM, c.Units), kernels.PerCol)
	if classify {
		wc := float32(c.ClassWeight) * inv
		// ∂C = wc·(p − y)ᵀ·zn [k,m]; ∂zn = wc·(p − y)·C [B,m] (in g), then through the norm.
		be.Gemm(true, false, wc, w.dlog, w.zn, 0, g.C)
		be.Gemm(false, false, wc, w.dlog, m.C, 0, w.g)
		be.NormalizeRowsBackward(w.gsum, w.g, w.zn, w.norms)
		be.Axpby(1, w.gsum, 1, w.dz)
	} else {
		be.Fill(g.C, 0)
	}
	T := c.T
	if T == 1 {
		be.Fill(g.S, 0)
	}
	for t := T - 1; t >= 0; t-- {
		be.PosShrinkBackward(w.g, nil, w.dz, w.a[t], m.B)
		if t == T-1 {
			be.Copy(w.gsum, w.g)
		} else {
			be.Axpby(1, w.g, 1, w.gsum)
		}
		if t > 0 {
			beta := float32(1)
			if t == T-1 {
				beta = 0
			}
			be.Gemm(true, false, 1, w.g, w.z[t-1], beta, g.S) // ∂S += gᵀ·z^{t−1} [m,m]
			be.Gemm(false, false, 1, w.g, m.S, 0, w.dz)       // δ^{t−1} = g·S [B,m]
		}
	}
	be.Gemm(true, false, 1, w.gsum, w.X, 0, g.E)                              // ∂E = gsumᵀ·X [m,n]
	be.Gemm(true, false, -1, w.onesB, w.gsum, 0, be.Reshape(g.B, 1, c.Units)) // ∂b = −1ᵀ·gsum
}

// DrSAELoss holds the terms of the loss over some samples, each a mean per sample and
// unweighted: Recon = ½‖x − x̂‖², Sparsity = ‖z^T‖₁, Class = cross-entropy; Total is their
// weighted sum (the classifier term only where it was computed). Errors counts misclassified
// samples among N.
type DrSAELoss struct {
	Recon, Sparsity, Class, Total float64
	Errors, N                     int
}

// Add accumulates o into l, weighting the means by sample counts.
func (l *DrSAELoss) Add(o DrSAELoss) {
	n := l.N + o.N
	if n == 0 {
		return
	}
	f, g := float64(l.N)/float64(n), float64(o.N)/float64(n)
	l.Recon = f*l.Recon + g*o.Recon
	l.Sparsity = f*l.Sparsity + g*o.Sparsity
	l.Class = f*l.Class + g*o.Class
	l.Total = f*l.Total + g*o.Total
	l.Errors += o.Errors
	l.N = n
}

// ErrorRate is Errors/N (NaN if no sample was classified).
func (l DrSAELoss) ErrorRate() float64 {
	if l.N == 0 {
		return math.NaN()
	}
	return float64(l.Errors) / float64(l.N)
}

// ErrNotFinite reports a loss that became NaN or infinite.
var ErrNotFinite = errors.New("loss is not finite")

// Loss reads back the loss terms of the last Forward(w, classify), averaged over the batch.
// labels are the host copy of w.Labels, for the error count (nil: not counted). It waits for
// the device; the training step itself never does.
func (m *DrSAE) Loss(w *DrSAEBatch, classify bool, labels []float32) (DrSAELoss, error) {
	be, c := m.be, m.Config
	be.Norms(w.rnorm, w.r, kernels.PerRow)
	be.Gemm(false, false, 1, w.Code(), w.onesM, 0, w.l1)
	rn := make([]float32, w.N)
	l1 := make([]float32, w.N)
	if err := be.Download(rn, w.rnorm); err != nil {
		return DrSAELoss{}, err
	}
	if err := be.Download(l1, w.l1); err != nil {
		return DrSAELoss{}, err
	}
	var out DrSAELoss
	out.N = w.N
	for i := 0; i < w.N; i++ {
		out.Recon += 0.5 * float64(rn[i]) * float64(rn[i])
		out.Sparsity += float64(l1[i])
	}
	out.Recon /= float64(w.N)
	out.Sparsity /= float64(w.N)
	out.Total = c.ReconWeight*out.Recon + c.Lambda*out.Sparsity
	if classify {
		be.Argmax(w.pred, w.logits)
		xe := make([]float32, w.N)
		pred := make([]float32, w.N)
		if err := be.Download(xe, w.xent); err != nil {
			return DrSAELoss{}, err
		}
		if err := be.Download(pred, w.pred); err != nil {
			return DrSAELoss{}, err
		}
		for i := 0; i < w.N; i++ {
			out.Class += float64(xe[i])
			if labels != nil && pred[i] != labels[i] {
				out.Errors++
			}
		}
		out.Class /= float64(w.N)
		out.Total += c.ClassWeight * out.Class
	}
	if math.IsNaN(out.Total) || math.IsInf(out.Total, 0) {
		return out, ErrNotFinite
	}
	return out, nil
}

// Predictions reads back the argmax classes of the last Forward(w, true).
func (m *DrSAE) Predictions(w *DrSAEBatch, dst []float32) error {
	m.be.Argmax(w.pred, w.logits)
	return m.be.Download(dst, w.pred)
}

// ActiveCounts reads back, for the code z^T of the last pass, in how many samples of the
// batch each unit is active (z > 0): dst [m].
func (m *DrSAE) ActiveCounts(w *DrSAEBatch, dst []float32) error {
	be := m.be
	// PosShrinkBackward with dy = 1 and θ = 0 gives dθ_i = −Σ_r [z_ri > 0].
	be.Fill(w.dz, 1)
	be.PosShrinkBackward(w.g, w.cnt, w.dz, w.Code(), w.zero)
	if err := be.Download(dst, w.cnt); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = -dst[i]
	}
	return nil
}
