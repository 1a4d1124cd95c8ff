package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
)

// LISTAKind is the "model" value in a LISTA encoder's JSON config.
const LISTAKind = "lista"

// LISTAConfig holds a LISTA encoder's shapes and hyper-parameters; it is saved as the JSON config
// beside the encoder's safetensors file.
type LISTAConfig struct {
	Model       string  `json:"model"`       // LISTAKind
	Inputs      int     `json:"n"`           // n
	Atoms       int     `json:"m"`           // m
	Steps       int     `json:"T"`           // T, the number of shrinkage steps
	Lambda      float64 `json:"lambda"`      // λ of the sparse coding problem it approximates
	NonNegative bool    `json:"nonnegative"` // one-sided shrinkage h⁺_θ(v) = max(v − θ, 0)
	Lipschitz   float64 `json:"lipschitz"`   // L = λ_max(DᵀD) of the dictionary it started from
	// Training: SGD with momentum on ½‖z_T − z*‖² averaged over minibatches, z* the FISTA code.
	Epochs       int     `json:"epochs"`
	Batch        int     `json:"batch"`
	LearningRate float64 `json:"learning_rate"`
	Momentum     float64 `json:"momentum"`
	// TargetIterations: FISTA iterations for the target codes z* (with TargetTol, a relative
	// change that stops them earlier).
	TargetIterations int                `json:"target_iterations"`
	TargetTol        float64            `json:"target_tol"`
	Seed             uint64             `json:"seed"`
	Dictionary       string             `json:"dictionary,omitempty"` // the file it came from
	Data             string             `json:"data,omitempty"`
	Preprocess       string             `json:"preprocess,omitempty"`
	Metrics          map[string]float64 `json:"metrics,omitempty"`
}

// DefaultLISTAConfig returns the defaults for a dictionary n×m: T = 3, 20 epochs of minibatches
// of 64, learning rate 0.3 and momentum 0.9, targets from 500 FISTA iterations or a relative
// change of 1e-6.
func DefaultLISTAConfig(n, m int) LISTAConfig {
	return LISTAConfig{
		Model: LISTAKind, Inputs: n, Atoms: m, Steps: 3, Lambda: 0.1,
		Epochs: 20, Batch: 64, LearningRate: 0.3, Momentum: 0.9,
		TargetIterations: 500, TargetTol: 1e-6, Seed: 1,
	}
}

// Validate reports the first bad field.
func (c LISTAConfig) Validate() error {
	switch {
	case c.Model != LISTAKind:
		return fmt.Errorf("model is %q, want %q", c.Model, LISTAKind)
	case c.Inputs <= 0 || c.Atoms <= 0:
		return fmt.Errorf("shape n = %d, m = %d, want both > 0", c.Inputs, c.Atoms)
	case c.Steps <= 0:
		return fmt.Errorf("T = %d, want ≥ 1", c.Steps)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 1):
		return fmt.Errorf("lambda = %v, want a finite λ ≥ 0", c.Lambda)
	case c.Epochs < 0:
		return fmt.Errorf("epochs = %d, want ≥ 0", c.Epochs)
	case c.Batch <= 0:
		return fmt.Errorf("batch = %d, want > 0", c.Batch)
	case !(c.LearningRate > 0):
		return fmt.Errorf("learning rate = %v, want > 0", c.LearningRate)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("momentum = %v, want 0 ≤ μ < 1", c.Momentum)
	case c.TargetIterations <= 0:
		return fmt.Errorf("target iterations = %d, want > 0", c.TargetIterations)
	}
	return nil
}

