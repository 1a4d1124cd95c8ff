package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/cpu"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
)

// convRef is a float64 host reference of the model's loss, written from the formulas with plain
// loops, independently of the backend ops.
type convRef struct {
	cfg        Config
	w, b, g, d []float64
	x          []float64
	batch      int
	minMargin  float64 // smallest |W ⋆ x − b| seen: the distance to the ReLU's kink
}

// at returns x[n,c,i,j] with zero padding.
func at(x []float64, C, H, W, n, c, i, j int) float64 {
	if i < 0 || j < 0 || i >= H || j >= W {
		return 0
	}
	return x[((n*C+c)*H+i)*W+j]
}

// refEncode computes on the host the code z [batch, K·Ho·Wo] and the complex cells p
// [batch, Groups·Hp·Wp] of one layer c (no layer beneath) for images x, and the smallest distance
// of a pre-activation to the ReLU's kink.
func refEncode(c Config, w, b, g, x []float64, batch int) (z, p []float64, margin float64) {
	geo := c.Geometry()
	K, C, F, Ho, Wo := c.Maps, c.Channels, c.Filter, geo.CodeH, geo.CodeW
	margin = math.Inf(1)
	z = make([]float64, batch*K*Ho*Wo)
	for n := range batch {
		for k := range K {
			for i := range Ho {
				for j := range Wo {
					a := -b[k]
					for ch := range C {
						for p := range F {
							for q := range F {
								a += w[((k*C+ch)*F+p)*F+q] * at(x, C, c.Rows, c.Cols, n, ch, i*c.Stride+p-c.Pad, j*c.Stride+q-c.Pad)
							}
						}
					}
					margin = math.Min(margin, math.Abs(a))
					z[((n*K+k)*Ho+i)*Wo+j] = g[k] * math.Max(a, 0)
				}
			}
		}
	}
	gs := c.groupStride()
	for n := range batch {
		for grp := range geo.Groups {
			for pi := range geo.PoolH {
				for pj := range geo.PoolW {
					q := c.Eps
					for k := grp * gs; k < grp*gs+c.Group; k++ {
						for a := range c.Pool {
							for bb := range c.Pool {
								v := z[((n*K+k)*Ho+pi*c.PoolStride+a)*Wo+pj*c.PoolStride+bb]
								q += v * v
							}
						}
					}
					p = append(p, math.Sqrt(q))
				}
			}
		}
	}
	return z, p, margin
}

func (r *convRef) loss() float64 {
	c, g := r.cfg, r.cfg.Geometry()
	K, C, F, Ho, Wo := c.Maps, c.Channels, c.Filter, g.CodeH, g.CodeW
	z, p, margin := refEncode(c, r.w, r.b, r.g, r.x, r.batch)
	r.minMargin = math.Min(r.minMargin, margin)
	xh := make([]float64, len(r.x))
	for n := range r.batch {
		for k := range K {
			for i := range Ho {
				for j := range Wo {
					v := z[((n*K+k)*Ho+i)*Wo+j]
					// x̂ += v · D_k placed at (i, j): the adjoint of the correlation.
					for ch := range C {
						for p := range F {
							for q := range F {
								y, xx := i*c.Stride+p-c.Pad, j*c.Stride+q-c.Pad
								if y >= 0 && xx >= 0 && y < c.Rows && xx < c.Cols {
									xh[((n*C+ch)*c.Rows+y)*c.Cols+xx] += v * r.d[((k*C+ch)*F+p)*F+q]
								}
							}
						}
					}
				}
			}
		}
	}
	var sum float64
	for i := range xh {
		e := xh[i] - r.x[i]
		sum += e * e / 2
	}
	for _, v := range p {
		sum += c.Lambda * v
	}
	return sum / float64(r.batch)
}

// smallConfigs are geometries that exercise stride, padding, overlapping cells and groups.
var smallConfigs = []Config{
	{Inputs: 2 * 7 * 6, Channels: 2, Rows: 7, Cols: 6, Maps: 4, Filter: 3, Stride: 1, Pool: 2, PoolStride: 1, Group: 2, Lambda: 0.3, Eps: 1e-2, DecoderLRScale: 1},
	{Inputs: 8 * 9, Channels: 1, Rows: 8, Cols: 9, Maps: 3, Filter: 3, Stride: 2, Pad: 1, Pool: 2, PoolStride: 2, Group: 1, Lambda: 0.2, Eps: 1e-2, DecoderLRScale: 1},
	{Inputs: 6 * 6, Channels: 1, Rows: 6, Cols: 6, Maps: 6, Filter: 2, Stride: 1, Pool: 3, PoolStride: 2, Group: 3, GroupStride: 1, Lambda: 0.5, Eps: 1e-2, DecoderLRScale: 1},
}

