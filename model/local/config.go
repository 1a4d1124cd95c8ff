// Package local is the locally connected sparse auto-encoder over whole images, the model kind
// "local" (after Gregor & LeCun, "Emergence of complex-like cells in a temporal product network
// with local receptive fields", arXiv:1006.0448, 2010): every unit of a map has a filter of its
// own on a small window of the image (no weight sharing), the decoder is linear, and complex
// cells L2-pool neighbouring units of the map. Trained on natural images, the preferred
// orientation of the filters varies smoothly over the map and turns around pinwheels; maps.go
// measures them (orientation, pinwheels, column spacing Λ, pinwheels per Λ²).
package local

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// Kind is the kind's registered name.
const Kind = "local"

var phases = []string{"train"}

func init() {
	model.Register(model.Kind{
		Name:      Kind,
		Summary:   "locally connected sparse auto-encoder on whole images, L2 pooling over map neighbours: orientation maps with pinwheels (Gregor & LeCun 2010)",
		Phases:    phases,
		NewConfig: func() model.Config { c := DefaultConfig(); return &c },
		NewTrain:  DefaultTrainConfig,
		Data: model.DataSpec{Source: "patches", Preprocess: "mean", Patch: 48, LCNSigma: 4, TrainSize: 8000,
			TestSize: 500, Seed: 1},
		New: func(be kernels.Backend, c model.Config) (model.Module, error) { return New(be, *c.(*Config)) },
	})
}

// Size limits, checked by Validate: every weight tensor (W, D; the trainer adds their gradients
// and optimizer state, 6 such tensors in all with momentum) holds at most MaxWeights floats
// (128 MiB, the largest storage block of Mesa llvmpipe), and the map at most MaxMapSide units a
// side (the map measures run on the host in O(units·side)).
const (
	MaxWeights = 1 << 25
	MaxMapSide = 1024
	// MaxPriorWork bounds the orientation prior's host work per step, Units·Filter⁴.
	MaxPriorWork = 1 << 32
)

