package local

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
)

// Orientation maps, measured as in the study of visual cortex (Kaschube et al., "Universality in
// the evolution of orientation columns in the visual cortex", Science 330, 2010): each unit's
// preferred orientation θ, the field exp(2iθ) over the map (θ and θ + π are one orientation),
// pinwheels where that field winds once around a point, the column spacing Λ from the peak of
// its power spectrum, and the pinwheel density per Λ², about π in tree shrew, galago and ferret.
// Everything here runs on the host, in float64.

// Orientation is what FilterOrientation measures of one filter.
type Orientation struct {
	// Theta is the preferred orientation, of the filter's stripes (edges), in radians in [0, π),
	// measured from the x axis (along a row, to the right) towards y (down the rows).
	Theta float64
	// Strength, in [0, 1], is how much of the filter's spectral energy agrees on Theta: 1 for a
	// grating, about 0 for an isotropic (centre–surround) or noisy filter.
	Strength float64
	// Freq is the dominant spatial frequency, cycles per pixel: the peak of the power spectrum.
	Freq float64
}

// FilterOrientation measures the filter f [side, side] (row-major) from its power spectrum
// P(k) = |DFT(f − mean f)|², zero-padded to N = max(16, 2·side) a side: with φ_k the direction
// of the wave vector k, the doubled angles are averaged with weights P(k)², which puts the weight
// on the dominant frequency and its neighbours (a Gabor's two lobes at ±k agree, since 2φ and
// 2φ + 2π are one angle):
//
//	S = Σ_{k≠0} P(k)² e^{2iφ_k},  θ = ½ arg(−S) mod π,  strength = |S| / Σ_{k≠0} P(k)²
//
// (−S: the stripes are perpendicular to the wave vector). A flat filter has θ = 0, strength 0.
func FilterOrientation(f []float32, side int) Orientation {
	if side <= 0 || len(f) != side*side {
		panic(fmt.Sprintf("local: FilterOrientation: %d values for a %d×%d filter", len(f), side, side))
	}
	n := max(16, 2*side)
	var mean float64
	for _, v := range f {
		mean += float64(v)
	}
	mean /= float64(len(f))
	tw := make([]complex128, n) // e^{−2πi t/n}
	for t := range tw {
		s, c := math.Sincos(-2 * math.Pi * float64(t) / float64(n))
		tw[t] = complex(c, s)
	}
	// The separable DFT: along each row (v), then down each column (u).
	rows := make([]complex128, side*n)
	for p := range side {
		for v := range n {
			var s complex128
			for q := range side {
				s += complex(float64(f[p*side+q])-mean, 0) * tw[(v*q)%n]
			}
			rows[p*n+v] = s
		}
	}
	var sum complex128
	var total, peak float64
	var o Orientation
	for u := range n {
		fy := float64(u) / float64(n)
		if u >= n/2 {
			fy -= 1
		}
		for v := range n {
			if u == 0 && v == 0 {
				continue
			}
			var s complex128
			for p := range side {
				s += rows[p*n+v] * tw[(u*p)%n]
			}
			pw := real(s)*real(s) + imag(s)*imag(s)
			fx := float64(v) / float64(n)
			if v >= n/2 {
				fx -= 1
			}
			phi := math.Atan2(fy, fx)
			sum += complex(pw*pw, 0) * cmplx.Exp(complex(0, 2*phi))
			total += pw * pw
			if pw > peak {
				peak, o.Freq = pw, math.Hypot(fx, fy)
			}
		}
	}
	if total == 0 {
		return Orientation{}
	}
	o.Theta = math.Mod(cmplx.Phase(-sum)/2+math.Pi, math.Pi)
	o.Strength = cmplx.Abs(sum) / total
	return o
}

// OrientationMap is the units' orientations laid out on an H×W map, row-major; on a torus, the
// last row and column neighbour the first.
type OrientationMap struct {
	H, W  int
	Torus bool
	Units []Orientation // [H·W]
}

// NewOrientationMap measures filters [H·W, side²] (map order, as MapFilters returns them).
func NewOrientationMap(filters []float32, side, h, w int, torus bool) *OrientationMap {
	ff := side * side
	if h <= 0 || w <= 0 || len(filters) != h*w*ff {
		panic(fmt.Sprintf("local: NewOrientationMap: %d values for %d×%d filters of %d×%d", len(filters), h, w, side, side))
	}
	o := &OrientationMap{H: h, W: w, Torus: torus, Units: make([]Orientation, h*w)}
	for i := range o.Units {
		o.Units[i] = FilterOrientation(filters[i*ff:(i+1)*ff], side)
	}
	return o
}