// LISTA is the learned ISTA encoder of Gregor & LeCun (2010, §3.1, Algorithm 3):
//
//	b = W_e x,  z_0 = 0,  z_{t+1} = h_θ(b + S z_t),  t = 0 … T−1,  output z_T,
//
// with h_θ the soft shrinkage (per-unit θ) or its one-sided variant. W_e [m, n], S [m, m] and
// θ [m] are learned by backpropagation through the T steps to regress the optimal codes z* of a
// dictionary D [n, m]. From its initialization W_e = Dᵀ/L, S = I − DᵀD/L, θ = λ/L it computes
// exactly T iterations of ISTA from zero. D is kept beside the encoder (to measure
// reconstructions); training does not change it.
type LISTA struct {
	Config LISTAConfig
	We     kernels.Tensor // [m, n]
	S      kernels.Tensor // [m, m]
	Theta  kernels.Tensor // [m]
	D      kernels.Tensor // [n, m]

	be   kernels.Backend
	work map[int]*listaWork
}

// listaWork holds one batch size's forward activations and backward buffers.
type listaWork struct {
	b      int
	u, z   []kernels.Tensor // T each, [B, m]: pre-activations b + S z_{t−1} and codes z_t
	bx     kernels.Tensor   // [B, m], W_e x
	dz, du kernels.Tensor   // [B, m]
	dbx    kernels.Tensor   // [B, m]
	dtheta kernels.Tensor   // [m], one step's contribution
	diff   kernels.Tensor   // [B, m]
	rows   kernels.Tensor   // [B]
	hostB  []float32
}

// LISTAGrads holds the gradients of the loss in W_e, S and θ.
type LISTAGrads struct {
	We, S, Theta kernels.Tensor
}

// NewLISTA makes an encoder with config cfg at its ISTA initialization for the dictionary
// d [n, m]: W_e = Dᵀ/L, S = I − DᵀD/L, θ = λ/L (Gregor & LeCun 2010, Algorithm 3's ISTA
// values), L = λ_max(DᵀD). It keeps a copy of D; cfg.Lipschitz is set to L.
func NewLISTA(be kernels.Backend, d kernels.Tensor, cfg LISTAConfig) (*LISTA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kernels.CheckShape("model.NewLISTA", "dictionary", d, cfg.Inputs, cfg.Atoms)
	coder, err := NewSparseCoder(be, d, CodingOptions{Lambda: cfg.Lambda, NonNegative: cfg.NonNegative})
	if err != nil {
		return nil, err
	}
	defer coder.Free()
	l, err := newLISTATensors(be, cfg)
	if err != nil {
		return nil, err
	}
	L := coder.Lipschitz()
	l.Config.Lipschitz = L
	// W_e = Dᵀ/L: the contract has no transpose op; Dᵀ = Dᵀ·I by Gemm with an identity [n, n]
	// would cost n² memory, so go through the host once.
	host := make([]float32, d.Len())
	if err := be.Download(host, d); err != nil {
		l.Free()
		return nil, err
	}
	n, m := cfg.Inputs, cfg.Atoms
	we := make([]float32, m*n)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			we[j*n+i] = float32(float64(host[i*m+j]) / L)
		}
	}
	be.Upload(l.We, we)
	be.Copy(l.S, coder.Gram())
	be.Fill(l.Theta, float32(cfg.Lambda/L))
	be.Copy(l.D, d)
	return l, be.Sync()
}

func newLISTATensors(be kernels.Backend, cfg LISTAConfig) (*LISTA, error) {
	n, m := cfg.Inputs, cfg.Atoms
	l := &LISTA{Config: cfg, be: be, work: map[int]*listaWork{}}
	var err error
	alloc := func(shape ...int) kernels.Tensor {
		if err != nil {
			return nil
		}
		var t kernels.Tensor
		t, err = be.New(shape...)
		return t
	}
	l.We, l.S, l.Theta, l.D = alloc(m, n), alloc(m, m), alloc(m), alloc(n, m)
	if err != nil {
		l.Free()
		return nil, err
	}
	return l, nil
}

// Backend returns the backend that holds the encoder.
func (l *LISTA) Backend() kernels.Backend { return l.be }

// Params returns W_e, S and θ, in the order of LISTAGrads.List.
func (l *LISTA) Params() []kernels.Tensor { return []kernels.Tensor{l.We, l.S, l.Theta} }

