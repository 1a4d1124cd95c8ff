package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// ConvSparseAE is the convolutional group-sparse auto-encoder. For an image x [C,H,W]:
//
//	encoder:  z_k = g_k · max(0, (W_k ⋆ x) − b_k)     W [K,C,F,F], b [K], g [K]; z [K,Ho,Wo]
//	decoder:  x̂ = Σ_k D_k ⋆ᵀ z_k                      D [K,C,F,F], each D_k of norm ≤ 1
//	loss:     ½‖x − x̂‖² + λ Σ_cells √(ε + Σ_{k∈group, (i,j)∈window} z_k[i,j]²)
//
// ⋆ is the cross-correlation with the config's stride and padding (PyTorch's conv2d) and ⋆ᵀ its
// adjoint (conv_transpose2d). A complex cell pools a Pool×Pool window of Group neighbouring maps;
// the cells' responses are the features that a second layer or a classifier reads (Features).
// In PyTorch, with t = safetensors.torch.load_file(path) and x [N,C,H,W]:
//
//	z = t["g"][None,:,None,None] * relu(conv2d(x, t["W"], stride=s, padding=p) - t["b"][None,:,None,None])
//	x_hat = conv_transpose2d(z, t["D"], stride=s, padding=p, output_padding=(H+2p-F) % s)
//
// A batch whose tensors would pass the device's largest storage block is split into chunks of
// samples, each in tensors of its own; the gradients add up over the chunks.
type ConvSparseAE struct {
	cfg        Config // as given (for a stack, with the images' shape and the layer beneath)
	lc         Config // the top layer alone (cfg.Layer())
	geo        Geometry
	below      *ConvSparseAE // the frozen layer beneath, or nil
	lcn        *contrastNorm // the images' contrast normalization (contrast_sigma), or nil
	be         kernels.Backend
	params     []*model.Param // W, b, g, D
	w, b, g, d *model.Param

	perMap       int            // Ho·Wo, code pixels per map
	bFull, gFull kernels.Tensor // [K·Ho·Wo]: b and g repeated over each map's pixels
	zeros        kernels.Tensor // [K·Ho·Wo]
	onesMap      kernels.Tensor // [Ho·Wo, 1]
	poolK        kernels.Tensor // [Pool, Pool] ones
	groupK       kernels.Tensor // [Group, 1] ones
	filterTmp    kernels.Tensor // [K,C,F,F], a chunk's filter gradient
	fullTmp      kernels.Tensor // [K·Ho·Wo], a chunk's per-pixel bias gradient
	dbFull       kernels.Tensor // [K·Ho·Wo]
	dgFull       kernels.Tensor // [1, K·Ho·Wo]
	temps        []kernels.Tensor
}

// testMaxChunk, when > 0, lowers the chunk limit: tests split small batches with it.
var testMaxChunk int

var _ model.Module = (*ConvSparseAE)(nil)

// New allocates a model with zero parameters.
func New(be kernels.Backend, cfg Config) (*ConvSparseAE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("conv config: %w", err)
	}
	lc := cfg.Layer()
	k, c, f := lc.Maps, lc.Channels, lc.Filter
	ps, err := model.NewParams(be, []string{"W", "b", "g", "D"}, [][]int{{k, c, f, f}, {k}, {k}, {k, c, f, f}})
	if err != nil {
		return nil, err
	}
	m := &ConvSparseAE{cfg: cfg, lc: lc, geo: cfg.Geometry(), be: be, params: ps, w: ps[0], b: ps[1], g: ps[2], d: ps[3]}
	if cfg.BelowConfig != nil {
		if m.below, err = New(be, *cfg.BelowConfig); err != nil {
			model.FreeParams(be, ps)
			return nil, err
		}
		for _, p := range m.below.params {
			p.Name, p.Frozen, p.Project = "below."+p.Name, true, nil
			m.params = append(m.params, p)
		}
	}
	m.perMap = m.geo.CodeH * m.geo.CodeW
	full := k * m.perMap
	m.temps, err = model.NewTensors(be, []int{full}, []int{full}, []int{full}, []int{m.perMap, 1}, []int{lc.Pool, lc.Pool},
		[]int{lc.Group, 1}, []int{k, c, f, f}, []int{full}, []int{full}, []int{1, full})
	if err != nil {
		m.Free()
		return nil, fmt.Errorf("conv: %w", err)
	}
	t := m.temps
	m.bFull, m.gFull, m.zeros, m.onesMap, m.poolK, m.groupK, m.filterTmp, m.fullTmp, m.dbFull, m.dgFull = t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9]
	for _, o := range []kernels.Tensor{m.onesMap, m.poolK, m.groupK} {
		be.Fill(o, 1)
	}
	if cfg.ContrastSigma > 0 {
		if m.lcn, err = newContrastNorm(be, cfg.ContrastSigma, c, lc.Rows, lc.Cols); err != nil {
			m.Free()
			return nil, err
		}
	}
	m.d.LRScale = lc.DecoderLRScale
	m.d.Project = func(x kernels.Tensor) { be.ProjectNormBall(be.Reshape(x, k, c*f*f), 1, kernels.PerRow) }
	return m, nil
}

