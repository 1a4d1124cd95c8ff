package local

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// vectorMap is the map of the complex field z [h·w]: θ = ½ arg z, Strength = |z|.
func vectorMap(z []complex128, h, w int, torus bool) *OrientationMap {
	o := &OrientationMap{H: h, W: w, Torus: torus, Units: make([]Orientation, len(z))}
	for i, c := range z {
		o.Units[i] = Orientation{Theta: math.Mod(cmplx.Phase(c)/2+math.Pi, math.Pi), Strength: cmplx.Abs(c)}
	}
	return o
}

// planeWaves is z(x) = Σ_j c_j exp(2πi k_j·x) on an h×w grid (x = (column, row)), the c_j
// independent standard complex Gaussians: a Gaussian random field whose spectrum is the wave
// vectors k [j] = (kx, ky), cycles per unit.
func planeWaves(rng *rand.Rand, k [][2]float64, h, w int) []complex128 {
	c := make([]complex128, len(k))
	for j := range c {
		c[j] = complex(rng.NormFloat64(), rng.NormFloat64())
	}
	z := make([]complex128, h*w)
	for r := range h {
		for q := range w {
			var s complex128
			for j, kj := range k {
				s += c[j] * cmplx.Exp(complex(0, 2*math.Pi*(kj[0]*float64(q)+kj[1]*float64(r))))
			}
			z[r*w+q] = s
		}
	}
	return z
}

// ring5 is the twelve integer wave vectors of length 5, scaled by 1/80·mult cycles per unit:
// on an 80·mult torus, a ring of wavelength 16·mult.
func ring5(mult float64) [][2]float64 {
	var k [][2]float64
	for _, m := range [][2]float64{{5, 0}, {0, 5}, {-5, 0}, {0, -5}, {3, 4}, {4, 3}, {-3, 4}, {-4, 3}, {3, -4}, {4, -3}, {-3, -4}, {-4, -3}} {
		k = append(k, [2]float64{m[0] / (80 * mult), m[1] / (80 * mult)})
	}
	return k
}

// TestFitPeak: Eq. 7 fitted to a spectrum made by Eq. 7 itself recovers its coefficients, and a
// spectrum with all its power in one ring gives that ring.
func TestFitPeak(t *testing.T) {
	want := [6]float64{5, 9.3, 2.2, 1.5, -0.04, 0.0008}
	p := make([]float64, 29)
	for r := 1; r < len(p); r++ {
		x := float64(r)
		p[r] = want[0]*math.Exp(-(x-want[1])*(x-want[1])/(2*want[2]*want[2])) + want[3] + want[4]*x + want[5]*x*x
	}
	got, ok := fitPeak(p)
	if !ok {
		t.Fatal("no fit")
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-4*math.Max(1, math.Abs(want[i])) {
			t.Errorf("a%d = %.6g, want %g (fit %v)", i, got[i], want[i], got)
		}
	}
	spike := make([]float64, 29)
	spike[7] = 1
	if got, ok := fitPeak(spike); !ok || math.Abs(got[1]-7) > 1e-3 {
		t.Errorf("one ring at 7: fit %v (ok %v), want a1 = 7", got, ok)
	}
	if _, ok := fitPeak(make([]float64, 6)); ok {
		t.Error("a spectrum of 5 rings was fitted")
	}
}

// TestDensityRingField: a Gaussian random field whose spectrum is a ring of radius 1/Λ has π
// pinwheels per Λ² in expectation (its zeros have density ⟨k²⟩/4π, k in radians per unit; Berry &
// Dennis 2000, Wolf & Geisel 1998). On an 80×80 torus the twelve integer wave vectors of length 5
// (Λ = 16); over 16 maps (about 1,250 pinwheels) the procedure must measure Λ within 1% on each
// and the mean density within 10% of π. A square lattice of pinwheels has 4 per Λ² exactly, so
// the procedure does not return π for every field.
func TestDensityRingField(t *testing.T) {
	const n, lambda = 80, 16.0
	ring := ring5(1)
	rng := rand.New(rand.NewPCG(13, 2010))
	var sum, count float64
	for i := range 16 {
		d := vectorMap(planeWaves(rng, ring, n, n), n, n, true).KaschubeDensity()
		if !d.Fit.OK || math.Abs(d.Lambda-lambda) > 0.01*lambda {
			t.Errorf("map %d: Λ = %.4g (fit %v), want %g", i, d.Lambda, d.Fit.OK, lambda)
		}
		if d.Plus != d.Minus || d.Area != n*n {
			t.Errorf("map %d: %d + and %d − pinwheels in %g plaquettes; want equal numbers on the whole torus", i, d.Plus, d.Minus, d.Area)
		}
		sum += d.Density
		count += float64(d.Pinwheels)
	}
	mean := sum / 16
	t.Logf("ring field: %.0f pinwheels in 16 maps, %.3f per Λ² (π = 3.142)", count, mean)
	if math.Abs(mean-math.Pi) > 0.1*math.Pi {
		t.Errorf("ring field: %.3f pinwheels per Λ², want π within 10%%", mean)
	}
	lat := make([]complex128, 64*64)
	for r := range 64 {
		for q := range 64 {
			lat[r*64+q] = complex(math.Cos(2*math.Pi*(float64(q)+0.5)/16), math.Cos(2*math.Pi*(float64(r)+0.5)/16))
		}
	}
	if d := vectorMap(lat, 64, 64, true).KaschubeDensity(); d.Pinwheels != 64 || math.Abs(d.Density-4) > 0.04 {
		t.Errorf("lattice: %d pinwheels, Λ = %.4g, %.4g per Λ²; want 64, 16, 4", d.Pinwheels, d.Lambda, d.Density)
	}
}