// Config is the geometry of the image, the units' windows, the map and its pools, and the loss.
//
// The image is Rows×Cols pixels (one channel). Windows of Filter×Filter pixels step by Stride
// over it (no padding): Ho×Wo window positions, Ho = (Rows − Filter)/Stride + 1. Every position
// holds a Site×Site block of units, each with its own filter on that window, so the map is
// (Ho·Site)×(Wo·Site) units: unit (k, i, j) — the k-th unit (k = a·Site + b) of position (i, j) —
// sits at row i·Site + a, column j·Site + b of the map.
type Config struct {
	Inputs int `json:"inputs" cfg:"required,noflag" help:"pixels per image, rows·cols (from the data)"`
	Rows   int `json:"rows" cfg:"required,noflag" help:"image height (from the data)"`
	Cols   int `json:"cols" cfg:"required,noflag" help:"image width (from the data)"`

	Filter int `json:"filter" help:"side of each unit's window on the image, in pixels"`
	Stride int `json:"stride" help:"step between the windows of neighbouring map positions, in pixels"`
	Site   int `json:"site" help:"units per window position, as a site×site block of the map (map: site·positions a side)"`

	Pool       int     `json:"pool" help:"side of a complex cell's window on the map, in units"`
	PoolStride int     `json:"pool_stride" help:"step between complex cells on the map"`
	PoolSigma  float64 `json:"pool_sigma" help:"σ of the Gaussian weights of a complex cell's window, in units (0: flat); weights sum to 1"`
	Torus      bool    `json:"torus" help:"toroidal map: complex cells wrap around the map's edges (otherwise they lie inside it)"`

	Lambda float64 `json:"lambda" help:"weight λ of the penalty Σ over complex cells of √(ε + Σ w z²)"`
	Eps    float64 `json:"eps" help:"ε inside each complex cell's square root"`
	// Surround inhibition: ½μ Σ_uv K_uv z_u z_v with K_uv = exp(−(d_uv − R)²/2σ²), d_uv the
	// units' distance on the map, R SurroundRadius (0: a Gaussian; > 0: a ring), σ
	// SurroundSigma, scaled so that a row of the plane's kernel sums to 1. With the complex
	// cells' pooling (short-range cooperation) it makes a Mexican-hat interaction on the map.
	Surround       float64 `json:"surround" help:"weight μ of the surround inhibition ½μ Σ K_uv z_u z_v, K a Gaussian ring in map distance (0: none)"`
	SurroundRadius float64 `json:"surround_radius" help:"radius R of the surround's ring, in map units (0: a Gaussian centred on the unit)"`
	SurroundSigma  float64 `json:"surround_sigma" help:"width σ of the surround's Gaussian (ring), in map units"`
	// With SurroundWavelength Λ₀ > 0, K is instead the band kernel: K_uv = δ_uv −
	// J0(2π d_uv/Λ₀)·exp(−d_uv²/2Λ₀²)/G, G the largest value of that function's Fourier transform
	// on the map's lattice. Its spectrum is 0 on the ring of wavelength Λ₀ (a Gaussian-blurred ring)
	// and 1 far from it: K is positive semi-definite, and the term penalizes every spatial frequency
	// of the codes on the map but Λ₀'s.
	SurroundWavelength float64 `json:"surround_wavelength" help:"0: the surround is the Gaussian ring; > 0: a band kernel penalizing every wavelength on the map but this one, in map units (surround_radius and surround_sigma unused)"`
	// The orientation prior (prior.go): −½ν Σ_uv J_uv Re(o_u ō_v) over the decoder filters'
	// orientation vectors o_u, J the band function of wavelength Λ₀ (bandFunction, negated): it
	// rewards orientation maps whose spectrum lies on the ring of wavelength Λ₀.
	OrientationPrior      float64 `json:"orientation_prior" help:"weight ν of the orientation prior on the decoder filters, rewarding orientation maps of wavelength orientation_wavelength (0: none)"`
	OrientationWavelength float64 `json:"orientation_wavelength" help:"wavelength Λ₀ of the orientation prior's band, in map units"`
	// The decoder learns DecoderLRScale times as fast as the encoder, as in model/topo and
	// model/conv.
	DecoderLRScale float64 `json:"decoder_lr_scale" help:"the decoder's learning rate, as a multiple of the encoder's"`
}

// DefaultConfig: 48×48 images, 9×9 windows at stride 3 (14×14 positions), 4×4 units per
// position — a 56×56 map of 3,136 units, 1.4 per pixel, and 254,016 weights in each of W and
// D — with complex cells of 5×5 units (Gaussian weights, σ = 1.5) at stride 1 on a torus, and
// no surround inhibition (its ring, when μ is set: R = 5, σ = 1.5 units; docs/local.md) and no
// orientation prior (its wavelength, when ν is set: 9 units). Several
// units per window position, as in a cortical column, is what makes the filters oriented: with
// one unit per pixel (site 1, stride 1) each unit learns a spot at its own place.
func DefaultConfig() Config {
	return Config{Inputs: 48 * 48, Rows: 48, Cols: 48, Filter: 9, Stride: 3, Site: 4,
		Pool: 5, PoolStride: 1, PoolSigma: 1.5, Torus: true, Lambda: 1, Eps: 1e-4, DecoderLRScale: 2,
		SurroundRadius: 5, SurroundSigma: 1.5, OrientationWavelength: 9}
}

// DefaultTrainConfig: SGD with momentum 0.9, lr 0.05, minibatches of 32 images, 15 epochs.
func DefaultTrainConfig() model.TrainConfig {
	c := model.DefaultTrainConfig()
	c.Batch, c.Epochs, c.LR, c.ReportEvery, c.EvalBatch = 32, 15, 0.05, 20, 100
	return c
}

