package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
)

// refContrastNorm is a float64 host reference of the contrast normalization of images x
// [batch, C·H·W], written from Jarrett et al.'s formulas with plain loops: the Gaussian window
// exp(−(p²+q²)/2σ²) reaches 3σ, and each pixel's weights are divided by their sum over the taps
// inside the image and the C maps.
func refContrastNorm(x []float64, batch, C, H, W int, sigma float64) []float64 {
	r := int(math.Ceil(3 * sigma))
	wt := func(p, q int) float64 { return math.Exp(-float64(p*p+q*q) / (2 * sigma * sigma)) }
	// blur returns Σ_{c,p,q} w·f[c, i+p, j+q] / Σ_{c,p,q inside} w, per pixel, of one image f.
	blur := func(f []float64) []float64 {
		out := make([]float64, H*W)
		for i := range H {
			for j := range W {
				var s, norm float64
				for c := range C {
					for p := -r; p <= r; p++ {
						for q := -r; q <= r; q++ {
							if y, z := i+p, j+q; y >= 0 && y < H && z >= 0 && z < W {
								s += wt(p, q) * f[(c*H+y)*W+z]
								norm += wt(p, q)
							}
						}
					}
				}
				out[i*W+j] = s / norm
			}
		}
		return out
	}
	out := make([]float64, len(x))
	per := C * H * W
	for n := range batch {
		img := x[n*per : (n+1)*per]
		mean := blur(img)
		v, sq := make([]float64, per), make([]float64, per)
		for c := range C {
			for i := range H * W {
				v[c*H*W+i] = img[c*H*W+i] - mean[i]
				sq[c*H*W+i] = v[c*H*W+i] * v[c*H*W+i]
			}
		}
		sd := blur(sq)
		var avg float64
		for i := range sd {
			sd[i] = math.Sqrt(sd[i])
			avg += sd[i] / float64(H*W)
		}
		for c := range C {
			for i := range H * W {
				out[n*per+c*H*W+i] = v[c*H*W+i] / math.Max(math.Max(avg, sd[i]), 1e-4)
			}
		}
	}
	return out
}

// contrastConfigs: one map, three and two; a window narrower than the image and one past it (σ = 4
// on 7×5: the window is cut at the image's size), strides and groups as smallConfigs.
var contrastConfigs = []Config{
	{Inputs: 9 * 11, Channels: 1, Rows: 9, Cols: 11, ContrastSigma: 1.3, Maps: 3, Filter: 3, Stride: 1, Pool: 2, PoolStride: 2, Group: 1, Lambda: 0.2, Eps: 1e-2, DecoderLRScale: 1},
	{Inputs: 3 * 7 * 5, Channels: 3, Rows: 7, Cols: 5, ContrastSigma: 4, Maps: 4, Filter: 3, Stride: 1, Pad: 1, Pool: 2, PoolStride: 1, Group: 2, Lambda: 0.3, Eps: 1e-2, DecoderLRScale: 1},
	{Inputs: 2 * 7 * 6, Channels: 2, Rows: 7, Cols: 6, ContrastSigma: 0.7, Maps: 4, Filter: 3, Stride: 2, Pool: 2, PoolStride: 1, Group: 2, Lambda: 0.3, Eps: 1e-2, DecoderLRScale: 1},
}

// contrastImages returns batch random images of cfg, with flat the last two flat (constant 0.5,
// and 0): their contrast is zero, and they must normalize to zero without NaN.
func contrastImages(cfg Config, batch int, seed uint64, flat bool) []float32 {
	x := randn(rand.New(rand.NewPCG(seed, 3)), batch*cfg.Inputs, 1, 0.3)
	for i := (batch - 2) * cfg.Inputs; flat && i < batch*cfg.Inputs; i++ {
		x[i] = 0
		if i < (batch-1)*cfg.Inputs {
			x[i] = 0.5
		}
	}
	return x
}

// normalizedInChunks is the first layer's x after the Forward of a training batch in chunks of
// at most chunk images.
func normalizedInChunks(t *testing.T, m *ConvSparseAE, x []float32, batch, chunk int) []float32 {
	t.Helper()
	testMaxChunk = chunk
	mw, err := m.NewWork(batch)
	testMaxChunk = 0
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Free()
	mw.(model.ChunkedWork).UploadBatch(x, nil)
	if err := m.Forward(mw, 0); err != nil {
		t.Fatal(err)
	}
	var out []float32
	for _, c := range mw.(*work).chunks {
		out = append(out, modeltest.Download(t, m.be, c.x)...)
	}
	return out
}