// FieldMap is a map of the orientations theta [h·w] (radians, taken mod π), each of strength 1:
// a synthetic map, or one measured elsewhere.
func FieldMap(theta []float64, h, w int, torus bool) *OrientationMap {
	if h <= 0 || w <= 0 || len(theta) != h*w {
		panic(fmt.Sprintf("local: FieldMap: %d orientations for a %d×%d map", len(theta), h, w))
	}
	o := &OrientationMap{H: h, W: w, Torus: torus, Units: make([]Orientation, h*w)}
	for i, t := range theta {
		o.Units[i] = Orientation{Theta: math.Mod(math.Mod(t, math.Pi)+math.Pi, math.Pi), Strength: 1}
	}
	return o
}

// OrientationDifference is |θ₁ − θ₂| as orientations: in [0, π/2].
func OrientationDifference(t1, t2 float64) float64 {
	d := math.Mod(math.Abs(t1-t2), math.Pi)
	return math.Min(d, math.Pi-d)
}

// Smoothness compares the orientations of map neighbours with those of random pairs: mean
// OrientationDifference, in radians, over the pairs of 4-neighbours (wrapping on a torus) and over
// all pairs of units (a fixed sample of 2²⁰ pairs on maps of more than 4096 units). Random
// orientations give π/4 for both; a smooth map gives Ratio = Neighbour/Random well below 1.
type Smoothness struct {
	Neighbour, Random, Ratio float64
}

// Smoothness measures the map's Smoothness.
func (o *OrientationMap) Smoothness() Smoothness {
	th := func(r, c int) float64 { return o.Units[r*o.W+c].Theta }
	var nb, nn float64
	for r := range o.H {
		for c := range o.W {
			if c+1 < o.W || (o.Torus && o.W > 1) {
				nb += OrientationDifference(th(r, c), th(r, (c+1)%o.W))
				nn++
			}
			if r+1 < o.H || (o.Torus && o.H > 1) {
				nb += OrientationDifference(th(r, c), th((r+1)%o.H, c))
				nn++
			}
		}
	}
	m := len(o.Units)
	var all, na float64
	if m <= 4096 {
		for i := range m {
			for j := i + 1; j < m; j++ {
				all += OrientationDifference(o.Units[i].Theta, o.Units[j].Theta)
				na++
			}
		}
	} else {
		rng := rand.New(rand.NewPCG(0x5eed, uint64(m)))
		for range 1 << 20 {
			i, j := rng.IntN(m), rng.IntN(m)
			if i != j {
				all += OrientationDifference(o.Units[i].Theta, o.Units[j].Theta)
				na++
			}
		}
	}
	s := Smoothness{Neighbour: nb / math.Max(nn, 1), Random: all / math.Max(na, 1)}
	if s.Random > 0 {
		s.Ratio = s.Neighbour / s.Random
	}
	return s
}

// Pinwheel is a point around which the orientation turns through π: the field exp(2iθ) winds by
// Sign = ±1 around the plaquette of the four units (Row, Col), (Row, Col+1), (Row+1, Col+1),
// (Row+1, Col) (indices mod the map's size on a torus).
type Pinwheel struct {
	Row, Col int
	Sign     int
}

// Centre is the pinwheel's position on the map, the middle of its plaquette, in unit coordinates.
func (p Pinwheel) Centre() (row, col float64) { return float64(p.Row) + 0.5, float64(p.Col) + 0.5 }