// Positions is the number of window positions, Ho×Wo.
func (c Config) Positions() (ho, wo int) {
	return (c.Rows-c.Filter)/c.Stride + 1, (c.Cols-c.Filter)/c.Stride + 1
}

// MapSize is the map's rows and columns of units, (Ho·Site)×(Wo·Site).
func (c Config) MapSize() (h, w int) {
	ho, wo := c.Positions()
	return ho * c.Site, wo * c.Site
}

// Units is the number of units, the size of one image's code.
func (c Config) Units() int { h, w := c.MapSize(); return h * w }

// Weights is the number of weights of the encoder (and of the decoder): Units·Filter².
func (c Config) Weights() int { return c.Units() * c.Filter * c.Filter }

// Geometry is the locally connected layer's window geometry.
func (c Config) Geometry() kernels.Conv2D {
	return kernels.Conv2D{StrideH: c.Stride, StrideW: c.Stride}
}

// Validate returns an error naming the first key out of range.
func (c Config) Validate() error {
	if err := model.CheckSizes(c.Inputs, 0, 0); err != nil {
		return err
	}
	for _, k := range []struct {
		key string
		v   int
	}{{"inputs", c.Inputs}, {"rows", c.Rows}, {"cols", c.Cols}, {"filter", c.Filter}, {"stride", c.Stride},
		{"site", c.Site}, {"pool", c.Pool}, {"pool_stride", c.PoolStride}} {
		if k.v <= 0 {
			return fmt.Errorf("%s = %d, want > 0", k.key, k.v)
		}
	}
	switch {
	case c.Rows > model.MaxInputs || c.Cols > model.MaxInputs || c.Rows*c.Cols != c.Inputs:
		return fmt.Errorf("rows × cols = %d×%d does not hold %d inputs", c.Rows, c.Cols, c.Inputs)
	case c.Filter > c.Rows || c.Filter > c.Cols:
		return fmt.Errorf("filter = %d, larger than the %d×%d image", c.Filter, c.Rows, c.Cols)
	case c.Site > MaxMapSide:
		return model.SizeError("site", c.Site, MaxMapSide)
	case !(c.PoolSigma >= 0) || math.IsInf(c.PoolSigma, 0):
		return fmt.Errorf("pool_sigma = %g, want a finite value ≥ 0", c.PoolSigma)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("lambda = %g, want a finite value ≥ 0", c.Lambda)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("eps = %g, want a finite value > 0", c.Eps)
	case !(c.DecoderLRScale > 0) || math.IsInf(c.DecoderLRScale, 0):
		return fmt.Errorf("decoder_lr_scale = %g, want > 0", c.DecoderLRScale)
	case !(c.Surround >= 0) || math.IsInf(c.Surround, 0):
		return fmt.Errorf("surround = %g, want a finite value ≥ 0", c.Surround)
	case !(c.SurroundSigma > 0) || c.SurroundSigma > MaxMapSide:
		return fmt.Errorf("surround_sigma = %g, want a value in (0, %d]", c.SurroundSigma, MaxMapSide)
	case !(c.SurroundRadius >= 0) || c.SurroundRadius > MaxMapSide:
		return fmt.Errorf("surround_radius = %g, want a value in [0, %d]", c.SurroundRadius, MaxMapSide)
	case !(c.OrientationPrior >= 0) || math.IsInf(c.OrientationPrior, 0):
		return fmt.Errorf("orientation_prior = %g, want a finite value ≥ 0", c.OrientationPrior)
	case !(c.OrientationWavelength >= 2) || c.OrientationWavelength > MaxMapSide:
		return fmt.Errorf("orientation_wavelength = %g, want a value in [2, %d]", c.OrientationWavelength, MaxMapSide)
	case !(c.SurroundWavelength == 0 || c.SurroundWavelength >= 2) || c.SurroundWavelength > MaxMapSide:
		return fmt.Errorf("surround_wavelength = %g, want 0 or a value in [2, %d]", c.SurroundWavelength, MaxMapSide)
	}
	h, w := c.MapSize()
	switch {
	case h > MaxMapSide || w > MaxMapSide:
		return fmt.Errorf("the map is %d×%d units (site %d × %d×%d window positions), beyond drsae's limit of %d a side", h, w, c.Site, h/c.Site, w/c.Site, MaxMapSide)
	case h*w > model.MaxUnits:
		return model.SizeError("units (map rows × columns)", h*w, model.MaxUnits)
	case int64(h*w)*int64(c.Filter*c.Filter) > MaxWeights:
		return fmt.Errorf("%d units × %d×%d filters = %d weights in each of W and D, beyond drsae's limit of %d (lower filter, site, or the image size)",
			h*w, c.Filter, c.Filter, int64(h*w)*int64(c.Filter*c.Filter), MaxWeights)
	case c.Pool > h || c.Pool > w:
		return fmt.Errorf("pool = %d, larger than the %d×%d map", c.Pool, h, w)
	case c.OrientationPrior > 0 && int64(h*w)*int64(c.Filter*c.Filter)*int64(c.Filter*c.Filter) > MaxPriorWork:
		return fmt.Errorf("the orientation prior on %d units with %d×%d filters takes %d operations a step, beyond drsae's limit of %d (lower filter or the map)",
			h*w, c.Filter, c.Filter, int64(h*w)*int64(c.Filter*c.Filter)*int64(c.Filter*c.Filter), int64(MaxPriorWork))
	case c.Surround > 0 && int64(h*w)*int64(h*w) > MaxWeights:
		return fmt.Errorf("surround inhibition on a map of %d units needs a %d×%d kernel, beyond drsae's limit of %d values (at most %d units)",
			h*w, h*w, h*w, MaxWeights, int(math.Sqrt(MaxWeights)))
	}
	return nil
}

