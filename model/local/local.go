package local

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// LocalSparseAE is the locally connected sparse auto-encoder. For an image x [Rows, Cols]:
//
//	encoder:  z_u = g_u · max(0, ⟨W_u, x|window(u)⟩ − b_u)    a filter W_u, bias b_u, gain g_u per unit
//	decoder:  x̂ = Σ_u z_u · D_u placed on window(u)            D_u of norm ≤ 1
//	loss:     ½‖x − x̂‖² + λ Σ_cells √(ε + Σ_{u∈cell} w_u z_u²) [+ ½μ Σ_uv K_uv z_u z_v] [+ E(D)]
//
// The third term, with Config.Surround μ > 0, is lateral inhibition between the units of the map
// over a fixed kernel K (Config.SurroundKernel), computed as z·K; the last, with
// Config.OrientationPrior ν > 0, the orientation prior on the decoder filters (prior.go).
//
// Nothing is shared between units: W and D are [Ho, Wo, Site², 1, F, F] (the locally connected
// op's layout), b and g are [Units] in the code's order [Site², Ho, Wo]. The encoder is
// kernels' LocalForward with W, the decoder its adjoint LocalBackwardData with D, and the complex
// cells are PoolNorms over windows of neighbouring units on the map (Config.Layout). In PyTorch,
// with t = safetensors.torch.load_file(path), x [N, 1, H, W], K = Site² and
// patches = x.unfold(2, F, s).unfold(3, F, s) ([N, 1, Ho, Wo, F, F]):
//
//	a = einsum("ijkcpq,ncijpq->nkij", t["W"], patches)
//	z = t["g"].view(K, Ho, Wo) * relu(a - t["b"].view(K, Ho, Wo))
//	x_hat = fold(einsum("ijkcpq,nkij->ncpqij", t["D"], z).reshape(N, F*F, Ho*Wo), (H, W), F, stride=s)
type LocalSparseAE struct {
	cfg        Config
	be         kernels.Backend
	geo        kernels.Conv2D
	Layout     *kernels.PoolLayout
	Pools      kernels.Pools
	params     []*model.Param // W, b, g, D
	w, b, g, d *model.Param
	surround   kernels.Tensor // K [Units, Units] of the surround inhibition; nil without one
	prior      *orientPrior   // the orientation prior; nil without one
}

var _ model.Module = (*LocalSparseAE)(nil)
var _ model.BatchLimiter = (*LocalSparseAE)(nil)

// New allocates a model with zero parameters and copies its complex cells to the device.
func New(be kernels.Backend, cfg Config) (*LocalSparseAE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("local config: %w", err)
	}
	layout, err := cfg.Layout()
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	ho, wo := cfg.Positions()
	k, f, m := cfg.Site*cfg.Site, cfg.Filter, cfg.Units()
	filters := []int{ho, wo, k, 1, f, f}
	ps, err := model.NewParams(be, []string{"W", "b", "g", "D"}, [][]int{filters, {m}, {m}, filters})
	if err != nil {
		return nil, fmt.Errorf("local: %d weights per filter bank: %w", cfg.Weights(), err)
	}
	l := &LocalSparseAE{cfg: cfg, be: be, geo: cfg.Geometry(), Layout: layout, params: ps, w: ps[0], b: ps[1], g: ps[2], d: ps[3]}
	if l.Pools, err = be.NewPools(layout); err != nil {
		l.Free()
		return nil, fmt.Errorf("local: %w", err)
	}
	if cfg.Surround > 0 {
		if l.surround, err = be.New(m, m); err != nil {
			l.Free()
			return nil, fmt.Errorf("local: the surround kernel: %w", err)
		}
		be.Upload(l.surround, cfg.SurroundKernel())
	}
	if cfg.OrientationPrior > 0 {
		if l.prior, err = newOrientPrior(be, cfg); err != nil {
			l.Free()
			return nil, fmt.Errorf("local: the orientation prior: %w", err)
		}
	}
	l.d.LRScale = cfg.DecoderLRScale
	l.d.Project = func(x kernels.Tensor) { be.ProjectNormBall(be.Reshape(x, m, f*f), 1, kernels.PerRow) }
	return l, nil
}