// List returns the gradients in the order of LISTA.Params.
func (g *LISTAGrads) List() []kernels.Tensor { return []kernels.Tensor{g.We, g.S, g.Theta} }

// NewGrads allocates gradient tensors shaped like the parameters.
func (l *LISTA) NewGrads() (*LISTAGrads, error) {
	n, m := l.Config.Inputs, l.Config.Atoms
	g := &LISTAGrads{}
	var err error
	if g.We, err = l.be.New(m, n); err != nil {
		return nil, err
	}
	if g.S, err = l.be.New(m, m); err != nil {
		l.be.Free(g.We)
		return nil, err
	}
	if g.Theta, err = l.be.New(m); err != nil {
		l.be.Free(g.We)
		l.be.Free(g.S)
		return nil, err
	}
	return g, nil
}

// Free releases the gradients.
func (g *LISTAGrads) Free(be kernels.Backend) {
	for _, t := range g.List() {
		if t != nil {
			be.Free(t)
		}
	}
}

// Free releases the encoder's device memory.
func (l *LISTA) Free() {
	for k, w := range l.work {
		l.freeWork(w)
		delete(l.work, k)
	}
	for _, t := range []kernels.Tensor{l.We, l.S, l.Theta, l.D} {
		if t != nil {
			l.be.Free(t)
		}
	}
	l.We, l.S, l.Theta, l.D = nil, nil, nil, nil
}

func (l *LISTA) workspace(b int) (*listaWork, error) {
	if w, ok := l.work[b]; ok {
		return w, nil
	}
	if len(l.work) >= 2 {
		for k, w := range l.work {
			l.freeWork(w)
			delete(l.work, k)
		}
	}
	m, T := l.Config.Atoms, l.Config.Steps
	w := &listaWork{b: b, hostB: make([]float32, b)}
	var err error
	alloc := func(shape ...int) kernels.Tensor {
		if err != nil {
			return nil
		}
		var t kernels.Tensor
		t, err = l.be.New(shape...)
		return t
	}
	for t := 0; t < T; t++ {
		w.u = append(w.u, alloc(b, m))
		w.z = append(w.z, alloc(b, m))
	}
	w.bx, w.dz, w.du, w.dbx, w.diff = alloc(b, m), alloc(b, m), alloc(b, m), alloc(b, m), alloc(b, m)
	w.dtheta, w.rows = alloc(m), alloc(b)
	if err != nil {
		l.freeWork(w)
		return nil, err
	}
	l.work[b] = w
	return w, nil
}

func (l *LISTA) freeWork(w *listaWork) {
	all := append(append([]kernels.Tensor{}, w.u...), w.z...)
	all = append(all, w.bx, w.dz, w.du, w.dbx, w.diff, w.dtheta, w.rows)
	for _, t := range all {
		if t != nil {
			l.be.Free(t)
		}
	}
}

func (l *LISTA) shrink(dst, x kernels.Tensor) {
	if l.Config.NonNegative {
		l.be.PosShrink(dst, x, l.Theta)
	} else {
		l.be.SoftShrink(dst, x, l.Theta)
	}
}

func (l *LISTA) shrinkBackward(dx, dtheta, dy, x kernels.Tensor) {
	if l.Config.NonNegative {
		l.be.PosShrinkBackward(dx, dtheta, dy, x, l.Theta)
	} else {
		l.be.SoftShrinkBackward(dx, dtheta, dy, x, l.Theta)
	}
}

// forward runs the T steps on X [B, n], keeping every pre-activation and code in w.
// In row-major batch form: B = X W_eᵀ, U_t = B + Z_{t−1} Sᵀ, Z_t = h_θ(U_t), Z_0 = 0.
func (l *LISTA) forward(w *listaWork, x kernels.Tensor) {
	be := l.be
	be.Gemm(false, true, 1, x, l.We, 0, w.bx)
	for t := 0; t < l.Config.Steps; t++ {
		be.Copy(w.u[t], w.bx)
		if t > 0 {
			be.Gemm(false, true, 1, w.z[t-1], l.S, 1, w.u[t])
		}
		l.shrink(w.z[t], w.u[t])
	}
}