// SurroundKernel is the surround inhibition's K [Units, Units] in code order (MapIndex), a
// function of the distance d of u and v on the map (which has edges: the units' windows do not
// wrap around the image). The ring: K_uv = exp(−(d − R)²/2σ²)/Σ_{plane} exp(−(d − R)²/2σ²), the
// sum over the whole plane's lattice, so that a unit far from the edges has a row summing to 1.
// The band kernel (SurroundWavelength Λ₀ > 0): K_uv = δ_uv − J0(2πd/Λ₀)·exp(−d²/2Λ₀²)/G.
func (c Config) SurroundKernel() []float32 {
	h, w := c.MapSize()
	m := h * w
	reach := max(h, w)
	var g []float64 // by squared distance
	diag := 0.0
	if c.SurroundWavelength > 0 {
		g = bandFunction(c.SurroundWavelength, reach)
		diag = 1
	} else {
		s2 := 2 * c.SurroundSigma * c.SurroundSigma
		g = make([]float64, 2*reach*reach+1)
		for d2 := range g {
			d := math.Sqrt(float64(d2)) - c.SurroundRadius
			g[d2] = math.Exp(-d * d / s2)
		}
		var norm float64
		for dy := -reach; dy <= reach; dy++ {
			for dx := -reach; dx <= reach; dx++ {
				norm += g[dy*dy+dx*dx]
			}
		}
		for d2 := range g {
			g[d2] /= norm
		}
	}
	k := make([]float32, m*m)
	for r := range h {
		for q := range w {
			u := c.MapIndex(r, q)
			for r2 := range h {
				for q2 := range w {
					k[u*m+c.MapIndex(r2, q2)] = float32(g[(r-r2)*(r-r2)+(q-q2)*(q-q2)])
				}
			}
			k[u*m+u] += float32(diag)
		}
	}
	return k
}