// Pinwheels finds every plaquette around which exp(2iθ) winds: the steps of 2θ along the path
// (r, c) → (r, c+1) → (r+1, c+1) → (r+1, c) → (r, c), each wrapped to (−π, π], add up to
// 2π·Sign. Sign +1 means θ increases along that path, which is counter-clockwise in the (x =
// column, y = row) plane — clockwise as drawn, rows running down. On a torus the plaquettes wrap
// (H·W of them, and the signs sum to 0); otherwise there are (H−1)·(W−1).
func (o *OrientationMap) Pinwheels() []Pinwheel {
	var out []Pinwheel
	hr, wr := o.H-1, o.W-1
	if o.Torus {
		hr, wr = o.H, o.W
	}
	two := func(r, c int) float64 { return 2 * o.Units[(r%o.H)*o.W+c%o.W].Theta }
	for r := range hr {
		for c := range wr {
			path := [5]float64{two(r, c), two(r, c+1), two(r+1, c+1), two(r+1, c), two(r, c)}
			var turn float64
			for k := range 4 {
				turn += wrapAngle(path[k+1] - path[k])
			}
			if s := int(math.Round(turn / (2 * math.Pi))); s != 0 {
				out = append(out, Pinwheel{Row: r, Col: c, Sign: s})
			}
		}
	}
	return out
}

// wrapAngle maps a to (−π, π].
func wrapAngle(a float64) float64 {
	a = math.Mod(a+math.Pi, 2*math.Pi)
	if a <= 0 {
		a += 2 * math.Pi
	}
	return a - math.Pi
}

// Spectrum is the angular mean of the power spectrum |DFT(exp(2iθ) − mean)|² of the map, in rings
// of width 1/L cycles per unit, L = min(H, W): Power[r] is the mean over the frequencies k with
// round(L·|k|) = r, for r = 0 … L/2.
func (o *OrientationMap) Spectrum() []float64 {
	field := make([]complex128, len(o.Units))
	for i, u := range o.Units {
		field[i] = cmplx.Exp(complex(0, 2*u.Theta))
	}
	return ringSpectrum(field, o.H, o.W)
}

// ringSpectrum is Spectrum of the field [h, w] (its mean removed).
func ringSpectrum(field []complex128, h, w int) []float64 {
	var mean complex128
	for _, v := range field {
		mean += v
	}
	mean /= complex(float64(len(field)), 0)
	x := make([]complex128, len(field))
	for i, v := range field {
		x[i] = v - mean
	}
	f := dft2(x, h, w)
	l := min(h, w)
	power := make([]float64, l/2+1)
	count := make([]float64, l/2+1)
	for u := range h {
		fy := signedFreq(u, h)
		for v := range w {
			fx := signedFreq(v, w)
			r := int(math.Round(float64(l) * math.Hypot(fx, fy)))
			if r < len(power) {
				c := f[u*w+v]
				power[r] += real(c)*real(c) + imag(c)*imag(c)
				count[r]++
			}
		}
	}
	for r := range power {
		if count[r] > 0 {
			power[r] /= count[r]
		}
	}
	return power
}

// signedFreq is index k of an n-point DFT as a frequency in cycles per sample, in [−½, ½).
func signedFreq(k, n int) float64 {
	if 2*k >= n {
		k -= n
	}
	return float64(k) / float64(n)
}

// dft2 is the 2-D DFT of x [h, w], row-major (separable, O(h·w·(h + w))).
func dft2(x []complex128, h, w int) []complex128 {
	line := func(n, stride int, tw, in, out []complex128, off int) {
		for k := range n {
			var s complex128
			for t := range n {
				s += in[off+t*stride] * tw[(k*t)%n]
			}
			out[off+k*stride] = s
		}
	}
	twiddles := func(n int) []complex128 { // e^{−2πi t/n}
		tw := make([]complex128, n)
		for t := range tw {
			sn, cs := math.Sincos(-2 * math.Pi * float64(t) / float64(n))
			tw[t] = complex(cs, sn)
		}
		return tw
	}
	tw, th := twiddles(w), twiddles(h)
	tmp := make([]complex128, len(x))
	out := make([]complex128, len(x))
	for r := range h {
		line(w, 1, tw, x, tmp, r*w)
	}
	for c := range w {
		line(h, w, th, tmp, out, c)
	}
	return out
}

// ColumnSpacing is Λ, in units of the map: the wavelength of the peak of Spectrum over the rings
// r ≥ 1, refined between rings by the parabola through the peak and its two neighbours
// (Λ = L/(r + δ), |δ| ≤ ½). 0 when the map is too small to have a ring beyond the first or the
// field is uniform.
func (o *OrientationMap) ColumnSpacing() float64 {
	p := o.Spectrum()
	if len(p) < 2 {
		return 0
	}
	best := 1
	for r := 2; r < len(p); r++ {
		if p[r] > p[best] {
			best = r
		}
	}
	if p[best] == 0 {
		return 0
	}
	peak := float64(best)
	if best+1 < len(p) {
		a, b, c := p[best-1], p[best], p[best+1]
		if den := a - 2*b + c; den < 0 {
			peak += math.Max(-0.5, math.Min(0.5, 0.5*(a-c)/den))
		}
	}
	return float64(min(o.H, o.W)) / peak
}