func (l *LISTA) checkBatch(op string, x, z kernels.Tensor) int {
	b := x.Shape()[0]
	kernels.CheckShape(op, "X", x, b, l.Config.Inputs)
	kernels.CheckShape(op, "Z", z, b, l.Config.Atoms)
	return b
}

// Encode writes z_T [B, m] for the samples X [B, n].
func (l *LISTA) Encode(z, x kernels.Tensor) error {
	b := l.checkBatch("model.LISTA.Encode", x, z)
	w, err := l.workspace(b)
	if err != nil {
		return err
	}
	l.forward(w, x)
	l.be.Copy(z, w.z[l.Config.Steps-1])
	return nil
}

// Gradients runs the encoder on X [B, n], compares z_T with the targets Z* [B, m] and writes into
// g the gradients of the loss ½·(1/B)·Σ_b ‖z_T,b − z*_b‖², which it returns, by
// backpropagation through the T steps (Gregor & LeCun 2010, Algorithm 4):
//
//	dZ_T = (Z_T − Z*)/B
//	for t = T … 1:  dU_t = h'(U_t) ⊙ dZ_t;  dθ −= Σ_b dZ_t·sign(U_t)·[|U_t| > θ]
//	                dB += dU_t;  dS += dU_tᵀ Z_{t−1};  dZ_{t−1} = dU_t S
//	dW_e = dBᵀ X
func (l *LISTA) Gradients(g *LISTAGrads, x, zstar kernels.Tensor) (float64, error) {
	b := l.checkBatch("model.LISTA.Gradients", x, zstar)
	w, err := l.workspace(b)
	if err != nil {
		return 0, err
	}
	be := l.be
	T := l.Config.Steps
	l.forward(w, x)

	// The loss from the per-sample error norms (one download of B floats); w.diff keeps Z_T − Z*.
	mse, err := meanSquaredDistance(be, w.z[T-1], zstar, w.diff, w.rows, w.hostB)
	if err != nil {
		return 0, err
	}
	loss := 0.5 * mse

	be.Axpby(float32(1/float64(b)), w.diff, 0, w.dz)
	for t := T - 1; t >= 0; t-- {
		l.shrinkBackward(w.du, w.dtheta, w.dz, w.u[t])
		if t == T-1 {
			be.Copy(g.Theta, w.dtheta)
			be.Copy(w.dbx, w.du)
		} else {
			be.Axpby(1, w.dtheta, 1, g.Theta)
			be.Axpby(1, w.du, 1, w.dbx)
		}
		if t > 0 {
			// U_t = B + Z_{t−1} Sᵀ: dS = dU_tᵀ Z_{t−1}, dZ_{t−1} = dU_t S.
			beta := float32(1)
			if t == T-1 {
				beta = 0
			}
			be.Gemm(true, false, 1, w.du, w.z[t-1], beta, g.S)
			be.Gemm(false, false, 1, w.du, l.S, 0, w.dz)
		}
	}
	if T == 1 {
		be.Fill(g.S, 0) // S is not used with one step
	}
	be.Gemm(true, false, 1, w.dbx, x, 0, g.We)
	return loss, nil
}

// CodeError returns the mean over samples of ‖z_T − z*‖² for X [B, n] and targets Z* [B, m].
func (l *LISTA) CodeError(x, zstar kernels.Tensor) (float64, error) {
	b := l.checkBatch("model.LISTA.CodeError", x, zstar)
	w, err := l.workspace(b)
	if err != nil {
		return 0, err
	}
	l.forward(w, x)
	return meanSquaredDistance(l.be, w.z[l.Config.Steps-1], zstar, w.diff, w.rows, w.hostB)
}

