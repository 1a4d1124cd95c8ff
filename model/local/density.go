package local

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
)

// The pinwheel density as Kaschube et al. (Science 330, 2010, supplementary material) measured it
// in tree shrew, galago and ferret cortex, fixed before it was applied to any trained map:
//
//  1. the map is the vector field z = s·exp(2iθ) (s the unit's selectivity), as an imaged
//     orientation map is the vector sum of the responses;
//  2. Λ from its power spectrum: the angular mean P(r) over rings r = 1 … L/2 (L = min(H, W)) is
//     fitted by their Eq. 7, P(r) ≈ a0·exp(−(r − a1)²/(2a2²)) + a3 + a4·r + a5·r² (a peak on a
//     smooth background; the form as the Topographica analysis code, featuremapper's
//     hypercolumns.py, implements and attributes it), and Λ = L/a1;
//  3. the map is band-pass filtered with Fermi filters, keeping wavelengths between
//     BandShort·Λ and BandLong·Λ;
//  4. pinwheels are the ±1 windings of the filtered field; on a non-toroidal map only plaquettes
//     at least ⌈Λ⌉ units from the border count (the DFT filter wraps the map's edges onto each
//     other, and its kernel reaches about Λ);
//  5. density = pinwheels·Λ²/area counted.

// BandLong and BandShort are the band-pass's cut-off wavelengths, in units of Λ: the cut-offs
// the Göttingen group (Kaschube, Wolf and co-workers) used with Λ = 0.68 mm, 1.2 mm and 0.3 mm
// (Schottdorf et al., PLoS Comput Biol 11, e1004602, 2015, Fig. 9D), rounded.
const (
	BandLong  = 1.75
	BandShort = 0.45
)

// SpectrumFit is Kaschube et al.'s Eq. 7 fitted to the map's ring-averaged power spectrum P(r),
// r in rings of 1/L cycles per unit: P(r) ≈ A[0]·exp(−(r − A[1])²/(2A[2]²)) + A[3] + A[4]·r +
// A[5]·r², least squares over the rings 1 … L/2, with A[0] > 0 (a peak, not a dip), A[1] in
// [1, L/2] and A[2] in [½, L/4] (the peak no narrower than half a ring, the spectrum's resolution).
// OK is false when the map is too small (under 8 rings) or no peak fits; Lambda is then
// ColumnSpacing's.
type SpectrumFit struct {
	A      [6]float64
	OK     bool
	Lambda float64 // L/A[1], units of the map
}

// vectorField is z = s·exp(2iθ) of every unit.
func (o *OrientationMap) vectorField() []complex128 {
	z := make([]complex128, len(o.Units))
	for i, u := range o.Units {
		z[i] = complex(u.Strength, 0) * cmplx.Exp(complex(0, 2*u.Theta))
	}
	return z
}

// VectorSpectrum is the ring-averaged power spectrum of the vector field z = s·exp(2iθ), as
// Spectrum is of exp(2iθ): Power[r] for the rings r = 0 … L/2 of width 1/L cycles per unit.
func (o *OrientationMap) VectorSpectrum() []float64 { return ringSpectrum(o.vectorField(), o.H, o.W) }

// Eq7 is the fitted curve at ring r.
func (f SpectrumFit) Eq7(r float64) float64 {
	a := f.A
	return a[0]*math.Exp(-(r-a[1])*(r-a[1])/(2*a[2]*a[2])) + a[3] + a[4]*r + a[5]*r*r
}

// FitSpectrum fits Eq. 7 to VectorSpectrum.
func (o *OrientationMap) FitSpectrum() SpectrumFit {
	if a, ok := fitPeak(o.VectorSpectrum()); ok {
		return SpectrumFit{A: a, OK: true, Lambda: float64(min(o.H, o.W)) / a[1]}
	}
	return SpectrumFit{Lambda: o.ColumnSpacing()}
}

