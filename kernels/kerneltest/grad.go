package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// A gradProblem states that back(x, r) is the gradient of the scalar f(x) = ⟨fwd(x), r⟩. It is
// checked by central differences along three directions d, the gradient itself (scaled to
// max|dᵢ| = 1) and two random ones (dᵢ uniform in [−1, 1]): f(x⁺) − f(x⁻) must equal
// ⟨back(x, r), x⁺ − x⁻⟩, where x± = x ± h·d are the points actually evaluated (rounded to
// float32 for a device), so the rounding of the points costs nothing. For a nonlinear fwd this is
// also the Jacobian adjoint test ⟨J·d, r⟩ = ⟨d, Jᵀ·r⟩ with J·d by finite differences.
type gradProblem struct {
	x    []float64                      // the point
	fwd  func(x []float64) []float64    // forward, as many outputs as r
	back func(x, r []float64) []float64 // claimed gradient of ⟨fwd(x), r⟩, len(x) values
	r    []float64                      // cotangent; nil draws r ~ N(0,1)
	h    float64                        // step; 1 is exact for linear fwd
	rtol float64                        // relative to Σ|gᵢ·Δxᵢ|
	f32  bool                           // fwd and back run in float32
}

// check returns one message per failing direction (none when the gradient is right) and the
// largest |Δf − ⟨g, Δx⟩|/tol over the directions.
//
// Tolerance: |Δf − ⟨g, Δx⟩| ≤ rtol·Σ|gᵢ·Δxᵢ| + noise. For float64, noise is 0 and rtol covers
// the truncation error O(h²). For float32, noise = 64·eps32·Σ|rᵢ|(|y⁺ᵢ| + |y⁻ᵢ|) bounds the
// rounding of the two forward evaluations, whose difference is what the step resolves.
func (p gradProblem) check(rng *rand.Rand) (fails []string, worst float64) {
	const dirs = 3
	round := func(x []float64) []float64 { return x }
	if p.f32 {
		round = round32
	}
	x := round(p.x)
	y0 := p.fwd(x)
	r := p.r
	if r == nil {
		r = make([]float64, len(y0))
		for i := range r {
			r[i] = rng.NormFloat64()
		}
		r = round(r)
	}
	g := p.back(x, r)
	if len(g) != len(x) {
		return []string{fmt.Sprintf("gradient has %d values, the point %d", len(g), len(x))}, math.Inf(1)
	}
	for d := 0; d < dirs; d++ {
		dir := make([]float64, len(x))
		for i := range dir {
			dir[i] = 2*rng.Float64() - 1
		}
		if gmax := maxAbs(g); d == 0 && gmax > 0 {
			// Along the gradient itself, ⟨g, Δx⟩ = Σ|gᵢ·Δxᵢ|: any error in the gradient's
			// overall scale shows in full.
			for i := range dir {
				dir[i] = g[i] / gmax
			}
		}
		xp, xm := make([]float64, len(x)), make([]float64, len(x))
		for i := range x {
			xp[i], xm[i] = x[i]+p.h*dir[i], x[i]-p.h*dir[i]
		}
		xp, xm = round(xp), round(xm)
		yp, ym := p.fwd(xp), p.fwd(xm)
		df := dot(yp, r) - dot(ym, r)
		lin, scale := 0.0, 0.0
		for i := range x {
			lin += g[i] * (xp[i] - xm[i])
			scale += math.Abs(g[i] * (xp[i] - xm[i]))
		}
		noise := 0.0
		if p.f32 {
			noise = 64 * eps32 * (dotAbs(yp, r) + dotAbs(ym, r))
		}
		lim := p.rtol*scale + noise
		worst = max(worst, math.Abs(df-lin)/lim)
		if diff := math.Abs(df - lin); !(diff <= lim) {
			fails = append(fails, fmt.Sprintf(
				"direction %d (step %g): finite difference %.9g, gradient·Δx %.9g: |diff| %.3g > tol %.3g = rtol %.3g × Σ|g·Δx| %.3g + noise %.3g",
				d, p.h, df, lin, diff, lim, p.rtol, scale, noise))
		}
	}
	return fails, worst
}

// adjointCheck compares ⟨A x, y⟩ with ⟨x, Aᵀ y⟩, given Ax, x, y, Aᵀy and the value of the same
// pairing on absolute values (⟨|A||x|, |y|⟩), which bounds what rounding can do to either side.
func adjointCheck(ax, y, x, aty []float64, absPairing, rtol float64) (lhs, rhs, lim float64, ok bool) {
	lhs, rhs = dot(ax, y), dot(x, aty)
	lim = rtol * absPairing
	return lhs, rhs, lim, math.Abs(lhs-rhs) <= lim
}

// gradCheck runs p on the backend (float32) and reports each failing direction.
func (c *tc) gradCheck(op, arg string, p gradProblem) {
	c.t.Helper()
	p.f32 = true
	fails, worst := p.check(c.rng)
	for _, m := range fails {
		c.t.Errorf("%s %s: gradient in %s: %s", op, c.name, arg, m)
	}
	c.margin(op, "gradient in "+arg, worst)
}

// adjoint reports a failing dot-product test of a backend's forward/backward pair.
func (c *tc) adjoint(op string, ax, y, x, aty []float64, absPairing, rtol float64) {
	c.t.Helper()
	lhs, rhs, lim, ok := adjointCheck(ax, y, x, aty, absPairing, rtol)
	c.margin(op, "adjoint test", math.Abs(lhs-rhs)/lim)
	if !ok {
		c.t.Errorf("%s %s: adjoint test: ⟨A x, y⟩ = %.9g, ⟨x, Aᵀ y⟩ = %.9g, |diff| %.3g > tol %.3g = rtol %.3g × ⟨|A||x|, |y|⟩ %.3g",
			op, c.name, lhs, rhs, math.Abs(lhs-rhs), lim, rtol, absPairing)
	}
}

// eval runs f in a fresh scope whose tensors are freed when it returns; finite differences use it
// to run an op many times.
func (c *tc) eval(f func(s *tc) []float64) []float64 {
	s := c.scope()
	defer s.free()
	return f(s)
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}