func (l *LocalSparseAE) Kind() string             { return Kind }
func (l *LocalSparseAE) Config() model.Config     { return &l.cfg }
func (l *LocalSparseAE) Backend() kernels.Backend { return l.be }
func (l *LocalSparseAE) Params() []*model.Param   { return l.params }
func (l *LocalSparseAE) Phases() []string         { return phases }
func (l *LocalSparseAE) Criterion() string        { return "loss" }

// Free releases the parameters and the pools.
func (l *LocalSparseAE) Free() {
	model.FreeParams(l.be, l.params)
	if l.surround != nil {
		l.be.Free(l.surround)
		l.surround = nil
	}
	if l.prior != nil {
		model.FreeTensors(l.be, l.prior.dev)
		l.prior = nil
	}
	if l.Pools != nil {
		l.be.FreePools(l.Pools)
		l.Pools = nil
	}
}

// Init draws every encoder filter from a Gaussian with unit norm, starts the decoder as the
// encoder's adjoint (D = W), b = 0, and a gain g = stride/(Site·F) (1/√(filters covering a
// pixel)), which keeps the first reconstructions near the images' scale. The same seed gives the
// same model.
func (l *LocalSparseAE) Init(_ *model.Samples, seed uint64) error {
	c := l.cfg
	l.be.Upload(l.w.Value, model.UnitRows(rand.New(rand.NewPCG(seed, 0x10ca1)), c.Units(), c.Filter*c.Filter))
	l.be.Copy(l.d.Value, l.w.Value)
	l.be.Fill(l.b.Value, 0)
	cover := float64(c.Site*c.Site*c.Filter*c.Filter) / float64(c.Stride*c.Stride)
	l.be.Fill(l.g.Value, float32(1/math.Sqrt(cover)))
	return l.be.Sync()
}

// work holds one batch size's buffers.
type work struct {
	x, r    kernels.Tensor // [B, H·W]: the images; the residual x̂ − x
	a, u, z kernels.Tensor // [B, m]: W ⋆ x; max(0, a − b); the code g ⊙ u
	dz, tmp kernels.Tensor // [B, m]
	da, kz  kernels.Tensor // [B, m]; kz = z·K, the surround inhibition's field (nil without one)
	p, lam  kernels.Tensor // [B, P]: the complex cells; λ/B everywhere
	ones    kernels.Tensor // [1, B]
	sums    *model.Scalars
	all     []kernels.Tensor
	be      kernels.Backend
}

func (w *work) Size() int               { return w.x.Shape()[0] }
func (w *work) Inputs() kernels.Tensor  { return w.x }
func (w *work) Targets() kernels.Tensor { return nil }
func (w *work) Free() {
	model.FreeTensors(w.be, w.all...)
	if w.sums != nil {
		w.sums.Free()
	}
}

// sampleFloats is the largest row of one image's buffers, in floats.
func (l *LocalSparseAE) sampleFloats() int {
	return max(l.cfg.Inputs, l.cfg.Units(), l.Layout.NumPools())
}

// evalBytes bounds the buffers of evaluation and encoding batches.
const evalBytes = 256 << 20

// MaxBatch is the largest batch that evaluation and encoding run at once: every buffer within
// one storage block of the device, all of them within 256 MiB.
func (l *LocalSparseAE) MaxBatch() int {
	c := l.cfg
	units := 6 // [B, m] buffers of NewWork
	if l.surround != nil {
		units++
	}
	per := 4 * int64(2*c.Inputs+units*c.Units()+2*l.Layout.NumPools()+1)
	block := l.be.Info().MaxBytes / (4 * int64(l.sampleFloats()))
	return int(max(1, min(evalBytes/per, block)))
}

// NewWork allocates the buffers of passes over b images.
func (l *LocalSparseAE) NewWork(b int) (model.Work, error) {
	c := l.cfg
	n, m, p := c.Inputs, c.Units(), l.Layout.NumPools()
	if bytes := 4 * int64(b) * int64(l.sampleFloats()); bytes > l.be.Info().MaxBytes {
		return nil, fmt.Errorf("local: a batch of %d images needs tensors of %s (%d units, %d complex cells, %d pixels per image), more than the %s the %s backend holds in one tensor: lower batch (at most %d)",
			b, kernels.FormatBytes(bytes), m, p, n, kernels.FormatBytes(l.be.Info().MaxBytes), l.be.Info().Name, l.be.Info().MaxBytes/(4*int64(l.sampleFloats())))
	}
	shapes := [][]int{{b, n}, {b, n}, {b, m}, {b, m}, {b, m}, {b, m}, {b, m}, {b, m}, {b, p}, {b, p}, {1, b}}
	if l.surround != nil {
		shapes = append(shapes, []int{b, m})
	}
	ts, err := model.NewTensors(l.be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("local: buffers for %d images: %w", b, err)
	}
	w := &work{x: ts[0], r: ts[1], a: ts[2], u: ts[3], z: ts[4], dz: ts[5], tmp: ts[6], da: ts[7], p: ts[8], lam: ts[9], ones: ts[10], all: ts, be: l.be}
	if l.surround != nil {
		w.kz = ts[11]
	}
	if w.sums, err = model.NewScalars(l.be, 4); err != nil {
		w.Free()
		return nil, err
	}
	l.be.Fill(w.ones, 1)
	l.be.Fill(w.lam, float32(c.Lambda/float64(b)))
	return w, nil
}

