package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// NetKind is the registered name of the convolutional classifier.
const NetKind = "convnet"

// Net initializations.
const (
	InitPretrained = "pretrained" // the encoders of the Features file
	InitRandom     = "random"     // the same architecture, random filters (the control)
)

func init() {
	model.Register(model.Kind{
		Name:      NetKind,
		Summary:   "a (pre-trained) stack of conv encoders with their pooling and a linear classifier, trained on labels",
		Phases:    phases,
		NewConfig: func() model.Config { return &NetConfig{Init: InitPretrained} },
		NewTrain:  DefaultNetTrainConfig,
		Data:      model.DataSpec{Source: "mnist", Preprocess: "none", TrainSize: 50000, ValidSize: 10000},
		New:       func(be kernels.Backend, c model.Config) (model.Module, error) { return NewNet(be, *c.(*NetConfig)) },
	})
}

// NetConfig is a classifier over the features of a conv stack (one layer or several, as
// drsae train conv and --below make them): the encoders and pooling of every layer, then
// logits = C·features + c. The decoders are dropped.
type NetConfig struct {
	Inputs  int    `json:"inputs" cfg:"required,noflag" help:"values per image (from the data)"`
	Classes int    `json:"classes" cfg:"required,noflag" help:"classes (from the data)"`
	Source  string `json:"features" help:"the trained conv model or stack (.safetensors) whose architecture, and with --init pretrained whose encoders, the net takes"`
	// Stack is the conv config of Source, saved here so that the net loads by itself.
	Stack  *Config `json:"stack" cfg:"noflag" help:"the config of the conv stack (from features)"`
	Init   string  `json:"init" help:"pretrained (the encoders of --features) or random (the same architecture, random filters)"`
	Freeze bool    `json:"freeze" help:"train the classifier only: the encoders stay as initialized"`
	// Dropout, when > 0, sets each standardized feature to 0 with this probability in every
	// training step and scales the others by 1/(1 − p) (inverted dropout, as torch.nn.Dropout
	// before the classifier); validation, evaluation and encoding read every feature, unscaled.
	Dropout float64 `json:"dropout,omitempty" help:"probability of dropping each feature before the classifier in a training step (dropout; 0: off)"`
}

// DefaultNetTrainConfig: Adam, minibatches of 64, 10 epochs, early stopping on the error.
func DefaultNetTrainConfig() model.TrainConfig {
	c := DefaultTrainConfig()
	c.Batch, c.Epochs, c.Patience = 64, 10, 0
	return c
}

// Validate returns an error naming the first key out of range.
func (c NetConfig) Validate() error {
	switch {
	case c.Stack == nil:
		return fmt.Errorf("stack: missing: the net needs the config of a conv stack (the command line reads it from --features)")
	case c.Init != InitPretrained && c.Init != InitRandom:
		return fmt.Errorf("init = %q, want %s or %s", c.Init, InitPretrained, InitRandom)
	case c.Init == InitPretrained && c.Source == "":
		return fmt.Errorf("features: missing: init %s needs the trained stack's file", InitPretrained)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("dropout = %g, want 0 ≤ p < 1", c.Dropout)
	case c.Classes < 2 || c.Classes > model.MaxUnits:
		return fmt.Errorf("classes = %d, want 2..%d", c.Classes, model.MaxUnits)
	}
	if err := c.Stack.Validate(); err != nil {
		return fmt.Errorf("stack: %v", err)
	}
	if c.Inputs != c.Stack.Inputs {
		return fmt.Errorf("inputs = %d, the stack takes %d", c.Inputs, c.Stack.Inputs)
	}
	return nil
}

// Net is the classifier: for images x, features f = the stack's top complex cells (every layer's
// encoder and pooling in turn), logits = C·((f − mu) ⊙ inv) + c with each feature standardized
// by its training mean and deviation (FitData), the loss the softmax cross-entropy. The
// encoders' W, b, g are saved as layerL.W, … (layer1 at the bottom) beside C and c; in PyTorch,
// each layer is conv.Config's encoder formula followed by its pooling (docs/conv.md).
type Net struct {
	cfg    NetConfig
	be     kernels.Backend
	stack  *ConvSparseAE
	layers []*ConvSparseAE // bottom first
	params []*model.Param  // every layer's W, b, g, then C, c, mu, inv
	cw, cb *model.Param
	// The classifier reads the features standardized, (f − mu) ⊙ inv, with the mean and
	// 1/standard deviation of each feature measured once on the training set (FitData; frozen).
	mu, inv *model.Param
}