func randn(r *rand.Rand, k int, scale, shift float64) []float32 {
	v := make([]float32, k)
	for i := range v {
		v[i] = float32(shift + scale*r.NormFloat64())
	}
	return v
}

// gradients runs one Forward and Backward of m on x in chunks of at most chunk samples and
// returns the gradients by parameter name.
func gradients(t *testing.T, m *ConvSparseAE, x []float32, batch, chunk int) map[string][]float32 {
	t.Helper()
	testMaxChunk = chunk
	defer func() { testMaxChunk = 0 }()
	mw, err := m.NewWork(batch)
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Free()
	mw.(model.ChunkedWork).UploadBatch(x, nil)
	if err := model.AllocGrads(m.be, m.Params()); err != nil {
		t.Fatal(err)
	}
	if err := m.Forward(mw, 0); err != nil {
		t.Fatal(err)
	}
	m.Backward(mw, 0)
	out := map[string][]float32{}
	for _, p := range model.Trainable(m.Params()) {
		out[p.Name] = modeltest.Download(t, m.be, p.Grad)
	}
	return out
}

// TestConvGradients checks Backward against central differences of the float64 reference for
// all four parameters, on geometries with stride, padding, several channels and (overlapping)
// groups of maps, with the batch in one chunk and in chunks of 2, 2 and 1.
func TestConvGradients(t *testing.T) {
	for ci, cfg := range smallConfigs {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			be := modeltest.Backend(t)
			m, err := New(be, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			const batch = 5
			r := rand.New(rand.NewPCG(uint64(ci), 7))
			k, per := cfg.Maps, cfg.Channels*cfg.Filter*cfg.Filter
			params := [][]float32{randn(r, k*per, 0.5, 0), randn(r, k, 0.2, 0), randn(r, k, 0.3, 1), randn(r, k*per, 0.4, 0)}
			for i, p := range m.Params() {
				be.Upload(p.Value, params[i])
			}
			x := randn(r, batch*cfg.Inputs, 1, 0)
			whole := gradients(t, m, x, batch, 0)
			chunked := gradients(t, m, x, batch, 2)
			ref := &convRef{cfg: cfg, w: modeltest.F64(params[0]), b: modeltest.F64(params[1]), g: modeltest.F64(params[2]),
				d: modeltest.F64(params[3]), x: modeltest.F64(x), batch: batch, minMargin: math.Inf(1)}
			vals := [][]float64{ref.w, ref.b, ref.g, ref.d}
			ref.loss()
			const h = 1e-6
			if ref.minMargin < 10*h {
				t.Fatalf("a pre-activation is %g from the ReLU's kink: pick another seed", ref.minMargin)
			}
			for pi, p := range m.Params() {
				v := vals[pi]
				for i := range v {
					old := v[i]
					v[i] = old + h
					up := ref.loss()
					v[i] = old - h
					down := ref.loss()
					v[i] = old
					want := (up - down) / (2 * h)
					for name, got := range map[string][]float32{"one chunk": whole[p.Name], "chunks of 2": chunked[p.Name]} {
						if d := math.Abs(float64(got[i]) - want); d > 2e-3*math.Max(1, math.Abs(want)) {
							t.Fatalf("%s: ∂L/∂%s[%d] = %g, finite differences %g", name, p.Name, i, got[i], want)
						}
					}
				}
			}
		})
	}
}