// Below is the frozen layer beneath a stack's top layer (itself a ConvSparseAE over the images,
// with its decoder), or nil.
func (m *ConvSparseAE) Below() *ConvSparseAE { return m.below }

func (m *ConvSparseAE) Kind() string             { return Kind }
func (m *ConvSparseAE) Config() model.Config     { return &m.cfg }
func (m *ConvSparseAE) Backend() kernels.Backend { return m.be }
func (m *ConvSparseAE) Params() []*model.Param   { return m.params }
func (m *ConvSparseAE) Phases() []string         { return phases }
func (m *ConvSparseAE) Criterion() string        { return "loss" }

// Free releases the parameters and buffers (the layer beneath's too).
func (m *ConvSparseAE) Free() {
	model.FreeParams(m.be, m.params)
	if m.below != nil {
		m.below.Free()
	}
	model.FreeTensors(m.be, m.temps...)
	m.temps = nil
	if m.lcn != nil {
		m.lcn.free()
		m.lcn = nil
	}
}

// loadBelow copies the parameters of the model file Below into the layer beneath.
func (m *ConvSparseAE) loadBelow() error {
	if m.cfg.Below == "" {
		return fmt.Errorf("conv: a stack needs the file of the layer beneath (below)")
	}
	return m.below.copyFrom(m.cfg.Below)
}

// copyFrom copies every parameter of the conv model saved at path, whose config must be m's.
func (m *ConvSparseAE) copyFrom(path string) error {
	src, _, err := model.LoadModel(m.be, path)
	if err != nil {
		return fmt.Errorf("conv: %w", err)
	}
	defer src.Free()
	sc, ok := src.(*ConvSparseAE)
	if !ok || !reflect.DeepEqual(sc.cfg, m.cfg) {
		return fmt.Errorf("conv: %s is not the model the config describes (a %s model)", path, src.Kind())
	}
	for i, p := range sc.params {
		m.be.Copy(m.params[i].Value, p.Value)
	}
	return m.be.Sync()
}

// Init draws every encoder filter W_k from a Gaussian with unit norm, starts the decoder as the
// encoder's adjoint (D = W), b = 0, and a gain g = 1/√(K·F²/C') that keeps the first
// reconstructions near the images' scale (C' = C·stride²). The same seed gives the same model.
func (m *ConvSparseAE) Init(_ *model.Samples, seed uint64) error {
	if m.below != nil {
		if err := m.loadBelow(); err != nil {
			return err
		}
	}
	return m.initLayer(seed)
}

// initLayer draws the top layer's parameters.
func (m *ConvSparseAE) initLayer(seed uint64) error {
	k, per := m.lc.Maps, m.lc.Channels*m.lc.Filter*m.lc.Filter
	m.be.Upload(m.w.Value, model.UnitRows(rand.New(rand.NewPCG(seed, 0xc0de)), k, per))
	m.be.Copy(m.d.Value, m.w.Value)
	m.be.Fill(m.b.Value, 0)
	cover := float64(k*m.lc.Filter*m.lc.Filter) / float64(m.lc.Stride*m.lc.Stride)
	m.be.Fill(m.g.Value, float32(1/math.Sqrt(cover)))
	return m.be.Sync()
}

// views of a chunk's matrices as NCHW images.
func (m *ConvSparseAE) image(t kernels.Tensor, n int) kernels.Tensor {
	return m.be.Reshape(t, n, m.lc.Channels, m.lc.Rows, m.lc.Cols)
}
func (m *ConvSparseAE) codeMaps(t kernels.Tensor, n int) kernels.Tensor {
	return m.be.Reshape(t, n, m.lc.Maps, m.geo.CodeH, m.geo.CodeW)
}
func (m *ConvSparseAE) cellMaps(t kernels.Tensor, n int) kernels.Tensor {
	return m.be.Reshape(t, n, m.lc.Maps, m.geo.PoolH, m.geo.PoolW)
}

// groupViews returns s as [n,1,K,Hp·Wp] and p as [n,1,G,Hp·Wp]: pooling over groups of maps is
// a (Group×1) window over the map axis.
func (m *ConvSparseAE) groupViews(s, p kernels.Tensor, n int) (kernels.Tensor, kernels.Tensor) {
	cells := m.geo.PoolH * m.geo.PoolW
	return m.be.Reshape(s, n, 1, m.lc.Maps, cells), m.be.Reshape(p, n, 1, m.geo.Groups, cells)
}