// MapMeasures are the orientation map's figures.
type MapMeasures struct {
	Smoothness
	Pinwheels   int     // plaquettes with a winding of ±1
	Plus, Minus int     // of them, with Sign +1 and −1
	Lambda      float64 // column spacing Λ, in units of the map
	Area        float64 // the plaquettes searched: H·W on a torus, (H−1)·(W−1) otherwise
	Density     float64 // pinwheels per Λ²: Pinwheels·Λ²/Area (cortex: ≈ π)
	Selectivity float64 // mean Strength of the units' orientations
	// Coverage: the share of units whose orientation lies within 22.5° of 0°, 45°, 90° and 135°
	// (¼ each for a map that covers all orientations evenly), and Cardinal = |mean exp(4iθ)|,
	// 0 for even coverage, 1 for a map of two orthogonal orientations.
	Coverage [4]float64
	Cardinal float64
}

// Measure computes every figure of the map.
func (o *OrientationMap) Measure() MapMeasures {
	m := MapMeasures{Smoothness: o.Smoothness(), Lambda: o.ColumnSpacing()}
	for _, p := range o.Pinwheels() {
		m.Pinwheels++
		if p.Sign > 0 {
			m.Plus++
		} else {
			m.Minus++
		}
	}
	if o.Torus {
		m.Area = float64(o.H * o.W)
	} else {
		m.Area = float64((o.H - 1) * (o.W - 1))
	}
	if m.Area > 0 {
		m.Density = float64(m.Pinwheels) * m.Lambda * m.Lambda / m.Area
	}
	var c4 complex128
	n := float64(len(o.Units))
	for _, u := range o.Units {
		m.Selectivity += u.Strength
		m.Coverage[int(math.Mod(u.Theta+math.Pi/8, math.Pi)/(math.Pi/4))%4] += 1 / n
		c4 += cmplx.Exp(complex(0, 4*u.Theta))
	}
	m.Selectivity /= n
	m.Cardinal = cmplx.Abs(c4) / n
	return m
}

// Smoothed returns the map low-passed as a field: each unit's s·exp(2iθ) (s its Strength)
// replaced by the Gaussian-weighted sum over the map, σ = sigma units (wrapping on a torus,
// renormalized at the edges otherwise), and θ = ½ arg, Strength = |sum|/Σ weights. Noise in the
// single units' orientations makes pairs of spurious pinwheels a plaquette apart; the low-pass
// removes them. (KaschubeDensity filters by BandPass instead, as Kaschube et al. did.)
func (o *OrientationMap) Smoothed(sigma float64) *OrientationMap {
	out := &OrientationMap{H: o.H, W: o.W, Torus: o.Torus, Units: make([]Orientation, len(o.Units))}
	field := make([]complex128, len(o.Units))
	for i, u := range o.Units {
		field[i] = complex(u.Strength, 0) * cmplx.Exp(complex(0, 2*u.Theta))
	}
	reach := int(math.Ceil(3 * sigma))
	for r := range o.H {
		for c := range o.W {
			var s complex128
			var wsum float64
			for dy := -reach; dy <= reach; dy++ {
				for dx := -reach; dx <= reach; dx++ {
					rr, cc := r+dy, c+dx
					if o.Torus {
						rr, cc = (rr%o.H+o.H)%o.H, (cc%o.W+o.W)%o.W
					} else if rr < 0 || rr >= o.H || cc < 0 || cc >= o.W {
						continue
					}
					w := math.Exp(-float64(dx*dx+dy*dy) / (2 * sigma * sigma))
					s += complex(w, 0) * field[rr*o.W+cc]
					wsum += w
				}
			}
			u := &out.Units[r*o.W+c]
			u.Theta = math.Mod(cmplx.Phase(s)/2+math.Pi, math.Pi)
			u.Strength = cmplx.Abs(s) / wsum
			u.Freq = o.Units[r*o.W+c].Freq
		}
	}
	return out
}