// views as NCHW tensors.
func (l *LocalSparseAE) image(t kernels.Tensor) kernels.Tensor {
	return l.be.Reshape(t, t.Shape()[0], 1, l.cfg.Rows, l.cfg.Cols)
}
func (l *LocalSparseAE) codeMaps(t kernels.Tensor) kernels.Tensor {
	ho, wo := l.cfg.Positions()
	return l.be.Reshape(t, t.Shape()[0], l.cfg.Site*l.cfg.Site, ho, wo)
}

// encode computes A = W ⋆ x, U = max(0, A − b), Z = g ⊙ U and the complex cells of the batch in w.
func (l *LocalSparseAE) encode(w *work) {
	be := l.be
	be.LocalForward(l.codeMaps(w.a), l.image(w.x), l.w.Value, l.geo)
	be.PosShrink(w.u, w.a, l.b.Value)
	be.BroadcastMul(w.z, w.u, l.g.Value, kernels.PerCol)
	be.PoolNorms(w.p, w.z, l.Pools, float32(l.cfg.Eps))
	if l.surround != nil {
		be.Gemm(false, false, 1, w.z, l.surround, 0, w.kz)
	}
}

// Forward computes the code, the complex cells and the residual R = x̂ − x.
func (l *LocalSparseAE) Forward(mw model.Work, _ int) error {
	w := mw.(*work)
	l.encode(w)
	l.be.LocalBackwardData(l.image(w.r), l.codeMaps(w.z), l.d.Value, l.geo)
	l.be.Axpby(-1, w.x, 1, w.r)
	return nil
}

// Backward writes the gradients of the batch mean of the loss:
//
//	dZ = (D ⋆ R + λ ∂cells/∂z + μ z·K)/B  (the decoder's adjoint is the locally connected op with D)
//	dD = Σ_n R ⋆ Z/B (+ dE/dD of the orientation prior),  dg = Σ_n dZ ⊙ U,  dA = dZ ⊙ g ⊙ [A > b],  db = −Σ_n dA,  dW = Σ_n x ⋆ dA
func (l *LocalSparseAE) Backward(mw model.Work, _ int) {
	w, be := mw.(*work), l.be
	inv := 1 / float32(w.Size())
	be.LocalForward(l.codeMaps(w.tmp), l.image(w.r), l.d.Value, l.geo)
	be.PoolNormsBackward(w.dz, w.lam, w.z, w.p, l.Pools)
	be.Axpby(inv, w.tmp, 1, w.dz)
	if l.surround != nil {
		be.Axpby(float32(l.cfg.Surround)*inv, w.kz, 1, w.dz) // K is symmetric: ∂(½μ zᵀKz)/∂z = μ K z
	}
	be.Axpby(inv, w.z, 0, w.tmp)
	be.LocalBackwardFilter(l.d.Grad, l.image(w.r), l.codeMaps(w.tmp), l.geo)
	if l.prior != nil {
		// A failed download leaves the device failed; the trainer's next Loss or Sync reports it.
		_, _ = l.prior.energy(be, l.d.Value, l.d.Grad, true)
	}
	be.Hadamard(w.tmp, w.dz, w.u)
	be.Gemm(false, false, 1, w.ones, w.tmp, 0, be.Reshape(l.g.Grad, 1, l.cfg.Units()))
	be.BroadcastMul(w.tmp, w.dz, l.g.Value, kernels.PerCol)
	be.PosShrinkBackward(w.da, l.b.Grad, w.tmp, w.a, l.b.Value)
	be.LocalBackwardFilter(l.w.Grad, l.image(w.x), l.codeMaps(w.da), l.geo)
}

