package local

import (
	"context"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
)

// localRef is a float64 host reference of the model's loss, written from the formulas with
// plain loops over windows, independently of the kernels.
type localRef struct {
	cfg        Config
	w, b, g, d []float64 // W, D [Ho,Wo,K,1,F,F]; b, g [K·Ho·Wo]
	layout     *kernels.PoolLayout
	x          []float64 // [B, H·W]
	batch      int
	minMargin  float64   // smallest |a − b|: the distance to the ReLU's kink
	ker        []float32 // the surround's K, made once
	band       []float64 // the prior's band function, made once
}

func (r *localRef) loss() float64 {
	c := r.cfg
	ho, wo := c.Positions()
	k, f, m := c.Site*c.Site, c.Filter, c.Units()
	var sum float64
	for n := range r.batch {
		x := r.x[n*c.Inputs : (n+1)*c.Inputs]
		z := make([]float64, m)
		xh := make([]float64, c.Inputs)
		for i := range ho {
			for j := range wo {
				for kk := range k {
					u := (kk*ho+i)*wo + j
					base := ((i*wo+j)*k + kk) * f * f
					a := -r.b[u]
					for p := range f {
						for q := range f {
							a += r.w[base+p*f+q] * x[(i*c.Stride+p)*c.Cols+j*c.Stride+q]
						}
					}
					r.minMargin = math.Min(r.minMargin, math.Abs(a))
					z[u] = r.g[u] * math.Max(a, 0)
					for p := range f {
						for q := range f {
							xh[(i*c.Stride+p)*c.Cols+j*c.Stride+q] += r.d[base+p*f+q] * z[u]
						}
					}
				}
			}
		}
		for i, v := range xh {
			sum += (v - x[i]) * (v - x[i]) / 2
		}
		if c.Surround > 0 {
			if r.ker == nil {
				r.ker = c.SurroundKernel()
			}
			ker := r.ker
			for u := range m {
				for v := range m {
					sum += c.Surround / 2 * float64(ker[u*m+v]) * z[u] * z[v]
				}
			}
		}
		for j := range r.layout.NumPools() {
			idx, w := r.layout.Pool(j)
			q := c.Eps
			for t, i := range idx {
				q += float64(w[t]) * z[i] * z[i]
			}
			sum += c.Lambda * math.Sqrt(q)
		}
	}
	return sum/float64(r.batch) + r.prior()
}

// prior is the orientation prior E(D) = −½ν Σ_uv J_uv Re(o_u ō_v) by its definition, with plain
// DFTs of the filters.
func (r *localRef) prior() float64 {
	c := r.cfg
	if c.OrientationPrior == 0 {
		return 0
	}
	ho, wo := c.Positions()
	k, f := c.Site*c.Site, c.Filter
	type unit struct {
		row, col int
		o        complex128
	}
	var units []unit
	for i := range ho {
		for j := range wo {
			for kk := range k {
				base := ((i*wo+j)*k + kk) * f * f
				var o complex128
				tot := 1e-6
				for ky := range f {
					for kx := range f {
						if ky == 0 && kx == 0 {
							continue
						}
						var dft complex128
						for y := range f {
							for x := range f {
								dft += complex(r.d[base+y*f+x], 0) * cmplx.Exp(complex(0, -2*math.Pi*(signedFreq(ky, f)*float64(y)+signedFreq(kx, f)*float64(x))))
							}
						}
						pw := real(dft)*real(dft) + imag(dft)*imag(dft)
						o += complex(pw, 0) * cmplx.Exp(complex(0, 2*math.Atan2(signedFreq(ky, f), signedFreq(kx, f))))
						tot += pw
					}
				}
				units = append(units, unit{i*c.Site + kk/c.Site, j*c.Site + kk%c.Site, o / complex(tot, 0)})
			}
		}
	}
	h, w := c.MapSize()
	if r.band == nil {
		r.band = bandFunction(c.OrientationWavelength, max(h, w))
	}
	g := r.band
	rad := int(math.Ceil(3.5 * c.OrientationWavelength))
	var e float64
	for _, u := range units {
		for _, v := range units {
			dy, dx := u.row-v.row, u.col-v.col
			if max(dy, -dy) <= rad && max(dx, -dx) <= rad {
				e += c.OrientationPrior / 2 * g[dy*dy+dx*dx] * real(u.o*cmplx.Conj(v.o))
			}
		}
	}
	return e
}