// bandFunction is −J0(2πd/Λ₀)·exp(−d²/2Λ₀²)/G by squared distance d² ≤ 2·reach², G scaling the
// most negative value of its Fourier transform on the lattice to −1: a spectrum that is minus a
// Gaussian-blurred ring of wavelength Λ₀, 0 far from it.
func bandFunction(wavelength float64, reach int) []float64 {
	g := make([]float64, 2*reach*reach+1)
	for d2 := range g {
		d := math.Sqrt(float64(d2))
		g[d2] = -math.J0(2*math.Pi*d/wavelength) * math.Exp(-float64(d2)/(2*wavelength*wavelength))
	}
	norm := -bandPeak(g, min(reach, int(5*wavelength)+1))
	for d2 := range g {
		g[d2] /= norm
	}
	return g
}

// bandPeak is the most negative value of the Fourier transform Σ_{offsets} g(|o|²) cos(k·o) of
// the radial function g (indexed by squared distance, offsets up to reach a side) over wave
// vectors k along an axis and along the diagonal, in 1024 steps up to the lattice's π.
func bandPeak(g []float64, reach int) float64 {
	peak := 0.0
	for _, dir := range [][2]float64{{1, 0}, {math.Sqrt2 / 2, math.Sqrt2 / 2}} {
		for i := range 1025 {
			k := math.Pi * float64(i) / 1024
			var f float64
			for dy := -reach; dy <= reach; dy++ {
				for dx := -reach; dx <= reach; dx++ {
					f += g[dy*dy+dx*dx] * math.Cos(k*(dir[0]*float64(dx)+dir[1]*float64(dy)))
				}
			}
			peak = min(peak, f)
		}
	}
	return peak
}

// MapIndex is the position in the code (a row of z, [Site², Ho, Wo] row-major, the layout of the
// locally connected op) of the unit at row r, column c of the map.
func (c Config) MapIndex(r, col int) int {
	ho, wo := c.Positions()
	i, a := r/c.Site, r%c.Site
	j, b := col/c.Site, col%c.Site
	return ((a*c.Site+b)*ho+i)*wo + j
}

// Layout builds the complex cells: Pool×Pool windows of the map whose top-left corners step by
// PoolStride, wrapping around the edges on a torus (⌈h/stride⌉·⌈w/stride⌉ cells) and inside the
// map otherwise; weights Gaussian in the offset from the window's centre (σ = PoolSigma; flat
// for 0), summing to 1 per cell. Members are code positions (MapIndex).
func (c Config) Layout() (*kernels.PoolLayout, error) {
	h, w := c.MapSize()
	var rows, cols []int
	lastR, lastC := h-c.Pool, w-c.Pool
	if c.Torus {
		lastR, lastC = h-1, w-1
	}
	for r := 0; r <= lastR; r += c.PoolStride {
		rows = append(rows, r)
	}
	for q := 0; q <= lastC; q += c.PoolStride {
		cols = append(cols, q)
	}
	mid := float64(c.Pool-1) / 2
	weights := make([]float32, 0, c.Pool*c.Pool)
	var sum float64
	for dy := range c.Pool {
		for dx := range c.Pool {
			v := 1.0
			if c.PoolSigma > 0 {
				v = math.Exp(-((float64(dy)-mid)*(float64(dy)-mid) + (float64(dx)-mid)*(float64(dx)-mid)) / (2 * c.PoolSigma * c.PoolSigma))
			}
			weights = append(weights, float32(v))
			sum += v
		}
	}
	for i := range weights {
		weights[i] = float32(float64(weights[i]) / sum)
	}
	members := make([][]int, 0, len(rows)*len(cols))
	ws := make([][]float32, 0, len(rows)*len(cols))
	for _, r0 := range rows {
		for _, c0 := range cols {
			m := make([]int, 0, c.Pool*c.Pool)
			for dy := range c.Pool {
				for dx := range c.Pool {
					m = append(m, c.MapIndex((r0+dy)%h, (c0+dx)%w))
				}
			}
			members = append(members, m)
			ws = append(ws, weights)
		}
	}
	return kernels.NewPoolLayout(h*w, members, ws)
}