// TestDensityOpenMap: the same kind of field but not periodic (twelve wave vectors of length 1/16
// in evenly spaced directions, turned at random), measured as a map with edges: only plaquettes Λ
// or more from the border count, and over 12 maps of 96×96 (about 600 pinwheels counted) the mean
// density must be within 15% of π.
func TestDensityOpenMap(t *testing.T) {
	const n, lambda = 96, 16.0
	rng := rand.New(rand.NewPCG(14, 2010))
	var sum float64
	for i := range 12 {
		turn := 2 * math.Pi * rng.Float64()
		var k [][2]float64
		for j := range 12 {
			a := turn + 2*math.Pi*float64(j)/12
			k = append(k, [2]float64{math.Cos(a) / lambda, math.Sin(a) / lambda})
		}
		d := vectorMap(planeWaves(rng, k, n, n), n, n, false).KaschubeDensity()
		if m := int(math.Ceil(d.Lambda)); d.Margin != m || d.Area != float64((n-1-2*m)*(n-1-2*m)) {
			t.Errorf("map %d: margin %d, area %g; want %d and %d", i, d.Margin, d.Area, m, (n-1-2*m)*(n-1-2*m))
		}
		sum += d.Density
	}
	mean := sum / 12
	t.Logf("open ring field: %.3f per Λ² (π = 3.142)", mean)
	if math.Abs(mean-math.Pi) > 0.15*math.Pi {
		t.Errorf("open ring field: %.3f pinwheels per Λ², want π within 15%%", mean)
	}
}

// TestBandPassed: the band-pass keeps a field whose spectrum lies inside the band (the same zeros,
// each plaquette's winding) and removes one outside it (a ring of wavelength Λ/4).
func TestBandPassed(t *testing.T) {
	const n = 80
	rng := rand.New(rand.NewPCG(15, 1))
	m := vectorMap(planeWaves(rng, ring5(1), n, n), n, n, true)
	before, after := m.Pinwheels(), m.BandPassed(16).Pinwheels()
	if len(before) == 0 || len(before) != len(after) {
		t.Fatalf("inside the band: %d pinwheels before, %d after", len(before), len(after))
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("pinwheel %+v became %+v", before[i], after[i])
		}
	}
	short := vectorMap(planeWaves(rng, ring5(0.25), n, n), n, n, true)
	var in, out float64
	for i, u := range short.BandPassed(16).Units {
		in, out = math.Max(in, short.Units[i].Strength), math.Max(out, u.Strength)
	}
	if out > 1e-3*in {
		t.Errorf("a ring at Λ/4 passed the band: amplitude %.3g of %.3g left", out, in)
	}
}

// TestPhaseRandomized: a surrogate has the map's power spectrum, ring by ring, but not its field.
func TestPhaseRandomized(t *testing.T) {
	const n = 40
	m := FieldMap(plantedField(n, n, [][2]float64{{10.5, 10.5}, {25.5, 28.5}}, []int{1, -1}), n, n, false)
	s := m.PhaseRandomized(3)
	p, q := m.VectorSpectrum(), s.VectorSpectrum()
	for r := range p {
		if math.Abs(p[r]-q[r]) > 1e-9*math.Max(1, p[r]) {
			t.Errorf("ring %d: power %.6g, surrogate's %.6g", r, p[r], q[r])
		}
	}
	var diff float64
	for i := range m.Units {
		diff += OrientationDifference(m.Units[i].Theta, s.Units[i].Theta)
	}
	if diff /= n * n; diff < 0.5 {
		t.Errorf("the surrogate's orientations differ from the map's by %.3f rad on average; want about π/4", diff)
	}
}

// TestSurrogateDensity: surrogates of a ring field are ring fields: about π per Λ².
func TestSurrogateDensity(t *testing.T) {
	const n = 80
	m := vectorMap(planeWaves(rand.New(rand.NewPCG(16, 1)), ring5(1), n, n), n, n, true)
	mean, sd := m.SurrogateDensity(8)
	t.Logf("surrogates of a ring field: %.3f ± %.3f per Λ²", mean, sd)
	if math.Abs(mean-math.Pi) > 0.15*math.Pi || !(sd > 0) {
		t.Errorf("surrogates of a ring field: %.3f ± %.3f per Λ², want π within 15%% and a spread", mean, sd)
	}
}
