package local

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gabor is a side×side Gabor filter whose stripes run at angle alpha (from the x axis, towards
// the rows), of frequency f cycles per pixel and envelope σ.
func gabor(side int, alpha, f, sigma, phase float64) []float32 {
	g := make([]float32, side*side)
	c := float64(side-1) / 2
	for r := range side {
		for q := range side {
			x, y := float64(q)-c, float64(r)-c
			u := -x*math.Sin(alpha) + y*math.Cos(alpha)
			g[r*side+q] = float32(math.Exp(-(x*x+y*y)/(2*sigma*sigma)) * math.Cos(2*math.Pi*f*u+phase))
		}
	}
	return g
}

// TestFilterOrientation: Gabors at known angles and frequencies are measured within 2° and 15%,
// strongly tuned; a centre–surround filter and noise are weakly tuned.
func TestFilterOrientation(t *testing.T) {
	for _, deg := range []float64{0, 10, 30, 45, 60, 90, 120, 135, 170} {
		alpha := deg * math.Pi / 180
		o := FilterOrientation(gabor(12, alpha, 0.2, 2.5, 0.3), 12)
		if d := OrientationDifference(o.Theta, alpha) * 180 / math.Pi; d > 2 {
			t.Errorf("Gabor at %g°: θ = %.2f°, %.2f° off", deg, o.Theta*180/math.Pi, d)
		}
		if o.Strength < 0.8 {
			t.Errorf("Gabor at %g°: strength %.3f < 0.8", deg, o.Strength)
		}
		if math.Abs(o.Freq-0.2) > 0.03 {
			t.Errorf("Gabor at %g°: frequency %.3f, want 0.2", deg, o.Freq)
		}
	}
	// A difference of Gaussians has no orientation.
	dog := make([]float32, 144)
	for r := range 12 {
		for q := range 12 {
			d2 := (float64(r)-5.5)*(float64(r)-5.5) + (float64(q)-5.5)*(float64(q)-5.5)
			dog[r*12+q] = float32(math.Exp(-d2/(2*1.5*1.5)) - 0.25*math.Exp(-d2/(2*3*3)))
		}
	}
	if o := FilterOrientation(dog, 12); o.Strength > 0.1 {
		t.Errorf("centre–surround filter: strength %.3f > 0.1", o.Strength)
	}
	if o := FilterOrientation(make([]float32, 25), 5); o != (Orientation{}) {
		t.Errorf("zero filter: %+v, want the zero Orientation", o)
	}
}

// plantedField is θ = ½ Σ_k s_k·atan2(y − y_k, x − x_k): a pinwheel of sign s_k at each centre.
func plantedField(h, w int, centres [][2]float64, signs []int) []float64 {
	th := make([]float64, h*w)
	for r := range h {
		for c := range w {
			var a float64
			for k, p := range centres {
				a += float64(signs[k]) * math.Atan2(float64(r)-p[0], float64(c)-p[1])
			}
			th[r*w+c] = a / 2
		}
	}
	return th
}

// TestPinwheelsPlanted: five pinwheels planted in a 40×40 map are found exactly, each in the
// plaquette that holds its centre, with its sign; a small perturbation of θ changes nothing.
func TestPinwheelsPlanted(t *testing.T) {
	centres := [][2]float64{{5.5, 6.5}, {12.5, 30.5}, {25.5, 10.5}, {33.5, 33.5}, {20.5, 20.5}}
	signs := []int{1, -1, 1, 1, -1}
	th := plantedField(40, 40, centres, signs)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, noise := range []float64{0, 0.05} {
		noisy := make([]float64, len(th))
		for i, v := range th {
			noisy[i] = v + noise*rng.NormFloat64()
		}
		got := FieldMap(noisy, 40, 40, false).Pinwheels()
		if len(got) != len(centres) {
			t.Fatalf("noise %g: %d pinwheels, want %d: %+v", noise, len(got), len(centres), got)
		}
		for k, p := range centres {
			found := false
			for _, g := range got {
				if r, c := g.Centre(); r == p[0] && c == p[1] {
					found = true
					if g.Sign != signs[k] {
						t.Errorf("pinwheel at %v: sign %d, want %d", p, g.Sign, signs[k])
					}
				}
			}
			if !found {
				t.Errorf("noise %g: no pinwheel found at %v (found %+v)", noise, p, got)
			}
		}
	}
}

// TestColumnSpacingStripes: straight stripes of exp(2iθ) have Λ equal to their wavelength, along
// an axis and obliquely (wave vector (3, 4) on a 64-unit torus: Λ = 64/5), and no pinwheels.
func TestColumnSpacingStripes(t *testing.T) {
	for _, c := range []struct {
		kx, ky int
		want   float64
	}{{8, 0, 8}, {0, 4, 16}, {3, 4, 12.8}} {
		const n = 64
		th := make([]float64, n*n)
		for r := range n {
			for q := range n {
				th[r*n+q] = math.Pi * float64(c.kx*q+c.ky*r) / n // 2θ = 2π k·x/n
			}
		}
		m := FieldMap(th, n, n, true)
		if got := m.ColumnSpacing(); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("wave vector (%d,%d)/%d: Λ = %.6g, want %g", c.kx, c.ky, n, got, c.want)
		}
		if p := m.Pinwheels(); len(p) != 0 {
			t.Errorf("wave vector (%d,%d): %d pinwheels in stripes", c.kx, c.ky, len(p))
		}
	}
}