// eps splits ε between the two pooling stages so that a complex cell is √(ε + Σ z²).
func (m *ConvSparseAE) eps() (spatial, group float32) {
	if m.lc.Group == 1 {
		return float32(m.lc.Eps), 0
	}
	return float32(m.lc.Eps / float64(2*m.lc.Group)), float32(m.lc.Eps / 2)
}

// expand repeats b and g over each map's pixels (the layers beneath's too).
func (m *ConvSparseAE) expand() {
	if m.below != nil {
		m.below.expand()
	}
	k := m.lc.Maps
	ones := m.be.Reshape(m.onesMap, 1, m.perMap)
	m.be.Gemm(false, false, 1, m.be.Reshape(m.b.Value, k, 1), ones, 0, m.be.Reshape(m.bFull, k, m.perMap))
	m.be.Gemm(false, false, 1, m.be.Reshape(m.g.Value, k, 1), ones, 0, m.be.Reshape(m.gFull, k, m.perMap))
}

// Forward computes, chunk by chunk, the code, the residual x̂ − x and the complex cells.
func (m *ConvSparseAE) Forward(mw model.Work, _ int) error {
	m.expand()
	for _, c := range mw.(*work).chunks {
		m.forward(c)
	}
	return nil
}

func (m *ConvSparseAE) forward(c *chunk) {
	m.encode(c)
	m.be.Conv2DBackwardData(m.image(c.r, c.n), m.codeMaps(c.z, c.n), m.d.Value, m.geo.Conv)
	m.be.Axpby(-1, c.x, 1, c.r) // R = x̂ − x
}

// encode computes a chunk's code and complex cells, from its images through the layers beneath.
func (m *ConvSparseAE) encode(c *chunk) {
	if m.below != nil {
		m.below.encode(c.below)
	}
	if m.lcn != nil {
		m.lcn.apply(c.lcn, c.x)
	}
	be, n := m.be, c.n
	be.Conv2DForward(m.codeMaps(c.tmp, n), m.image(c.x, n), m.w.Value, m.geo.Conv) // A = W ⋆ x
	be.PosShrink(c.u, c.tmp, m.bFull)                                              // U = max(0, A − b)
	be.BroadcastMul(c.z, c.u, m.gFull, kernels.PerCol)                             // Z = g ⊙ U
	es, eg := m.eps()
	be.L2Pool2D(m.cellMaps(c.s, n), m.codeMaps(c.z, n), m.poolK, m.geo.Pool, es)
	if m.lc.Group > 1 {
		s, p := m.groupViews(c.s, c.p, n)
		be.L2Pool2D(p, s, m.groupK, m.geo.GroupPool, eg)
	}
}

// Backward writes the gradients of the batch mean of the loss, summed over the chunks.
func (m *ConvSparseAE) Backward(mw model.Work, _ int) {
	w, be := mw.(*work), m.be
	inv := 1 / float32(w.b)
	for i, c := range w.chunks {
		n, beta := c.n, float32(min(i, 1))
		z4 := m.codeMaps(c.z, n)
		// dZ = (λ ∂cells/∂z + D ⋆ R)/B: the decoder's adjoint is the correlation with D.
		m.cellsBackward(c, c.lam)
		be.Conv2DForward(m.codeMaps(c.tmp, n), m.image(c.r, n), m.d.Value, m.geo.Conv)
		be.Axpby(inv, c.tmp, inv, c.dz)
		// dD = Σ R ⋆ Z / B.
		be.Conv2DBackwardFilter(m.filterTmp, m.image(c.r, n), z4, m.geo.Conv)
		be.Axpby(inv, m.filterTmp, beta, m.d.Grad)
		m.encoderBackward(c, beta, false)
	}
	m.sumMapGrads()
}

// cellsBackward writes into c.dz the gradient through the complex cells, ∂(Σ dp ⊙ p)/∂z, for
// dp [n, Groups·Hp·Wp].
func (m *ConvSparseAE) cellsBackward(c *chunk, dp kernels.Tensor) {
	be, n := m.be, c.n
	ds := dp
	if m.lc.Group > 1 {
		s, p := m.groupViews(c.s, c.p, n)
		gs, _ := m.groupViews(c.ds, c.p, n)
		be.L2Pool2DBackward(gs, be.Reshape(dp, p.Shape()...), s, p, m.groupK, m.geo.GroupPool)
		ds = c.ds
	}
	be.L2Pool2DBackward(m.codeMaps(c.dz, n), m.cellMaps(ds, n), m.codeMaps(c.z, n), m.cellMaps(c.s, n), m.poolK, m.geo.Pool)
}