var (
	_ model.Module  = (*Net)(nil)
	_ model.Dropper = (*Net)(nil)
)

// NewNet allocates a net with zero parameters.
func NewNet(be kernels.Backend, cfg NetConfig) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("convnet config: %w", err)
	}
	st, err := New(be, *cfg.Stack)
	if err != nil {
		return nil, err
	}
	n := &Net{cfg: cfg, be: be, stack: st}
	for l := st; l != nil; l = l.below {
		n.layers = append([]*ConvSparseAE{l}, n.layers...)
	}
	for i, l := range n.layers {
		for _, p := range []*model.Param{l.w, l.b, l.g} {
			base := p.Name[strings.LastIndex(p.Name, ".")+1:] // below.below.W → W
			p.Name, p.Frozen = fmt.Sprintf("layer%d.%s", i+1, base), cfg.Freeze
			n.params = append(n.params, p)
		}
	}
	f := cfg.Stack.Pooled()
	cp, err := model.NewParams(be, []string{"C", "c", "mu", "inv"}, [][]int{{cfg.Classes, f}, {cfg.Classes}, {f}, {f}})
	if err != nil {
		st.Free()
		return nil, err
	}
	n.cw, n.cb, n.mu, n.inv = cp[0], cp[1], cp[2], cp[3]
	n.mu.Frozen, n.inv.Frozen = true, true
	n.params = append(n.params, cp...)
	return n, nil
}

func (n *Net) Kind() string             { return NetKind }
func (n *Net) Config() model.Config     { return &n.cfg }
func (n *Net) Backend() kernels.Backend { return n.be }
func (n *Net) Params() []*model.Param   { return n.params }
func (n *Net) Phases() []string         { return phases }
func (n *Net) Criterion() string        { return "err" }
func (n *Net) MaxBatch() int            { return n.stack.MaxBatch() }

// Free releases the net.
func (n *Net) Free() {
	model.FreeParams(n.be, []*model.Param{n.cw, n.cb, n.mu, n.inv})
	n.stack.Free()
}

// Init sets the encoders from the Source file (pretrained) or at random as drsae train conv
// starts them (random, layer L with seed + L), and the classifier to zero.
func (n *Net) Init(_ *model.Samples, seed uint64) error {
	if n.cfg.Init == InitPretrained {
		if err := n.stack.copyFrom(n.cfg.Source); err != nil {
			return fmt.Errorf("convnet: the features: %w", err)
		}
	} else {
		for i, l := range n.layers {
			if err := l.initLayer(seed + uint64(i)); err != nil {
				return err
			}
		}
	}
	for _, p := range []*model.Param{n.cw, n.cb, n.mu, n.inv} {
		n.be.Fill(p.Value, 0)
	}
	return n.be.Sync()
}

// fitSamples is how many training images FitData measures the features on.
const fitSamples = 10000