// TestContrastNormMatchesReference checks the model's normalized images, on the backend, against
// the float64 reference, through Normalized and through a training batch in chunks. A flat image
// (no contrast) normalizes to its round-off divided by the floor 10⁻⁴: for the grey level 0.5,
// values of some 10⁻³ in float32 (tested to 10⁻², 0 in float64); the image 0 gives exactly 0.
func TestContrastNormMatchesReference(t *testing.T) {
	for ci, cfg := range contrastConfigs {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			be := modeltest.Backend(t)
			m, err := New(be, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			const batch = 6
			x := contrastImages(cfg, batch, uint64(ci), true)
			want := refContrastNorm(modeltest.F64(x), batch, cfg.Channels, cfg.Rows, cfg.Cols, cfg.ContrastSigma)
			got, err := m.Normalized(x)
			if err != nil {
				t.Fatal(err)
			}
			for name, g := range map[string][]float32{"Normalized": got, "chunks of 4": normalizedInChunks(t, m, x, batch, 4)} {
				if len(g) != len(want) {
					t.Fatalf("%s: %d values, want %d", name, len(g), len(want))
				}
				for i := range want {
					tol := 2e-5 * math.Max(1, math.Abs(want[i]))
					if i >= (batch-2)*cfg.Inputs {
						tol = 1e-2
					}
					if d := math.Abs(float64(g[i]) - want[i]); !(d <= tol) {
						t.Fatalf("%s: image %d, value %d: %g, reference %g", name, i/cfg.Inputs, i%cfg.Inputs, g[i], want[i])
					}
				}
			}
			for i := (batch - 1) * cfg.Inputs; i < len(got); i++ {
				if got[i] != 0 {
					t.Fatalf("the image 0 normalizes to %g at %d, want 0", got[i], i%cfg.Inputs)
				}
			}
		})
	}
}

// TestContrastNormMatchesData: for one map, the model's normalization is data's
// (LocalContrastNormalize, which the patches of --data patches --lcn-sigma go through), borders
// included, on a digit-sized image at data's σ = 4 and at σ = 2, and on one whose window passes
// it (σ = 4 on 8×6).
func TestContrastNormMatchesData(t *testing.T) {
	be := modeltest.Backend(t)
	for _, tc := range []struct {
		h, w  int
		sigma float64
	}{{28, 28, 4}, {28, 28, 2}, {8, 6, 4}} {
		cfg := Config{Inputs: tc.h * tc.w, Channels: 1, Rows: tc.h, Cols: tc.w, ContrastSigma: tc.sigma, Maps: 2, Filter: 3, Stride: 1,
			Pool: 2, PoolStride: 2, Group: 1, Lambda: 0.1, Eps: 1e-4, DecoderLRScale: 1}
		m, err := New(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(uint64(tc.h), uint64(tc.sigma)))
		const batch = 3
		x := make([]float32, batch*cfg.Inputs)
		for i := range x { // grey levels in [0, 1], smooth in places, as a photograph or a digit
			x[i] = float32(math.Max(0, math.Min(1, 0.5+0.4*math.Sin(float64(i%tc.w)/3)*math.Cos(float64(i/tc.w)/4)+0.2*r.NormFloat64())))
		}
		got, err := m.Normalized(x)
		m.Free()
		if err != nil {
			t.Fatal(err)
		}
		for n := range batch {
			g := data.Gray{W: tc.w, H: tc.h, Pix: x[n*cfg.Inputs : (n+1)*cfg.Inputs]}
			want := data.LocalContrastNormalize(g, tc.sigma).Pix
			for i, v := range want {
				if d := math.Abs(float64(got[n*cfg.Inputs+i] - v)); d > 1e-5*math.Max(1, math.Abs(float64(v))) {
					t.Fatalf("%d×%d, σ %g, image %d, pixel %d: the model %g, data.LocalContrastNormalize %g", tc.h, tc.w, tc.sigma, n, i,
						got[n*cfg.Inputs+i], v)
				}
			}
		}
	}
}