// fitPeak fits Eq. 7 to p[1:] (p[r] the power of ring r), as SpectrumFit describes.
func fitPeak(p []float64) ([6]float64, bool) {
	n := len(p) - 1 // rings 1 … n
	if n < 8 {
		return [6]float64{}, false
	}
	var top float64
	for _, v := range p[1:] {
		top = math.Max(top, v)
	}
	if top == 0 {
		return [6]float64{}, false
	}
	r := make([]float64, n)
	y := make([]float64, n)
	for i := range n {
		r[i], y[i] = float64(i+1), p[i+1]/top
	}
	lo2, hi2 := 0.5, float64(n)/2
	sse := func(a1, a2 float64) (float64, [6]float64, bool) {
		if a1 < 1 || a1 > float64(n) || a2 < lo2 || a2 > hi2 {
			return math.Inf(1), [6]float64{}, false
		}
		return linearFit(r, y, a1, a2)
	}
	// A grid over the peak's position and width (the other four are linear), then a pattern
	// search from the best point of the grid.
	best, b1, b2 := math.Inf(1), 0.0, 0.0
	for i := 0; 1+0.1*float64(i) <= float64(n); i++ {
		a1 := 1 + 0.1*float64(i)
		for k := range 32 {
			a2 := lo2 * math.Pow(hi2/lo2, float64(k)/31)
			if e, _, ok := sse(a1, a2); ok && e < best {
				best, b1, b2 = e, a1, a2
			}
		}
	}
	if math.IsInf(best, 1) {
		return [6]float64{}, false
	}
	for s1, s2 := 0.05, 0.05; s1 > 1e-9; {
		moved := false
		for _, d := range [][2]float64{{s1, 0}, {-s1, 0}, {0, s2}, {0, -s2}} {
			c1, c2 := b1+d[0], b2*math.Exp(d[1])
			if e, _, ok := sse(c1, c2); ok && e < best {
				best, b1, b2, moved = e, c1, c2, true
			}
		}
		if !moved {
			s1, s2 = s1/2, s2/2
		}
	}
	_, a, _ := sse(b1, b2)
	for _, i := range []int{0, 3, 4, 5} {
		a[i] *= top
	}
	return a, true
}

// linearFit solves for a0, a3, a4, a5 of Eq. 7 by least squares with a1, a2 fixed and returns the
// residual sum of squares and the six coefficients; ok is false when a0 ≤ 0 or the system is
// singular.
func linearFit(r, y []float64, a1, a2 float64) (float64, [6]float64, bool) {
	var m [4][5]float64 // normal equations [AᵀA | Aᵀy], columns g, 1, u, u² (u = r/n)
	n := float64(len(r))
	g := make([]float64, len(r))
	for i, x := range r {
		g[i] = math.Exp(-(x - a1) * (x - a1) / (2 * a2 * a2))
		u := x / n
		b := [4]float64{g[i], 1, u, u * u}
		for j := range 4 {
			for k := range 4 {
				m[j][k] += b[j] * b[k]
			}
			m[j][4] += b[j] * y[i]
		}
	}
	for c := range 4 {
		piv := c
		for j := c + 1; j < 4; j++ {
			if math.Abs(m[j][c]) > math.Abs(m[piv][c]) {
				piv = j
			}
		}
		if math.Abs(m[piv][c]) < 1e-12 {
			return math.Inf(1), [6]float64{}, false
		}
		m[c], m[piv] = m[piv], m[c]
		for j := range 4 {
			if j != c {
				f := m[j][c] / m[c][c]
				for k := c; k < 5; k++ {
					m[j][k] -= f * m[c][k]
				}
			}
		}
	}
	var x [4]float64
	for c := range 4 {
		x[c] = m[c][4] / m[c][c]
	}
	if x[0] <= 0 {
		return math.Inf(1), [6]float64{}, false
	}
	var e float64
	for i, ri := range r {
		u := ri / n
		d := y[i] - (x[0]*g[i] + x[1] + x[2]*u + x[3]*u*u)
		e += d * d
	}
	return e, [6]float64{x[0], a1, a2, x[1], x[2] / n, x[3] / (n * n)}, true
}

// fermi is the Fermi function 1/(1 + exp((k − kc)/w)): 1 well below kc, 0 well above.
func fermi(k, kc, w float64) float64 { return 1 / (1 + math.Exp((k-kc)/w)) }

// BandPassed is BandPass with Kaschube et al.'s cut-offs, BandLong·lambda and BandShort·lambda.
func (o *OrientationMap) BandPassed(lambda float64) *OrientationMap {
	return o.BandPass(BandLong*lambda, BandShort*lambda)
}

// BandPass filters the vector field z = s·exp(2iθ) by the product of a Fermi high-pass and a
// Fermi low-pass in frequency, cutting at the wavelengths long and short (units of the map), each
// edge one ring (1/L cycles per unit, L = min(H, W), the spectrum's resolution) wide, and returns
// the map of the filtered field: θ = ½ arg z, Strength = |z|. The DFT makes the filter periodic:
// exact on a torus, and wrapping the map's edges onto each other otherwise.
func (o *OrientationMap) BandPass(long, short float64) *OrientationMap {
	f := dft2(o.vectorField(), o.H, o.W)
	kLong, kShort := 1/long, 1/short
	w := 1 / float64(min(o.H, o.W))
	for u := range o.H {
		fy := signedFreq(u, o.H)
		for v := range o.W {
			k := math.Hypot(fy, signedFreq(v, o.W))
			f[u*o.W+v] *= complex((1-fermi(k, kLong, w))*fermi(k, kShort, w), 0)
		}
	}
	return fromSpectrum(f, o)
}