// encoderBackward takes dZ in c.dz back through Z = g ⊙ max(0, W ⋆ x − b): it adds (β = 1) or
// writes (β = 0) the chunk's gradients of W and of the per-pixel b and g, and with dx the
// gradient of the input x into c.r. c.dz and c.tmp are overwritten.
func (m *ConvSparseAE) encoderBackward(c *chunk, beta float32, dx bool) {
	be, n := m.be, c.n
	// dg per pixel Σ_n dZ ⊙ U; dU = dZ ⊙ g; dA = dU·[U > 0].
	be.Hadamard(c.tmp, c.dz, c.u)
	be.Gemm(false, false, 1, c.ones, c.tmp, beta, m.dgFull)
	be.BroadcastMul(c.tmp, c.dz, m.gFull, kernels.PerCol)
	be.PosShrinkBackward(c.dz, m.fullTmp, c.tmp, c.u, m.zeros)
	be.Axpby(1, m.fullTmp, beta, m.dbFull)
	be.Conv2DBackwardFilter(m.filterTmp, m.image(c.x, n), m.codeMaps(c.dz, n), m.geo.Conv)
	be.Axpby(1, m.filterTmp, beta, m.w.Grad)
	if dx {
		be.Conv2DBackwardData(m.image(c.r, n), m.codeMaps(c.dz, n), m.w.Value, m.geo.Conv)
	}
}

// sumMapGrads sums the per-pixel gradients of b and g into each map's: its pixels share them.
func (m *ConvSparseAE) sumMapGrads() {
	be, k := m.be, m.lc.Maps
	be.Gemm(false, false, 1, be.Reshape(m.dbFull, k, m.perMap), m.onesMap, 0, be.Reshape(m.b.Grad, k, 1))
	be.Gemm(false, false, 1, be.Reshape(m.dgFull, k, m.perMap), m.onesMap, 0, be.Reshape(m.g.Grad, k, 1))
}

// ActiveThreshold is the |z| above which a code unit counts as active.
const ActiveThreshold = 0

// Loss reads back "recon" ½‖x − x̂‖², "penalty" Σ_cells √(ε + Σ z²) (without λ), "loss"
// recon + λ·penalty and "active", the fraction of non-zero code units (each summed over samples).
func (m *ConvSparseAE) Loss(mw model.Work, _ int) (model.Sums, error) {
	w := mw.(*work)
	for _, c := range w.chunks {
		w.sums.Sum(c.r, kernels.ReduceSquares)
		w.sums.Sum(c.p, kernels.ReduceSum)
		w.sums.Count(c.z, ActiveThreshold)
	}
	v, err := w.sums.Read()
	if err != nil {
		return model.Sums{}, err
	}
	var rec, pen, act float64
	for i := 0; i < len(v); i += 3 {
		rec, pen, act = rec+v[i]/2, pen+v[i+1], act+v[i+2]
	}
	s := model.Sums{N: w.b}
	s.Set("loss", rec+m.lc.Lambda*pen)
	s.Set("recon", rec)
	s.Set("penalty", pen)
	s.Set("active", act/float64(m.lc.Maps*m.perMap))
	return s, nil
}

// Code is the code z [B, K·Ho·Wo] of the last Forward. Evaluation batches (MaxBatch) are one
// chunk; a training batch in several chunks has no single code tensor.
func (m *ConvSparseAE) Code(mw model.Work) kernels.Tensor {
	w := mw.(*work)
	if len(w.chunks) != 1 {
		panic(fmt.Sprintf("conv: Code of a batch of %d in %d chunks; evaluate in batches of at most MaxBatch (%d)", w.b, len(w.chunks), m.MaxBatch()))
	}
	return w.chunks[0].z
}

// Pooled is the complex cells' responses [B, Groups·Hp·Wp] of the last Forward (one chunk, as Code).
func (m *ConvSparseAE) Pooled(mw model.Work) kernels.Tensor {
	m.Code(mw)
	return mw.(*work).chunks[0].p
}

// Features returns the complex cells' responses [N, Pooled()] of the images x [N, Inputs], in
// batches of at most MaxBatch: what a second layer or a classifier reads.
func (m *ConvSparseAE) Features(x []float32) ([]float32, error) {
	s := &model.Samples{Name: "images", X: x, Dim: m.cfg.Inputs}
	works := model.NewWorks(m)
	defer works.Free()
	p := m.lc.Pooled()
	out := make([]float32, s.N()*p)
	err := model.ForBatches(m, works, s, m.MaxBatch(), 0, func(w model.Work, lo, hi int) error {
		return m.be.Download(out[lo*p:hi*p], m.Pooled(w))
	})
	return out, err
}