// TestConvLossMatchesReference checks the loss terms read back against the reference.
func TestConvLossMatchesReference(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := smallConfigs[0]
	m, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if err := m.Init(nil, 3); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	const batch = 4
	x := randn(r, batch*cfg.Inputs, 1, 0)
	host, err := model.HostParams(m)
	if err != nil {
		t.Fatal(err)
	}
	ref := &convRef{cfg: cfg, w: modeltest.F64(host["W"].Data), b: modeltest.F64(host["b"].Data), g: modeltest.F64(host["g"].Data),
		d: modeltest.F64(host["D"].Data), x: modeltest.F64(x), batch: batch, minMargin: math.Inf(1)}
	want := ref.loss()
	for _, chunk := range []int{0, 3} {
		testMaxChunk = chunk
		mw, err := m.NewWork(batch)
		testMaxChunk = 0
		if err != nil {
			t.Fatal(err)
		}
		mw.(model.ChunkedWork).UploadBatch(x, nil)
		if err := m.Forward(mw, 0); err != nil {
			t.Fatal(err)
		}
		s, err := m.Loss(mw, 0)
		mw.Free()
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Mean("loss"); math.Abs(got-want) > 1e-4*math.Max(1, want) {
			t.Errorf("chunk %d: loss %g, reference %g", chunk, got, want)
		}
	}
}

// TestDecoderIsAdjoint is the dot-product test: with D = W (as Init leaves it), the decoder is
// the adjoint of the encoder's convolution, ⟨W ⋆ x, z⟩ = ⟨x, W ⋆ᵀ z⟩, for every geometry.
func TestDecoderIsAdjoint(t *testing.T) {
	for ci, cfg := range smallConfigs {
		be := modeltest.Backend(t)
		m, err := New(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Init(nil, 5); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(uint64(ci), 11))
		const n = 3
		units := cfg.Units()
		xh, zh := randn(r, n*cfg.Inputs, 1, 0), randn(r, n*units, 1, 0)
		x := modeltest.Upload(t, be, xh, n, cfg.Channels, cfg.Rows, cfg.Cols)
		z := modeltest.Upload(t, be, zh, n, cfg.Maps, m.geo.CodeH, m.geo.CodeW)
		ax, err := be.New(n, cfg.Maps, m.geo.CodeH, m.geo.CodeW)
		if err != nil {
			t.Fatal(err)
		}
		dz, err := be.New(n, cfg.Channels, cfg.Rows, cfg.Cols)
		if err != nil {
			t.Fatal(err)
		}
		be.Conv2DForward(ax, x, m.w.Value, m.geo.Conv)
		be.Conv2DBackwardData(dz, z, m.d.Value, m.geo.Conv)
		var lhs, rhs, scale float64
		for i, v := range modeltest.Download(t, be, ax) {
			lhs += float64(v) * float64(zh[i])
			scale += math.Abs(float64(v) * float64(zh[i]))
		}
		for i, v := range modeltest.Download(t, be, dz) {
			rhs += float64(v) * float64(xh[i])
		}
		if math.Abs(lhs-rhs) > 1e-5*scale {
			t.Errorf("config %d: ⟨W⋆x, z⟩ = %g, ⟨x, Wᵀ⋆z⟩ = %g", ci, lhs, rhs)
		}
		model.FreeTensors(be, x, z, ax, dz)
		m.Free()
	}
}

// TestConvValidate checks that bad geometries are refused, naming the key.
func TestConvValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Maps = 0 }, "maps"},
		{func(c *Config) { c.Filter = 40 }, "filter"},
		{func(c *Config) { c.Pad = 9 }, "pad"},
		{func(c *Config) { c.Pool = 30 }, "pool"},
		{func(c *Config) { c.Group = 3 }, "maps = 32"},
		{func(c *Config) { c.Group = 64 }, "group"},
		{func(c *Config) { c.Inputs = 700 }, "channels × rows × cols"},
		{func(c *Config) { c.Lambda = math.NaN() }, "lambda"},
		{func(c *Config) { c.Eps = 0 }, "eps"},
		{func(c *Config) { c.Rows, c.Cols, c.Inputs, c.Maps = 4096, 4096, 4096*4096, 64 }, "beyond drsae's limit"},
	} {
		c := ok
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %q", c, err, tc.want)
		}
	}
}

// TestConvResume: training resumes exactly from a checkpoint, with the batches in one chunk and
// split into chunks.
func TestConvResume(t *testing.T) {
	be := modeltest.Backend(t)
	resumeChunked(t, be, smallConfigs[0], 60, 20, 0)
}