// Loss reads back "recon" ½‖x − x̂‖², "penalty" Σ_cells √(ε + Σ w z²) (without λ), with a
// surround "surround" ½ zᵀKz (without μ), with the orientation prior "prior" E(D) (once per
// image, so that its mean is E), "loss" recon + λ·penalty (+ μ·surround + prior) and "active",
// the fraction of non-zero units (each summed over images).
func (l *LocalSparseAE) Loss(mw model.Work, _ int) (model.Sums, error) {
	w := mw.(*work)
	w.sums.Sum(w.r, kernels.ReduceSquares)
	w.sums.Sum(w.p, kernels.ReduceSum)
	w.sums.Count(w.z, 0)
	if l.surround != nil {
		l.be.Hadamard(w.tmp, w.z, w.kz)
		w.sums.Sum(w.tmp, kernels.ReduceSum)
	}
	v, err := w.sums.Read()
	if err != nil {
		return model.Sums{}, err
	}
	var prior float64
	if l.prior != nil {
		e, err := l.prior.energy(l.be, l.d.Value, l.d.Grad, false)
		if err != nil {
			return model.Sums{}, err
		}
		prior = e * float64(w.Size())
	}
	s := model.Sums{N: w.Size()}
	loss := v[0]/2 + l.cfg.Lambda*v[1] + prior
	if l.surround != nil {
		loss += l.cfg.Surround * v[3] / 2
	}
	s.Set("loss", loss)
	s.Set("recon", v[0]/2)
	s.Set("penalty", v[1])
	s.Set("active", v[2]/float64(l.cfg.Units()))
	if l.surround != nil {
		s.Set("surround", v[3]/2)
	}
	if l.prior != nil {
		s.Set("prior", prior)
	}
	return s, nil
}

// Code is the code z [B, Units] of the last Forward, in the order [Site², Ho, Wo] (MapIndex).
func (l *LocalSparseAE) Code(mw model.Work) kernels.Tensor { return mw.(*work).z }

// Pooled is the complex cells' responses [B, P] of the last Forward.
func (l *LocalSparseAE) Pooled(mw model.Work) kernels.Tensor { return mw.(*work).p }

// MapFilters downloads the decoder's (decoder true) or the encoder's filters in map order:
// [mapH·mapW, F²], row r·mapW + c the filter of the unit at row r, column c of the map.
func (l *LocalSparseAE) MapFilters(decoder bool) ([]float32, error) {
	p := l.w
	if decoder {
		p = l.d
	}
	host := make([]float32, p.Value.Len())
	if err := l.be.Download(host, p.Value); err != nil {
		return nil, err
	}
	return l.cfg.ToMapOrder(host), nil
}

// ToMapOrder rearranges filters w [Ho, Wo, Site², F, F] (W's or D's layout) into map order
// [mapH·mapW, F²].
func (c Config) ToMapOrder(w []float32) []float32 {
	h, mw := c.MapSize()
	ho, wo := c.Positions()
	ff, k := c.Filter*c.Filter, c.Site*c.Site
	if len(w) != ho*wo*k*ff {
		panic(fmt.Sprintf("local: ToMapOrder: %d values, want %d×%d×%d×%d", len(w), ho, wo, k, ff))
	}
	out := make([]float32, len(w))
	for r := range h {
		for col := range mw {
			i, a := r/c.Site, r%c.Site
			j, b := col/c.Site, col%c.Site
			src := ((i*wo+j)*k + a*c.Site + b) * ff
			copy(out[(r*mw+col)*ff:(r*mw+col+1)*ff], w[src:src+ff])
		}
	}
	return out
}

// OrientationMap measures the preferred orientation of every unit's decoder filter (FilterOrientation)
// and lays them out on the map. The map has edges even when the complex cells wrap around it
// (Torus): the units' windows do not wrap around the image, so the first and last columns of the
// map look at opposite edges of the image, and their orientations are unrelated (on the default
// map, neighbours differ by 26° inside and 44° across the wrap, as much as random pairs).
func (l *LocalSparseAE) OrientationMap() (*OrientationMap, error) {
	f, err := l.MapFilters(true)
	if err != nil {
		return nil, err
	}
	h, w := l.cfg.MapSize()
	return NewOrientationMap(f, l.cfg.Filter, h, w, false), nil
}