// TestPinwheelLattice: the field z = cos(2π(x+½)/Λ) + i·cos(2π(y+½)/Λ) has zeros on a square
// lattice, 4 per Λ², of alternating sign, and its power spectrum peaks at |k| = 1/Λ: on a 64×64
// torus with Λ = 16, 64 pinwheels (32 of each sign), Λ measured 16 and 4 pinwheels per Λ².
func TestPinwheelLattice(t *testing.T) {
	const n, lambda = 64, 16.0
	th := make([]float64, n*n)
	for r := range n {
		for q := range n {
			re := math.Cos(2 * math.Pi * (float64(q) + 0.5) / lambda)
			im := math.Cos(2 * math.Pi * (float64(r) + 0.5) / lambda)
			th[r*n+q] = math.Atan2(im, re) / 2
		}
	}
	m := FieldMap(th, n, n, true).Measure()
	t.Logf("%+v", m)
	if m.Pinwheels != 64 || m.Plus != 32 || m.Minus != 32 {
		t.Errorf("%d pinwheels (%d +, %d −), want 64 (32, 32)", m.Pinwheels, m.Plus, m.Minus)
	}
	if math.Abs(m.Lambda-lambda) > 0.01*lambda {
		t.Errorf("Λ = %.4g, want %g", m.Lambda, lambda)
	}
	if math.Abs(m.Density-4) > 0.08 {
		t.Errorf("density %.4g per Λ², want 4", m.Density)
	}
}