// meanSquaredDistance returns (1/B)·Σ_b ‖a_b − c_b‖² for a, c [B, m], with workspaces
// diff [B, m], rows [B] and hostB [B].
func meanSquaredDistance(be kernels.Backend, a, c, diff, rows kernels.Tensor, hostB []float32) (float64, error) {
	be.Copy(diff, a)
	be.Axpby(-1, c, 1, diff)
	be.Norms(rows, diff, kernels.PerRow)
	if err := be.Download(hostB, rows); err != nil {
		return 0, err
	}
	var s float64
	for _, v := range hostB {
		s += float64(v) * float64(v)
	}
	return s / float64(len(hostB)), nil
}

// Targets returns the codes z* [N, m] of x [N, n] for the dictionary D [n, m]: FISTA for up to
// iters iterations or until the relative change falls below tol — the regression targets of
// LISTA ("the optimal codes", Gregor & LeCun 2010, §3). Progress is reported per minibatch
// under the stage "targets".
func Targets(be kernels.Backend, d kernels.Tensor, x []float32, lambda float64, nonneg bool, iters int, tol float64, batch int, progress ProgressFunc) ([]float32, error) {
	coder, err := NewSparseCoder(be, d, CodingOptions{Lambda: lambda, NonNegative: nonneg, Algorithm: FISTA, MaxIter: iters, Tol: tol})
	if err != nil {
		return nil, err
	}
	defer coder.Free()
	z, _, err := encodeAll(be, d, lambda, x, batch, newProgressClock(progress, "targets"), func(z, x kernels.Tensor) error {
		_, err := coder.Encode(z, x)
		return err
	})
	return z, err
}

// Train fits W_e, S and θ to the targets zstar [N, m] of x [N, n] (see Targets) by minibatch
// SGD with momentum for Config.Epochs epochs on the loss ½‖z_T − z*‖², as in Gregor & LeCun
// (2010, §3). The learning rate of each parameter is scaled by the inverse of the curvature of
// one step's loss in it — 1/E‖x‖² for W_e, 1/E‖z*‖² for S, 1 for θ — and divided by T (T² for θ),
// so that one Config.LearningRate fits data of any scale and any T. It returns the mean training
// loss ½‖z_T − z*‖² of each epoch.
func (l *LISTA) Train(x, zstar []float32, progress ProgressFunc) ([]float64, error) {
	cfg := l.Config
	n, m := cfg.Inputs, cfg.Atoms
	if len(x) == 0 || len(x)%n != 0 || len(zstar) != len(x)/n*m {
		return nil, fmt.Errorf("training data: %d values of x and %d of z*, want N·%d and N·%d", len(x), len(zstar), n, m)
	}
	num := len(x) / n
	b := min(cfg.Batch, num)
	steps := num / b
	be := l.be

	var x2, z2 float64
	for _, v := range x {
		x2 += float64(v) * float64(v)
	}
	for _, v := range zstar {
		z2 += float64(v) * float64(v)
	}
	x2 /= float64(num)
	z2 /= float64(num)
	// Divided, as in DrSAE (Rolfe & LeCun 2013, §3), by the number of times each parameter is
	// repeated in the unrolled network, T; θ's by T². A change of θ lowers every active unit at
	// every step, and through S these changes add up in the same direction, so the curvature
	// in θ grows like T²: with θ's rate divided by T only, training at T ≥ 3 pushed θ up until
	// units died for good (measured on MNIST, 400 atoms).
	T := float64(cfg.Steps)
	scale := []float64{1 / (T * math.Max(x2, 1e-12)), 1 / (T * math.Max(z2, 1e-12)), 1 / (T * T)}

	g, err := l.NewGrads()
	if err != nil {
		return nil, err
	}
	defer g.Free(be)
	opt, err := NewSGD(be, l.Params(), cfg.Momentum, scale)
	if err != nil {
		return nil, err
	}
	defer opt.Free()
	xt, err := be.New(b, n)
	if err != nil {
		return nil, err
	}
	defer be.Free(xt)
	zt, err := be.New(b, m)
	if err != nil {
		return nil, err
	}
	defer be.Free(zt)

	xb := make([]float32, b*n)
	zb := make([]float32, b*m)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1157a))
	clock := newProgressClock(progress, "lista")
	var history []float64
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		perm := rng.Perm(num)
		var sum float64
		for step := 1; step <= steps; step++ {
			for j, i := range perm[(step-1)*b : step*b] {
				copy(xb[j*n:(j+1)*n], x[i*n:(i+1)*n])
				copy(zb[j*m:(j+1)*m], zstar[i*m:(i+1)*m])
			}
			be.Upload(xt, xb)
			be.Upload(zt, zb)
			loss, err := l.Gradients(g, xt, zt)
			if err != nil {
				return history, err
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return history, fmt.Errorf("lista: epoch %d step %d: loss is %v; lower the learning rate (%v)", epoch, step, loss, cfg.LearningRate)
			}
			opt.Step(l.Params(), g.List(), cfg.LearningRate)
			sum += loss
			clock.report(Progress{Epoch: epoch, Epochs: cfg.Epochs, Step: step, Steps: steps,
				Metrics: []Metric{{"code_err", 2 * sum / float64(step)}}})
		}
		mean := sum / float64(steps)
		history = append(history, mean)
		l.Config.Metrics = map[string]float64{"code_err": 2 * mean}
		clock.report(Progress{Epoch: epoch, Epochs: cfg.Epochs, Step: steps, Steps: steps, EndOfEpoch: true,
			Metrics: []Metric{{"code_err", 2 * mean}}})
	}
	return history, be.Sync()
}