// FitData measures the mean and standard deviation of every feature on the first training
// images, the first time the net trains (inv is 0 until then; a resumed run keeps them). A
// feature that hardly varies (σ < 10⁻³ of the largest) is scaled as if it had that floor.
func (n *Net) FitData(train *model.Samples) error {
	inv := make([]float32, n.inv.Value.Len())
	if err := n.be.Download(inv, n.inv.Value); err != nil {
		return err
	}
	if inv[0] != 0 {
		return nil
	}
	s := train.Slice(0, min(train.N(), fitSamples))
	f := len(inv)
	sum, sq := make([]float64, f), make([]float64, f)
	works := model.NewWorks(n)
	defer works.Free()
	err := model.ForBatches(n, works, s, n.MaxBatch(), 0, func(w model.Work, lo, hi int) error {
		h := make([]float32, (hi-lo)*f)
		if err := n.be.Download(h, w.(*netWork).chunks[0].c.p); err != nil {
			return err
		}
		for i, v := range h {
			sum[i%f] += float64(v)
			sq[i%f] += float64(v) * float64(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	mu := make([]float32, f)
	sd := make([]float64, f)
	var top float64
	for i := range f {
		m := sum[i] / float64(s.N())
		mu[i], sd[i] = float32(m), math.Sqrt(math.Max(0, sq[i]/float64(s.N())-m*m))
		top = math.Max(top, sd[i])
	}
	floor := math.Max(1e-3*top, 1e-12)
	for i := range f {
		inv[i] = float32(1 / math.Max(sd[i], floor))
	}
	n.be.Upload(n.mu.Value, mu)
	n.be.Upload(n.inv.Value, inv)
	return n.be.Sync()
}

// netChunk is a stack chunk with the classifier's buffers.
type netChunk struct {
	c                *chunk
	labels, xent, pr kernels.Tensor // [n]
	logits, dlog     kernels.Tensor // [n, classes]
	dp, fs           kernels.Tensor // [n, features]: their gradient; the standardized features
	mask             kernels.Tensor // [n, features]: the dropout mask, with dropout
	all              []kernels.Tensor
}

type netWork struct {
	b      int
	chunks []*netChunk
	sums   *model.Scalars
	be     kernels.Backend
	// Dropout: the mask of the whole batch [B, features] on the host; the next Forward drops
	// (Drop), with this seed; the last Forward dropped.
	mask              []float32
	dropSeed          uint64
	dropNext, dropped bool
}

func (w *netWork) Size() int               { return w.b }
func (w *netWork) Inputs() kernels.Tensor  { return w.chunks[0].c.input() }
func (w *netWork) Targets() kernels.Tensor { return w.chunks[0].labels }

// UploadBatch copies the images x [B, inputs] and their labels y [B] into the chunks.
func (w *netWork) UploadBatch(x, y []float32) {
	lo, ly := 0, 0
	for _, c := range w.chunks {
		in := c.c.input()
		w.be.Upload(in, x[lo:lo+in.Len()])
		lo += in.Len()
		if y != nil {
			w.be.Upload(c.labels, y[ly:ly+c.c.n])
			ly += c.c.n
		}
	}
}

func (w *netWork) Free() {
	for _, c := range w.chunks {
		c.c.free(w.be)
		model.FreeTensors(w.be, c.all...)
	}
	if w.sums != nil {
		w.sums.Free()
	}
}

// NewWork allocates the buffers of passes over b images, in chunks as the stack's.
func (n *Net) NewWork(b int) (model.Work, error) {
	limit, err := n.stack.chunkLimit()
	if err != nil {
		return nil, err
	}
	w := &netWork{b: b, be: n.be}
	k, f := n.cfg.Classes, n.cfg.Stack.Pooled()
	for lo := 0; lo < b; lo += limit {
		size := min(limit, b-lo)
		c, err := n.stack.newChunk(size)
		if err != nil {
			w.Free()
			return nil, err
		}
		nc := &netChunk{c: c}
		w.chunks = append(w.chunks, nc)
		if nc.all, err = model.NewTensors(n.be, []int{size}, []int{size}, []int{size}, []int{size, k}, []int{size, k}, []int{size, f}, []int{size, f}); err != nil {
			w.Free()
			return nil, err
		}
		nc.labels, nc.xent, nc.pr, nc.logits, nc.dlog, nc.dp, nc.fs = nc.all[0], nc.all[1], nc.all[2], nc.all[3], nc.all[4], nc.all[5], nc.all[6]
		if n.cfg.Dropout > 0 {
			if nc.mask, err = n.be.New(size, f); err != nil {
				w.Free()
				return nil, err
			}
			nc.all = append(nc.all, nc.mask)
		}
	}
	if n.cfg.Dropout > 0 {
		w.mask = make([]float32, b*f)
	}
	if w.sums, err = model.NewScalars(n.be, 2*len(w.chunks)); err != nil {
		w.Free()
		return nil, err
	}
	return w, nil
}

// Drop makes the next Forward on mw a training pass with dropout, its mask drawn from seed
// (model.Dropper); without dropout it does nothing.
func (n *Net) Drop(mw model.Work, seed uint64) {
	if n.cfg.Dropout > 0 {
		w := mw.(*netWork)
		w.dropNext, w.dropSeed = true, seed
	}
}

// dropMask fills mask with 0 (probability p) or 1/(1 − p), drawn from seed.
func dropMask(mask []float32, p float64, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0xd409))
	keep := float32(1 / (1 - p))
	for i := range mask {
		mask[i] = keep
		if r.Float64() < p {
			mask[i] = 0
		}
	}
}

// Forward computes the features, the logits and the cross-entropy of every chunk.
func (n *Net) Forward(mw model.Work, _ int) error {
	w := mw.(*netWork)
	w.dropped, w.dropNext = w.dropNext, false
	if w.dropped {
		dropMask(w.mask, n.cfg.Dropout, w.dropSeed)
		lo := 0
		for _, c := range w.chunks {
			n.be.Upload(c.mask, w.mask[lo:lo+c.mask.Len()])
			lo += c.mask.Len()
		}
	}
	n.stack.expand()
	for _, c := range w.chunks {
		n.stack.encode(c.c)
		n.be.BroadcastAdd(c.fs, c.c.p, -1, n.mu.Value, kernels.PerCol) // standardized features
		n.be.BroadcastMul(c.fs, c.fs, n.inv.Value, kernels.PerCol)
		if w.dropped {
			n.be.Hadamard(c.fs, c.fs, c.mask)
		}
		n.be.Gemm(false, true, 1, c.fs, n.cw.Value, 0, c.logits) // logits = f·Cᵀ
		n.be.BroadcastAdd(c.logits, c.logits, 1, n.cb.Value, kernels.PerCol)
		n.be.SoftmaxXent(c.xent, c.dlog, c.logits, c.labels)
	}
	return nil
}

// Backward writes the gradients of the batch mean of the cross-entropy: the classifier's, and
// (unless Freeze) every encoder's, from the top layer down.
func (n *Net) Backward(mw model.Work, _ int) {
	w, be := mw.(*netWork), n.be
	inv := 1 / float32(w.b)
	for i, c := range w.chunks {
		beta := float32(min(i, 1))
		be.Gemm(true, false, inv, c.dlog, c.fs, beta, n.cw.Grad)                                    // dC = dlogᵀ·f/B, f standardized
		be.Gemm(false, false, inv, c.c.ones, c.dlog, beta, be.Reshape(n.cb.Grad, 1, n.cfg.Classes)) // dc = Σ dlog/B
		if n.cfg.Freeze {
			continue
		}
		be.Gemm(false, false, inv, c.dlog, n.cw.Value, 0, c.dp) // df = dlog·C/B, through the dropout and the standardization
		if w.dropped {
			be.Hadamard(c.dp, c.dp, c.mask)
		}
		be.BroadcastMul(c.dp, c.dp, n.inv.Value, kernels.PerCol)
		dp, ch := c.dp, c.c
		for l := n.stack; l != nil; l, ch = l.below, ch.below {
			l.cellsBackward(ch, dp)
			l.encoderBackward(ch, beta, l.below != nil)
			dp = ch.r // the gradient of this layer's input: the features of the layer beneath
		}
	}
	if !n.cfg.Freeze {
		for _, l := range n.layers {
			l.sumMapGrads()
		}
	}
}

// Loss reads back "loss", the cross-entropy, and "err", the misclassified images (each summed).
func (n *Net) Loss(mw model.Work, _ int) (model.Sums, error) {
	w, be := mw.(*netWork), n.be
	for _, c := range w.chunks {
		w.sums.Sum(c.xent, kernels.ReduceSum)
		be.Argmax(c.pr, c.logits)
		be.Axpby(-1, c.labels, 1, c.pr) // non-zero where wrong
		w.sums.Count(c.pr, 0.5)
	}
	v, err := w.sums.Read()
	if err != nil {
		return model.Sums{}, err
	}
	var xent, wrong float64
	for i := 0; i < len(v); i += 2 {
		xent, wrong = xent+v[i], wrong+v[i+1]
	}
	s := model.Sums{N: w.b}
	s.Set("loss", xent)
	s.Set("err", wrong)
	return s, nil
}

// Code is the features f [B, Pooled] of the last Forward (a batch in one chunk, as MaxBatch gives).
func (n *Net) Code(mw model.Work) kernels.Tensor {
	w := mw.(*netWork)
	if len(w.chunks) != 1 {
		panic(fmt.Sprintf("convnet: Code of a batch of %d in %d chunks; evaluate in batches of at most MaxBatch (%d)", w.b, len(w.chunks), n.MaxBatch()))
	}
	return w.chunks[0].c.p
}