// TestSmoothness: exact values on a row of three units; random orientations give a ratio near 1
// and both means near π/4; a smooth map a small ratio.
func TestSmoothness(t *testing.T) {
	s := FieldMap([]float64{0, math.Pi / 4, math.Pi / 2}, 1, 3, false).Smoothness()
	if math.Abs(s.Neighbour-math.Pi/4) > 1e-12 || math.Abs(s.Random-math.Pi/3) > 1e-12 {
		t.Errorf("row of 0, π/4, π/2: %+v, want neighbour π/4, random π/3", s)
	}
	// On a 1×3 torus the third pair (π/2, 0) closes the ring.
	if s := FieldMap([]float64{0, math.Pi / 4, math.Pi / 2}, 1, 3, true).Smoothness(); math.Abs(s.Neighbour-math.Pi/3) > 1e-12 {
		t.Errorf("torus row: neighbour %.6g, want π/3", s.Neighbour)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	th := make([]float64, 32*32)
	for i := range th {
		th[i] = math.Pi * rng.Float64()
	}
	s = FieldMap(th, 32, 32, false).Smoothness()
	if math.Abs(s.Ratio-1) > 0.05 || math.Abs(s.Random-math.Pi/4) > 0.02 {
		t.Errorf("random orientations: %+v, want ratio ≈ 1, random ≈ π/4", s)
	}
	smooth := plantedField(32, 32, [][2]float64{{10.5, 10.5}, {20.5, 22.5}}, []int{1, -1})
	if s := FieldMap(smooth, 32, 32, false).Smoothness(); s.Ratio > 0.3 {
		t.Errorf("smooth map: ratio %.3f > 0.3", s.Ratio)
	}
}

func TestWrapAngle(t *testing.T) {
	for _, c := range [][2]float64{{0, 0}, {math.Pi, math.Pi}, {-math.Pi, math.Pi}, {3 * math.Pi / 2, -math.Pi / 2}, {-3 * math.Pi / 2, math.Pi / 2}, {5, 5 - 2*math.Pi}} {
		if got := wrapAngle(c[0]); math.Abs(got-c[1]) > 1e-12 {
			t.Errorf("wrapAngle(%g) = %g, want %g", c[0], got, c[1])
		}
	}
}

// TestSmoothed: low-passing keeps planted pinwheels and removes the spurious pairs that noise of
// 0.6 rad per unit makes; it keeps the lattice's 64 pinwheels and its Λ.
func TestSmoothed(t *testing.T) {
	centres := [][2]float64{{8.5, 9.5}, {14.5, 30.5}, {28.5, 12.5}, {33.5, 33.5}}
	signs := []int{1, -1, -1, 1}
	th := plantedField(42, 42, centres, signs)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range th {
		th[i] += 0.6 * rng.NormFloat64()
	}
	noisy := FieldMap(th, 42, 42, false)
	raw := len(noisy.Pinwheels())
	got := noisy.Smoothed(2).Pinwheels()
	t.Logf("noisy map: %d pinwheels raw, %d smoothed", raw, len(got))
	if raw <= len(centres) {
		t.Errorf("noise made no spurious pinwheels (%d); the test checks nothing", raw)
	}
	if len(got) != len(centres) {
		t.Fatalf("smoothed: %d pinwheels, want the %d planted: %+v", len(got), len(centres), got)
	}
	for _, g := range got {
		r, c := g.Centre()
		ok := false
		for k, p := range centres {
			if math.Abs(r-p[0]) <= 1 && math.Abs(c-p[1]) <= 1 && g.Sign == signs[k] {
				ok = true
			}
		}
		if !ok {
			t.Errorf("smoothed pinwheel %+v is not one of the planted ones", g)
		}
	}
	const n, lambda = 64, 16.0
	lat := make([]float64, n*n)
	for r := range n {
		for q := range n {
			lat[r*n+q] = math.Atan2(math.Cos(2*math.Pi*(float64(r)+0.5)/lambda), math.Cos(2*math.Pi*(float64(q)+0.5)/lambda)) / 2
		}
	}
	m := FieldMap(lat, n, n, true).Smoothed(lambda / 8).Measure()
	if m.Pinwheels != 64 || math.Abs(m.Lambda-lambda) > 0.01*lambda {
		t.Errorf("smoothed lattice: %d pinwheels, Λ = %.4g; want 64 and %g", m.Pinwheels, m.Lambda, lambda)
	}
}

// TestCoverage: a map of evenly spread orientations covers each quarter of the circle with ¼ of
// its units (Cardinal 0); a map of 0° and 90° only has Cardinal 1, half its units in each of two
// quarters; θ just under π counts with 0°.
func TestCoverage(t *testing.T) {
	th := make([]float64, 64)
	for i := range th {
		th[i] = math.Pi * (float64(i) + 0.5) / 64
	}
	m := FieldMap(th, 8, 8, false).Measure()
	if m.Coverage != [4]float64{0.25, 0.25, 0.25, 0.25} || m.Cardinal > 1e-12 {
		t.Errorf("even orientations: coverage %v, cardinal %.3g; want ¼ each, 0", m.Coverage, m.Cardinal)
	}
	for i := range th {
		th[i] = math.Pi / 2 * float64(i%2)
	}
	th[0] = math.Pi - 0.1
	m = FieldMap(th, 8, 8, false).Measure()
	if m.Coverage != [4]float64{0.5, 0, 0.5, 0} || math.Abs(m.Cardinal-1) > 0.01 {
		t.Errorf("0° and 90°: coverage %v, cardinal %.3g; want ½, 0, ½, 0 and 1", m.Coverage, m.Cardinal)
	}
}