// TestLocalGradients checks Backward against central differences of the float64 reference, for
// W, b, g and D, on 7×6 images with 3×3 windows at stride 2 and 2×2 units per window (a 6×4 map),
// with 2×2 complex cells on a torus and inside the map, with a surround inhibition (a ring, and
// the band kernel) and with the orientation prior.
func TestLocalGradients(t *testing.T) {
	for _, tc := range []struct {
		torus              bool
		surround, band, nu float64
	}{{false, 0, 0, 0}, {true, 0, 0, 0}, {false, 0.7, 0, 0}, {false, 0.7, 2.5, 0}, {true, 0, 0, 40}} { // surround: a ring of radius 1
		t.Run(fmt.Sprintf("torus=%v,surround=%g,band=%g,prior=%g", tc.torus, tc.surround, tc.band, tc.nu), func(t *testing.T) {
			be := modeltest.Backend(t)
			cfg := Config{Inputs: 42, Rows: 7, Cols: 6, Filter: 3, Stride: 2, Site: 2, Pool: 2, PoolStride: 1, PoolSigma: 1,
				Torus: tc.torus, Lambda: 0.3, Eps: 1e-2, DecoderLRScale: 1, Surround: tc.surround, SurroundRadius: 1, SurroundSigma: 1.5,
				SurroundWavelength: tc.band, OrientationPrior: tc.nu, OrientationWavelength: 2.5}
			l, err := New(be, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Free()
			const batch = 3
			rng := rand.New(rand.NewPCG(7, 7))
			nw, m := cfg.Weights(), cfg.Units()
			params := [][]float32{modeltest.Randn(rng, nw, 0.6), modeltest.Randn(rng, m, 0.2), modeltest.Randn(rng, m, 0.3), modeltest.Randn(rng, nw, 0.5)}
			for i := range params[2] {
				params[2][i] += 1
			}
			x := modeltest.Randn(rng, batch*cfg.Inputs, 1)
			for i, p := range l.Params() {
				be.Upload(p.Value, params[i])
			}
			mw, err := l.NewWork(batch)
			if err != nil {
				t.Fatal(err)
			}
			defer mw.Free()
			be.Upload(mw.Inputs(), x)
			if err := l.Forward(mw, 0); err != nil {
				t.Fatal(err)
			}
			if err := model.AllocGrads(be, l.Params()); err != nil {
				t.Fatal(err)
			}
			l.Backward(mw, 0)
			ref := &localRef{cfg: cfg, w: modeltest.F64(params[0]), b: modeltest.F64(params[1]), g: modeltest.F64(params[2]),
				d: modeltest.F64(params[3]), layout: l.Layout, x: modeltest.F64(x), batch: batch, minMargin: math.Inf(1)}
			sums, err := l.Loss(mw, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := ref.loss(); math.Abs(sums.Mean("loss")-want) > 1e-5*math.Abs(want) {
				t.Errorf("loss %.7g, reference %.7g", sums.Mean("loss"), want)
			}
			const h = 1e-6
			for pi, param := range l.Params() {
				got := modeltest.Download(t, be, param.Grad)
				p := [][]float64{ref.w, ref.b, ref.g, ref.d}[pi]
				var errSq, refSq float64
				for i := range p {
					old := p[i]
					p[i] = old + h
					up := ref.loss()
					p[i] = old - h
					down := ref.loss()
					p[i] = old
					fd := (up - down) / (2 * h)
					errSq += (float64(got[i]) - fd) * (float64(got[i]) - fd)
					refSq += fd * fd
				}
				rel := math.Sqrt(errSq / math.Max(refSq, 1e-30))
				t.Logf("%s: ‖∇‖ = %.4g, relative error %.2g", param.Name, math.Sqrt(refSq), rel)
				if refSq == 0 {
					t.Errorf("%s: the reference gradient is zero; the test checks nothing", param.Name)
				}
				if rel > 1e-4 {
					t.Errorf("%s: gradient differs from finite differences by %.3g (relative)", param.Name, rel)
				}
			}
			if ref.minMargin < 100*h {
				t.Fatalf("a pre-activation is %.3g from the ReLU's kink; finite differences are not valid there: change the seed", ref.minMargin)
			}
		})
	}
}

// TestLocalLayout: MapIndex is a bijection from the map onto the code, with the units of one
// window position in a Site×Site block; a complex cell holds a Pool×Pool block of the map
// (wrapping on a torus); ToMapOrder moves each filter to its unit's place on the map.
func TestLocalLayout(t *testing.T) {
	cfg := Config{Inputs: 42, Rows: 7, Cols: 6, Filter: 3, Stride: 2, Site: 2, Pool: 2, PoolStride: 1, Lambda: 1, Eps: 1, DecoderLRScale: 1}
	h, w := cfg.MapSize()
	ho, wo := cfg.Positions()
	if h != 6 || w != 4 || ho != 3 || wo != 2 {
		t.Fatalf("map %d×%d, positions %d×%d; want 6×4 and 3×2", h, w, ho, wo)
	}
	seen := map[int]bool{}
	for r := range h {
		for c := range w {
			i := cfg.MapIndex(r, c)
			if i < 0 || i >= h*w || seen[i] {
				t.Fatalf("MapIndex(%d,%d) = %d: outside the code or repeated", r, c, i)
			}
			seen[i] = true
		}
	}
	// Map (3, 2) is position (1, 1), unit a = 1, b = 0: k = 2, code index (2·3 + 1)·2 + 1 = 15.
	if got := cfg.MapIndex(3, 2); got != 15 {
		t.Errorf("MapIndex(3, 2) = %d, want 15", got)
	}
	l, err := cfg.Layout()
	if err != nil {
		t.Fatal(err)
	}
	if l.NumPools() != 5*3 {
		t.Errorf("%d complex cells inside a 6×4 map, want 15", l.NumPools())
	}
	cfg.Torus = true
	if l, err = cfg.Layout(); err != nil {
		t.Fatal(err)
	}
	if l.NumPools() != 24 {
		t.Errorf("%d complex cells on a 6×4 torus, want 24", l.NumPools())
	}
	// The last cell's top-left corner is (5, 3): it wraps to rows 5, 0 and columns 3, 0.
	idx, wt := l.Pool(23)
	want := []int{cfg.MapIndex(5, 3), cfg.MapIndex(5, 0), cfg.MapIndex(0, 3), cfg.MapIndex(0, 0)}
	for k := range want {
		if int(idx[k]) != want[k] || math.Abs(float64(wt[k])-0.25) > 1e-7 {
			t.Fatalf("wrapped cell: members %v weights %v, want %v with weights ¼", idx, wt, want)
		}
	}
	ff := cfg.Filter * cfg.Filter
	filters := make([]float32, cfg.Weights())
	for i := range ho {
		for j := range wo {
			for k := range 4 {
				for e := range ff {
					filters[((i*wo+j)*4+k)*ff+e] = float32(1000*i + 100*j + 10*k)
				}
			}
		}
	}
	mo := cfg.ToMapOrder(filters)
	// Map (3, 2): position (1, 1), unit k = 2.
	if got := mo[(3*w+2)*ff]; got != 1120 {
		t.Errorf("filter of map unit (3, 2) is position/unit %g, want 1120", got)
	}
}

// TestSurroundKernel: K is symmetric, Gaussian in the map distance of the units (not their code
// positions), a row far from the edges sums to 1 and a corner's to what its quarter of the plane
// holds; with a radius, a Gaussian ring around the unit.
func TestSurroundKernel(t *testing.T) {
	c := DefaultConfig()
	c.Rows, c.Cols, c.Inputs, c.SurroundRadius, c.SurroundSigma = 33, 30, 33*30, 0, 2 // a 36×32 map, a Gaussian
	h, w := c.MapSize()
	m := h * w
	k := c.SurroundKernel()
	if len(k) != m*m {
		t.Fatalf("%d values, want %d", len(k), m*m)
	}
	row := func(r, q int) []float32 { u := c.MapIndex(r, q); return k[u*m : (u+1)*m] }
	sum := func(v []float32) (s float64) {
		for _, x := range v {
			s += float64(x)
		}
		return s
	}
	if s := sum(row(h/2, w/2)); math.Abs(s-1) > 1e-4 {
		t.Errorf("the centre's row sums to %.6f, want 1", s)
	}
	var line float64 // Σ_d exp(−d²/2σ²) over a line of the lattice: a corner keeps ((line+1)/2)² of line²
	for d := -50; d <= 50; d++ {
		line += math.Exp(-float64(d*d) / (2 * c.SurroundSigma * c.SurroundSigma))
	}
	if s, want := sum(row(0, 0)), (line+1)*(line+1)/(4*line*line); math.Abs(s-want) > 1e-4 {
		t.Errorf("the corner's row sums to %.5f, want %.5f", s, want)
	}
	centre := row(h/2, w/2)
	for _, d := range [][2]int{{0, 1}, {1, 1}, {3, 0}, {-2, 5}} {
		got := float64(centre[c.MapIndex(h/2+d[0], w/2+d[1])] / centre[c.MapIndex(h/2, w/2)])
		want := math.Exp(-float64(d[0]*d[0]+d[1]*d[1]) / (2 * c.SurroundSigma * c.SurroundSigma))
		if math.Abs(got-want) > 1e-5 {
			t.Errorf("offset %v: K/K_centre = %.6f, want %.6f", d, got, want)
		}
	}
	for u := range m {
		for v := range u {
			if k[u*m+v] != k[v*m+u] {
				t.Fatalf("K[%d,%d] = %g, K[%d,%d] = %g: not symmetric", u, v, k[u*m+v], v, u, k[v*m+u])
			}
		}
	}
	c.SurroundRadius = 4 // a ring: largest at distance 4, exp(−(d − 4)²/2σ²) relative to it
	k = c.SurroundKernel()
	if s := sum(row(h/2, w/2)); math.Abs(s-1) > 1e-4 {
		t.Errorf("ring: the centre's row sums to %.6f, want 1", s)
	}
	centre = row(h/2, w/2)
	for _, d := range [][2]int{{0, 0}, {0, 1}, {3, 3}, {0, 6}, {-5, 5}} {
		got := float64(centre[c.MapIndex(h/2+d[0], w/2+d[1])] / centre[c.MapIndex(h/2, w/2+4)])
		r := math.Hypot(float64(d[0]), float64(d[1])) - c.SurroundRadius
		if want := math.Exp(-r * r / (2 * c.SurroundSigma * c.SurroundSigma)); math.Abs(got-want) > 1e-5 {
			t.Errorf("ring, offset %v: K/K_ring = %.6f, want %.6f", d, got, want)
		}
	}
	c.SurroundWavelength = 9 // the band kernel: δ plus the band function
	k = c.SurroundKernel()
	band := bandFunction(9, max(h, w))
	centre = row(h/2, w/2)
	for _, d := range [][2]int{{0, 0}, {0, 1}, {3, 3}, {0, 6}, {-5, 5}, {9, -2}} {
		want := band[d[0]*d[0]+d[1]*d[1]]
		if d == [2]int{} {
			want++
		}
		if got := float64(centre[c.MapIndex(h/2+d[0], w/2+d[1])]); math.Abs(got-want) > 1e-6 {
			t.Errorf("band kernel, offset %v: K = %.6f, want %.6f", d, got, want)
		}
	}
}

// TestBandFunction: the Fourier transform of the band function on the lattice is −1 at its
// wavelength Λ₀, never above 0 beyond rounding, and about 0 at half and twice Λ₀.
func TestBandFunction(t *testing.T) {
	const l, reach = 9.0, 50
	g := bandFunction(l, reach)
	ft := func(wavelength, angle float64) float64 {
		kx, ky := 2*math.Pi/wavelength*math.Cos(angle), 2*math.Pi/wavelength*math.Sin(angle)
		var f float64
		for dy := -reach; dy <= reach; dy++ {
			for dx := -reach; dx <= reach; dx++ {
				f += g[dy*dy+dx*dx] * math.Cos(kx*float64(dx)+ky*float64(dy))
			}
		}
		return f
	}
	for _, a := range []float64{0, 0.3, math.Pi / 4} {
		if f := ft(l, a); math.Abs(f+1) > 0.02 {
			t.Errorf("angle %.2f: transform %.4f at Λ₀, want −1", a, f)
		}
		for _, wl := range []float64{2.5, 4, 4.5, 20, 30, 1e9} {
			if f := ft(wl, a); math.Abs(f) > 0.01 {
				t.Errorf("angle %.2f: transform %.4f at wavelength %g, want about 0", a, f, wl)
			}
		}
		for wl := 2.0; wl < 40; wl += 0.25 {
			if f := ft(wl, a); f > 1e-3 || f < -1-1e-3 {
				t.Errorf("angle %.2f: transform %.4f at wavelength %g, outside [−1, 0]", a, f, wl)
			}
		}
	}
}

// TestLocalValidate: each bad key is named; the weight cap bounds a large image.
func TestLocalValidate(t *testing.T) {
	for _, c := range []struct {
		change func(*Config)
		key    string
	}{
		{func(c *Config) { c.Filter = 0 }, "filter"},
		{func(c *Config) { c.Filter = 50 }, "filter"},
		{func(c *Config) { c.Inputs = 5 }, "rows × cols"},
		{func(c *Config) { c.Pool = 60 }, "pool"},
		{func(c *Config) { c.Lambda = math.NaN() }, "lambda"},
		{func(c *Config) { c.PoolSigma = -1 }, "pool_sigma"},
		{func(c *Config) { c.Eps = 0 }, "eps"},
		{func(c *Config) { c.DecoderLRScale = 0 }, "decoder_lr_scale"},
		{func(c *Config) { c.Surround = -1 }, "surround"},
		{func(c *Config) { c.Surround = math.Inf(1) }, "surround"},
		{func(c *Config) { c.SurroundSigma = 0 }, "surround_sigma"},
		{func(c *Config) { c.SurroundSigma = math.NaN() }, "surround_sigma"},
		{func(c *Config) { c.SurroundRadius = -1 }, "surround_radius"},
		{func(c *Config) { c.SurroundWavelength = 1 }, "surround_wavelength"},
		{func(c *Config) { c.OrientationPrior = math.NaN() }, "orientation_prior"},
		{func(c *Config) { c.OrientationWavelength = 0 }, "orientation_wavelength"},
		{func(c *Config) { c.Filter, c.Rows, c.Cols, c.Inputs, c.OrientationPrior = 19, 200, 200, 200*200, 1 }, "orientation prior"},
		{func(c *Config) { c.Rows, c.Cols, c.Inputs, c.Surround = 96, 96, 96*96, 1 }, "surround inhibition"},
		{func(c *Config) { c.Rows, c.Cols, c.Inputs, c.Filter, c.Site, c.Stride = 1000, 1000, 1e6, 12, 1, 1 }, "weights"},
		{func(c *Config) { c.Rows, c.Cols, c.Inputs, c.Filter, c.Site, c.Stride = 600, 600, 360000, 3, 2, 1 }, "map"},
	} {
		cfg := DefaultConfig()
		c.change(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: Validate() = %v, want an error naming %q", c.key, err, c.key)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

// localImages caches LCN-normalized natural photographs.
var localImages = sync.OnceValues(func() (*data.PatchSource, error) {
	imgs, err := data.NaturalImages()
	return data.NewPatchSource(imgs, 24, 4), err
})

// smallConfig is the default geometry over 24×24 crops: 6×6 window positions, a 24×24 map.
func smallConfig() Config {
	c := DefaultConfig()
	c.Rows, c.Cols, c.Inputs = 24, 24, 576
	return c
}

// trainSmall trains cfg on count natural 24×24 crops for epochs and returns the model's map.
func trainSmall(t *testing.T, be kernels.Backend, cfg Config, count, epochs int) (MapMeasures, model.Sums) {
	t.Helper()
	src, err := localImages()
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if err := l.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.Epochs = epochs
	tr, err := model.NewTrainer(l, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Free()
	var last model.Sums
	tr.OnEpoch = func(e model.Epoch) error { last = e.Train; return nil }
	train := &model.Samples{Name: "crops", X: src.Random(count, 5), Dim: cfg.Inputs, Rows: cfg.Rows, Cols: cfg.Cols}
	if err := tr.Run(context.Background(), train, nil); err != nil {
		t.Fatal(err)
	}
	om, err := l.OrientationMap()
	if err != nil {
		t.Fatal(err)
	}
	m := om.Measure()
	t.Logf("λ=%g: last epoch %v", cfg.Lambda, last.Metrics(""))
	t.Logf("  orientation difference: neighbours %.1f°, random pairs %.1f°, ratio %.2f; selectivity %.2f; %d pinwheels, Λ = %.2f units, %.2f per Λ²",
		m.Neighbour*180/math.Pi, m.Random*180/math.Pi, m.Ratio, m.Selectivity, m.Pinwheels, m.Lambda, m.Density)
	return m, last
}

// TestLocalMapEmerges trains a 16×16 map briefly on natural crops: neighbouring units' preferred
// orientations differ less than random pairs' (ratio < 0.85), and the filters are oriented (mean
// selectivity > 0.3). Without -short the control, λ = 0 (no pooling penalty: nothing ties map
// neighbours), must fail the ratio.
func TestLocalMapEmerges(t *testing.T) {
	be := modeltest.Backend(t)
	m, loss := trainSmall(t, be, smallConfig(), 5000, 5)
	if !(m.Ratio < 0.85) {
		t.Errorf("neighbour/random orientation difference ratio %.3f, want < 0.85", m.Ratio)
	}
	if !(m.Selectivity > 0.3) {
		t.Errorf("mean orientation selectivity %.3f, want > 0.3", m.Selectivity)
	}
	if a := loss.Mean("active"); !(a > 0.01 && a < 0.9) {
		t.Errorf("active fraction %.3f: the code is dead or dense", a)
	}
	if testing.Short() {
		return
	}
	t.Run("lambda=0", func(t *testing.T) {
		c := smallConfig()
		c.Lambda = 0
		m, _ := trainSmall(t, be, c, 5000, 5)
		if m.Ratio < 0.85 {
			t.Errorf("without the pooling penalty the map still organizes (ratio %.3f); the margin is too loose", m.Ratio)
		}
	})
	// The orientation prior makes the map smoother than the pooling alone, at the column spacing
	// it rewards.
	t.Run("prior", func(t *testing.T) {
		c := smallConfig()
		c.OrientationPrior, c.OrientationWavelength = 0.1, 8
		mp, _ := trainSmall(t, be, c, 5000, 5)
		t.Logf("ratio %.3f (without the prior %.3f), column spacing %.2f", mp.Ratio, m.Ratio, mp.Lambda)
		if !(mp.Ratio < 0.8*m.Ratio) {
			t.Errorf("with the prior the neighbour/random ratio is %.3f, without %.3f: want at most 0.8 times", mp.Ratio, m.Ratio)
		}
		if math.Abs(mp.Lambda-8)/8 > 0.25 {
			t.Errorf("with the prior of wavelength 8 the column spacing is %.2f", mp.Lambda)
		}
	})
}

// TestLocalResume: training resumes exactly from a checkpoint (with the orientation prior).
func TestLocalResume(t *testing.T) {
	be := modeltest.Backend(t)
	src, err := localImages()
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig()
	cfg.Rows, cfg.Cols, cfg.Inputs, cfg.Filter, cfg.Site = 16, 16, 256, 6, 2
	cfg.OrientationPrior, cfg.OrientationWavelength = 0.05, 4 // its host round trip resumes exactly too
	train := &model.Samples{Name: "crops", X: data.NewPatchSource(src.Images, 16, 0).Random(200, 3), Dim: cfg.Inputs}
	tc := DefaultTrainConfig()
	tc.Epochs, tc.Batch = 3, 16
	traintest.Resume(t, func() model.Module {
		l, err := New(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Init(nil, 2); err != nil {
			t.Fatal(err)
		}
		return l
	}, tc, train, nil, 2)
}

// TestLocalDecoderProjection: the decoder's projection leaves every filter of norm ≤ 1, and
// those already inside unchanged.
func TestLocalDecoderProjection(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := smallConfig()
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	rng := rand.New(rand.NewPCG(9, 9))
	ff := cfg.Filter * cfg.Filter
	d := modeltest.Randn(rng, cfg.Weights(), 0.1)
	for i := range ff {
		d[i] *= 100 // the first filter is far outside the ball
	}
	be.Upload(l.d.Value, d)
	l.d.Project(l.d.Value)
	got := modeltest.Download(t, be, l.d.Value)
	for u := range cfg.Units() {
		var s, s0 float64
		for e := range ff {
			s += float64(got[u*ff+e]) * float64(got[u*ff+e])
			s0 += float64(d[u*ff+e]) * float64(d[u*ff+e])
		}
		if s0 > 1 && math.Abs(math.Sqrt(s)-1) > 1e-5 {
			t.Fatalf("filter %d: norm %.6f → %.6f, want 1", u, math.Sqrt(s0), math.Sqrt(s))
		}
		if s0 <= 1 && math.Abs(s-s0) > 1e-6 {
			t.Fatalf("filter %d inside the ball changed: %.6f → %.6f", u, s0, s)
		}
	}
}