// EncodeAll codes every row of x [N, n] in minibatches of batch samples and returns the codes
// [N, m] and their statistics against the encoder's dictionary.
func (l *LISTA) EncodeAll(x []float32, batch int) ([]float32, CodeStats, error) {
	return encodeAll(l.be, l.D, l.Config.Lambda, x, batch, nil, l.Encode)
}

// Save writes the encoder to path (safetensors: "We" [m, n], "S" [m, m], "theta" [m] and the
// dictionary "D" [n, m]) and its config to ConfigPath(path).
func (l *LISTA) Save(path string) error {
	n, m := l.Config.Inputs, l.Config.Atoms
	var ts []NamedTensor
	for _, p := range []struct {
		name  string
		t     kernels.Tensor
		shape []int
	}{{"D", l.D, []int{n, m}}, {"We", l.We, []int{m, n}}, {"S", l.S, []int{m, m}}, {"theta", l.Theta, []int{m}}} {
		host := make([]float32, p.t.Len())
		if err := l.be.Download(host, p.t); err != nil {
			return err
		}
		ts = append(ts, NamedTensor{Name: p.name, Shape: p.shape, Data: host})
	}
	if err := SaveTensors(path, ts, map[string]string{"model": LISTAKind}); err != nil {
		return err
	}
	return SaveConfig(ConfigPath(path), l.Config)
}

// LoadLISTA reads an encoder saved by Save, checking the tensors' shapes against its config.
func LoadLISTA(be kernels.Backend, path string) (*LISTA, error) {
	var cfg LISTAConfig
	ts, err := loadModelFiles(path, LISTAKind, &cfg)
	if err != nil {
		return nil, err
	}
	n, m := cfg.Inputs, cfg.Atoms
	if err := checkTensors(path, ts, map[string][]int{"D": {n, m}, "We": {m, n}, "S": {m, m}, "theta": {m}}); err != nil {
		return nil, err
	}
	l, err := newLISTATensors(be, cfg)
	if err != nil {
		return nil, err
	}
	be.Upload(l.D, ts["D"].Data)
	be.Upload(l.We, ts["We"].Data)
	be.Upload(l.S, ts["S"].Data)
	be.Upload(l.Theta, ts["theta"].Data)
	return l, nil
}