// TestContrastNormModel: with contrast_sigma, the model is the same model on the normalized
// images: the same loss, gradients and features as the model without it on the images that
// Normalized returns, in one chunk and in chunks; a net's gradients through the normalized first
// layer match finite differences of the reference; training resumes exactly; the saved model keeps
// its contrast_sigma and gives the same features after loading.
func TestContrastNormModel(t *testing.T) {
	be := modeltest.Backend(t)
	for ci, cfg := range contrastConfigs {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			m, err := New(be, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			plain := cfg
			plain.ContrastSigma = 0
			p, err := New(be, plain)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Free()
			if err := m.Init(nil, 4); err != nil {
				t.Fatal(err)
			}
			for i, q := range p.Params() {
				be.Copy(q.Value, m.Params()[i].Value)
			}
			const batch = 5
			x := contrastImages(cfg, batch, 10+uint64(ci), false)
			xn, err := m.Normalized(x)
			if err != nil {
				t.Fatal(err)
			}
			want := gradients(t, p, xn, batch, 0)
			for _, chunk := range []int{0, 2} {
				got := gradients(t, m, x, batch, chunk)
				for name, w := range want {
					if rel := relL2(got[name], w); !(rel < 1e-5) {
						t.Errorf("chunk %d: ∂L/∂%s with contrast_sigma differs from the plain model's on the normalized images by %.2g (relative L2)", chunk, name, rel)
					}
				}
			}
			f, err := m.Features(x)
			if err != nil {
				t.Fatal(err)
			}
			fp, err := p.Features(xn)
			if err != nil {
				t.Fatal(err)
			}
			if rel := relL2(f, fp); !(rel < 1e-6) {
				t.Errorf("features with contrast_sigma and the plain model's on the normalized images differ by %.2g", rel)
			}
			path := filepath.Join(t.TempDir(), "lcn.safetensors")
			if err := model.SaveModel(path, m, nil, nil); err != nil {
				t.Fatal(err)
			}
			l, _, err := model.LoadModel(be, path)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Free()
			if lc := l.Config().(*Config); lc.ContrastSigma != cfg.ContrastSigma {
				t.Errorf("loaded contrast_sigma %g, saved %g", lc.ContrastSigma, cfg.ContrastSigma)
			}
			fl, err := l.(*ConvSparseAE).Features(x)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fl, f) {
				t.Errorf("the loaded model's features differ from the saved one's")
			}
		})
	}
	t.Run("resume", func(t *testing.T) { resumeChunked(t, be, contrastConfigs[1], 40, 12, 0.2) })
}

// TestContrastNormNetGradients: a net whose first layer normalizes its images has the gradients
// of the float64 reference net on the reference's normalized images (no gradient flows into the
// images, so none through the normalization).
func TestContrastNormNetGradients(t *testing.T) {
	be := modeltest.Backend(t)
	m1, c2 := stack(t, be)
	m1.Free()
	c1 := *c2.BelowConfig
	c1.ContrastSigma = 1.5
	c2.BelowConfig = &c1
	const batch, classes = 4, 3
	for _, chunk := range []int{0, 3} {
		n, err := NewNet(be, NetConfig{Inputs: c2.Inputs, Classes: classes, Stack: &c2, Init: InitRandom})
		if err != nil {
			t.Fatal(err)
		}
		vals := randomNetParams(be, n, rand.New(rand.NewPCG(8, 9)))
		x := contrastImages(c1, batch, 5, false)
		xn := refContrastNorm(modeltest.F64(x), batch, c1.Channels, c1.Rows, c1.Cols, c1.ContrastSigma)
		ref := &netRef{c1: c1.Layer(), c2: c2.Layer(), vals: vals, x: xn, classes: classes, batch: batch, margin: math.Inf(1)}
		mw := newNetBatch(t, n, ref, x, chunk)
		checkNetGradients(t, be, n, mw, ref, fmt.Sprintf("chunk %d: ", chunk), nil)
		mw.Free()
		n.Free()
	}
}

// TestContrastNormValidate: contrast_sigma is 0 or a finite σ ≥ 0.1, and only on the first layer
// of a stack (whose config it stays in).
func TestContrastNormValidate(t *testing.T) {
	for _, s := range []float64{-1, 0.05, math.NaN(), math.Inf(1)} {
		c := DefaultConfig()
		c.ContrastSigma = s
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "contrast_sigma = ") {
			t.Errorf("contrast_sigma %g: error %v, want one naming the key", s, err)
		}
	}
	for _, s := range []float64{0, 0.1, 2, 1e300} {
		c := DefaultConfig()
		c.ContrastSigma = s
		if err := c.Validate(); err != nil {
			t.Errorf("contrast_sigma %g: %v", s, err)
		}
	}
	c1 := DefaultConfig()
	c1.ContrastSigma = 2
	c2 := DefaultConfig()
	c2.Maps, c2.Filter, c2.Below, c2.BelowConfig = 8, 3, "layer1.safetensors", &c1
	if err := c2.Validate(); err != nil {
		t.Errorf("a stack on a normalizing first layer: %v", err)
	}
	c2.ContrastSigma = 2
	if err := c2.Validate(); err == nil || !strings.Contains(err.Error(), "first layer only") {
		t.Errorf("contrast_sigma on a stacked layer: error %v, want a refusal", err)
	}
}

// relL2 is ‖a − b‖/‖b‖.
func relL2(a, b []float32) float64 {
	var d2, n2 float64
	for i := range b {
		d := float64(a[i] - b[i])
		d2, n2 = d2+d*d, n2+float64(b[i])*float64(b[i])
	}
	return math.Sqrt(d2 / math.Max(n2, 1e-300))
}