// resumeChunked checks that cfg's training resumes exactly, with the batch whole and in chunks of
// 3, on train and valid noise images (nTrain, nValid of them, mean offset off).
func resumeChunked(t *testing.T, be kernels.Backend, cfg Config, nTrain, nValid int, off float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	train := &model.Samples{Name: "noise", X: randn(r, nTrain*cfg.Inputs, 1, off), Dim: cfg.Inputs}
	valid := &model.Samples{Name: "noise", X: randn(r, nValid*cfg.Inputs, 1, off), Dim: cfg.Inputs}
	for _, chunk := range []int{0, 3} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			testMaxChunk = chunk
			defer func() { testMaxChunk = 0 }()
			tc := DefaultTrainConfig()
			tc.Epochs, tc.Batch, tc.EvalBatch = 3, 8, 7
			traintest.Resume(t, initialized(t, be, cfg), tc, train, valid, 2)
		})
	}
}

// TestConvBackendsAgreePastStorageBlock trains one step on a batch whose code tensor is larger
// than the gpu's largest storage block (128 MiB on Mesa llvmpipe): the gpu model must split it
// into chunks, and its loss, gradients and updated parameters must agree with the cpu backend's,
// which holds the batch in one chunk. It needs DRSAE_TEST_BACKEND=gpu, as the other BackendsAgree
// tests.
func TestConvBackendsAgreePastStorageBlock(t *testing.T) {
	if os.Getenv("DRSAE_TEST_BACKEND") != "gpu" {
		t.Skip("compares the gpu backend with the cpu backend: run with DRSAE_TEST_BACKEND=gpu")
	}
	gb := modeltest.Backend(t)
	cb := cpu.New()
	defer cb.Close()
	limit := gb.Info().MaxBytes
	cfg := Config{Inputs: 512 * 512, Channels: 1, Rows: 512, Cols: 512, Maps: 8, Filter: 3, Stride: 1,
		Pool: 2, PoolStride: 2, Group: 2, Lambda: 0.1, Eps: 1e-4, DecoderLRScale: 1}
	perSample := int64(4 * cfg.Units())
	batch := int(limit/perSample) + 2
	if batch > 64 {
		t.Skipf("the gpu's storage block (%s) holds %d codes of %s: too large a batch to test here", kernels.FormatBytes(limit), batch, kernels.FormatBytes(perSample))
	}
	t.Logf("batch of %d codes of %s = %s, storage block %s", batch, kernels.FormatBytes(perSample), kernels.FormatBytes(int64(batch)*perSample), kernels.FormatBytes(limit))
	r := rand.New(rand.NewPCG(3, 3))
	x := randn(r, batch*cfg.Inputs, 1, 0)
	type result struct {
		loss   float64
		chunks int
		grads  map[string][]float32
	}
	run := func(be kernels.Backend) result {
		m, err := New(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if err := m.Init(nil, 1); err != nil {
			t.Fatal(err)
		}
		mw, err := m.NewWork(batch)
		if err != nil {
			t.Fatal(err)
		}
		defer mw.Free()
		mw.(model.ChunkedWork).UploadBatch(x, nil)
		if err := model.AllocGrads(be, m.Params()); err != nil {
			t.Fatal(err)
		}
		if err := m.Forward(mw, 0); err != nil {
			t.Fatal(err)
		}
		s, err := m.Loss(mw, 0)
		if err != nil {
			t.Fatal(err)
		}
		m.Backward(mw, 0)
		res := result{loss: s.Mean("loss"), chunks: len(mw.(*work).chunks), grads: map[string][]float32{}}
		for _, p := range m.Params() {
			res.grads[p.Name] = modeltest.Download(t, be, p.Grad)
		}
		return res
	}
	g, c := run(gb), run(cb)
	if g.chunks < 2 || c.chunks != 1 {
		t.Fatalf("gpu batch in %d chunks, cpu in %d: want the gpu's split, the cpu's whole", g.chunks, c.chunks)
	}
	if math.Abs(g.loss-c.loss) > 1e-4*math.Abs(c.loss) {
		t.Errorf("loss: gpu %g, cpu %g", g.loss, c.loss)
	}
	for name, want := range c.grads {
		got := g.grads[name]
		var d2, n2 float64
		for i := range want {
			d := float64(got[i] - want[i])
			d2, n2 = d2+d*d, n2+float64(want[i])*float64(want[i])
		}
		if rel := math.Sqrt(d2 / n2); !(rel < 1e-3) {
			t.Errorf("gradient of %s: gpu and cpu differ by %.2g (relative L2)", name, rel)
		}
	}
}

// stack trains nothing: it saves a layer-1 model with random parameters to a file and returns
// it, its file and the config of a second layer stacked on it.
func stack(t *testing.T, be kernels.Backend) (*ConvSparseAE, Config) {
	t.Helper()
	c1 := Config{Inputs: 144, Channels: 1, Rows: 12, Cols: 12, Maps: 4, Filter: 3, Stride: 1, Pool: 2, PoolStride: 2, Group: 2,
		Lambda: 0.1, Eps: 1e-2, DecoderLRScale: 1}
	m1, err := New(be, c1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	for i, p := range m1.Params() {
		be.Upload(p.Value, randn(r, p.Value.Len(), 0.4, []float64{0, 0.1, 1, 0}[i]))
	}
	path := filepath.Join(t.TempDir(), "layer1.safetensors")
	if err := model.SaveModel(path, m1, nil, nil); err != nil {
		t.Fatal(err)
	}
	c2 := c1
	c2.Maps, c2.Filter, c2.Pool, c2.PoolStride, c2.Group, c2.Lambda = 3, 2, 2, 1, 1, 0.2
	c2.Below, c2.BelowConfig = path, &c1
	return m1, c2
}

// TestStackedLayer: a layer stacked on a frozen one learns from the features beneath: its
// gradients on images equal those of the same layer alone on the features of the layer beneath,
// the layer beneath gets no gradient, and a checkpoint of the stack resumes exactly.
func TestStackedLayer(t *testing.T) {
	be := modeltest.Backend(t)
	m1, c2 := stack(t, be)
	defer m1.Free()
	s, err := New(be, c2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Free()
	if err := s.Init(nil, 3); err != nil {
		t.Fatal(err)
	}
	alone, err := New(be, c2.Layer())
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Free()
	for i, p := range alone.Params() {
		be.Copy(p.Value, s.Params()[i].Value)
	}
	r := rand.New(rand.NewPCG(6, 6))
	const batch = 5
	x := randn(r, batch*c2.Inputs, 1, 0)
	f, err := m1.Features(x)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.Features(x)
	if err != nil {
		t.Fatal(err)
	}
	fa, err := alone.Features(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != batch*c2.Pooled() || len(fa) != len(fs) {
		t.Fatalf("features: stacked %d values, alone %d, want %d×%d", len(fs), len(fa), batch, c2.Pooled())
	}
	for i := range fa {
		if math.Abs(float64(fs[i]-fa[i])) > 1e-5*math.Max(1, math.Abs(float64(fa[i]))) {
			t.Fatalf("features[%d]: stacked %g, alone on the features beneath %g", i, fs[i], fa[i])
		}
	}
	want := gradients(t, alone, f, batch, 0)
	for _, chunk := range []int{0, 2} {
		got := gradients(t, s, x, batch, chunk)
		for name, w := range want {
			for i := range w {
				if d := math.Abs(float64(got[name][i] - w[i])); d > 1e-5*math.Max(1, math.Abs(float64(w[i]))) {
					t.Fatalf("chunk %d: ∂L/∂%s[%d]: stacked %g, alone on the features %g", chunk, name, i, got[name][i], w[i])
				}
			}
		}
		for _, p := range s.Params() {
			if _, ok := want[p.Name]; !ok && (!p.Frozen || p.Grad != nil || !strings.HasPrefix(p.Name, "below.")) {
				t.Errorf("parameter %s of the layer beneath: frozen %v, gradient %v", p.Name, p.Frozen, p.Grad != nil)
			}
		}
	}
	train := &model.Samples{Name: "noise", X: randn(r, 40*c2.Inputs, 1, 0), Dim: c2.Inputs}
	tc := DefaultTrainConfig()
	tc.Epochs, tc.Batch = 3, 8
	traintest.Resume(t, initialized(t, be, c2), tc, train, nil, 2)
}

// initialized returns a maker of models of cfg, each initialized with seed 2.
func initialized(t *testing.T, be kernels.Backend, cfg Config) func() model.Module {
	return func() model.Module {
		m, err := New(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Init(nil, 2); err != nil {
			t.Fatal(err)
		}
		return m
	}
}