// fromSpectrum is the map of the field whose DFT is f (overwritten), on o's grid: θ = ½ arg z,
// Strength = |z|, Freq from o. The inverse DFT is the conjugate of the forward DFT of the
// conjugate, scaled by 1/(H·W).
func fromSpectrum(f []complex128, o *OrientationMap) *OrientationMap {
	for i := range f {
		f[i] = cmplx.Conj(f[i])
	}
	z := dft2(f, o.H, o.W)
	out := &OrientationMap{H: o.H, W: o.W, Torus: o.Torus, Units: make([]Orientation, len(o.Units))}
	scale := 1 / float64(o.H*o.W)
	for i, c := range z {
		c = cmplx.Conj(c)
		out.Units[i] = Orientation{Theta: math.Mod(cmplx.Phase(c)/2+math.Pi, math.Pi), Strength: cmplx.Abs(c) * scale,
			Freq: o.Units[i].Freq}
	}
	return out
}

// PinwheelDensity is the outcome of Kaschube et al.'s procedure (the comment at the top of
// density.go) on one map.
type PinwheelDensity struct {
	Fit         SpectrumFit
	Lambda      float64 // Λ, units of the map (Fit.Lambda)
	Margin      int     // plaquettes nearer the border than this many units were not counted (0 on a torus)
	Pinwheels   int
	Plus, Minus int
	Area        float64         // plaquettes counted
	Density     float64         // Pinwheels·Λ²/Area
	Filtered    *OrientationMap // the band-passed map
}

// KaschubeDensity measures the map's pinwheel density by Kaschube et al.'s procedure.
func (o *OrientationMap) KaschubeDensity() PinwheelDensity {
	fit := o.FitSpectrum()
	d := PinwheelDensity{Fit: fit, Lambda: fit.Lambda}
	if d.Lambda <= 0 {
		return d
	}
	d.Filtered = o.BandPassed(d.Lambda)
	hr, wr := o.H-1, o.W-1 // plaquettes (r, c), r < hr, c < wr
	lo := 0
	if o.Torus {
		hr, wr = o.H, o.W
	} else {
		d.Margin = int(math.Ceil(d.Lambda))
		lo = d.Margin
		hr, wr = o.H-1-d.Margin, o.W-1-d.Margin // the plaquette's far corner (r+1) ≤ H−1−margin
	}
	if hr <= lo || wr <= lo {
		return d
	}
	d.Area = float64((hr - lo) * (wr - lo))
	for _, p := range d.Filtered.Pinwheels() {
		if p.Row < lo || p.Row >= hr || p.Col < lo || p.Col >= wr {
			continue
		}
		d.Pinwheels++
		if p.Sign > 0 {
			d.Plus++
		} else {
			d.Minus++
		}
	}
	d.Density = float64(d.Pinwheels) * d.Lambda * d.Lambda / d.Area
	return d
}

// PhaseRandomized is a surrogate of the map with the same power spectrum and no other structure:
// the DFT of its vector field z = s·exp(2iθ) with every coefficient's phase drawn anew (uniform,
// from a generator seeded by seed), transformed back (θ = ½ arg, Strength = |z|). Measured by the
// same procedure, surrogates tell what pinwheel density the spectrum alone implies, as for a
// Gaussian random field (π per Λ² only for a thin ring of wavelength Λ; more for a broad band).
func (o *OrientationMap) PhaseRandomized(seed uint64) *OrientationMap {
	rng := rand.New(rand.NewPCG(seed, 0x5a5a))
	f := dft2(o.vectorField(), o.H, o.W)
	for i, c := range f {
		s, co := math.Sincos(2 * math.Pi * rng.Float64())
		f[i] = complex(cmplx.Abs(c), 0) * complex(co, s)
	}
	return fromSpectrum(f, o)
}

// SurrogateDensity is the mean and standard deviation of the KaschubeDensity of n PhaseRandomized
// surrogates of the map (seeds 1 … n).
func (o *OrientationMap) SurrogateDensity(n int) (mean, sd float64) {
	d := make([]float64, n)
	for i := range d {
		d[i] = o.PhaseRandomized(uint64(i + 1)).KaschubeDensity().Density
		mean += d[i] / float64(n)
	}
	for _, v := range d {
		sd += (v - mean) * (v - mean)
	}
	if n > 1 {
		sd = math.Sqrt(sd / float64(n-1))
	}
	return mean, sd
}
