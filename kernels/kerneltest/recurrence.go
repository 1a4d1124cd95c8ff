package kerneltest

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// recurrenceSizes are (B, m, T) of the ShrinkRecurrence cases: single samples, units and steps,
// odd sizes, a long recurrence (60 steps of 300 units: past what a GPU invocation may loop over in
// one dispatch on Mesa llvmpipe, so a backend splits the steps), and many units (2,100: past
// what one work group covers, so a backend tiles the units and runs one step per dispatch).
var recurrenceSizes = []struct {
	b, m, steps int
	big, long   bool // long: -short runs its first variant only
}{
	{1, 1, 1, false, false},
	{3, 7, 1, false, false},
	{2, 7, 2, false, false},
	{5, 33, 4, false, false},
	{33, 7, 11, false, false},
	{9, 400, 11, false, false},
	{17, 300, 60, false, true},
	{3, 2100, 3, true, false},
}

// recurrenceInputs draws the drive c [b,m] ~ N(0,1), S [m,m] ~ N(0, 0.7²/m) (a contraction, so
// the codes stay of order 1 over many steps) and θ [m] in [0, 0.5) with θ[0] = 0 and, from 3
// units on, θ[m−1] = −0.1 (a bias that lets a unit through below zero).
func (c *tc) recurrenceInputs(b, m int) (cv, s, theta []float32) {
	cv = c.normal(b*m, 1)
	s = c.normal(m*m, 0.7/math.Sqrt(float64(m)))
	theta = c.uniform(m, 0, 0.5)
	theta[0] = 0
	if m >= 3 {
		theta[m-1] = -0.1
	}
	return cv, s, theta
}

// testRecurrence: ShrinkRecurrence, each step checked against one float64 step from the backend's
// own previous step (so that a unit near its threshold cannot flip the rest of the comparison),
// and ShrinkRecurrenceBackward likewise, with and without gsign; finite differences of the
// encoder's gradients in c, S and θ through both ops.
func testRecurrence(s *suite) {
	for _, sz := range recurrenceSizes {
		for _, nonNeg := range []bool{true, false} {
			h := "soft"
			if nonNeg {
				h = "pos"
			}
			name := fmt.Sprintf("B%d-m%d-T%d/%s", sz.b, sz.m, sz.steps, h)
			first := nonNeg // the first variant: non-negative, and gsign given
			s.run("ShrinkRecurrence/"+name, sz.big || sz.long && !first, func(c *tc) { c.recurrenceForward(sz.b, sz.m, sz.steps, nonNeg) })
			for _, withSign := range []bool{true, false} {
				bname := name
				if !withSign {
					bname += "/gsign=nil"
				}
				s.run("ShrinkRecurrenceBackward/"+bname, sz.big || sz.long && !(first && withSign), func(c *tc) {
					c.recurrenceBackward(sz.b, sz.m, sz.steps, nonNeg, withSign)
				})
			}
		}
	}
	for _, nonNeg := range []bool{true, false} {
		s.run(fmt.Sprintf("ShrinkRecurrenceBackward/FiniteDifferences/nonNegative=%v", nonNeg), false, func(c *tc) {
			c.recurrenceGradients(2, 5, 3, nonNeg)
		})
	}
}

func (c *tc) recurrenceForward(b, m, steps int, nonNeg bool) {
	const op = "ShrinkRecurrence"
	cv, sv, theta := c.recurrenceInputs(b, m)
	ct, st, tt := c.in("c", cv, b, m), c.in("s", sv, m, m), c.in("theta", theta, m)
	zs, code := c.out("zs", nil, steps-1, b, m), c.out("code", nil, b, m)
	c.b.ShrinkRecurrence(zs, code, ct, st, tt, nonNeg)
	c.settle(op)
	got32 := c.get(zs)
	got := f64(got32)
	// Step t is checked from the backend's z^{t−1} (z⁰ = 0).
	n := b * m
	want, scale := make([]float64, (steps-1)*n), make([]float64, (steps-1)*n)
	var wantCode, scaleCode []float64
	prev := make([]float64, n)
	for t := 1; t <= steps; t++ {
		zt, sc := refShrinkStep(b, m, f64(cv), prev, f64(sv), f64(theta), nonNeg)
		if t == steps {
			wantCode, scaleCode = zt, sc
			break
		}
		copy(want[(t-1)*n:], zt)
		copy(scale[(t-1)*n:], sc)
		prev = got[(t-1)*n : t*n]
	}
	// A dot product of m terms plus c and θ, then h, which is 1-Lipschitz.
	tl := tol{0, sumTol(m + 2)}
	c.compare(op, "zs", zs.Shape(), got32, want, scale, tl)
	c.expect(op, "code", code, wantCode, scaleCode, tl)
}

func (c *tc) recurrenceBackward(b, m, steps int, nonNeg, withSign bool) {
	const op = "ShrinkRecurrenceBackward"
	cv, sv, theta := c.recurrenceInputs(b, m)
	zs64, code64 := refShrinkRecurrence(b, m, steps, f64(cv), f64(sv), f64(theta), nonNeg, round32)
	delta := c.normal(b*m, 1)
	dt, zt, codet, st := c.in("delta", delta, b, m), c.in("zs", f32(zs64), steps-1, b, m), c.in("code", f32(code64), b, m), c.in("s", sv, m, m)
	g, gsum := c.out("g", nil, steps-1, b, m), c.out("gsum", nil, b, m)
	var gsign kernels.Tensor
	if withSign {
		gsign = c.out("gsign", nil, b, m)
	}
	c.b.ShrinkRecurrenceBackward(g, gsum, gsign, dt, zt, codet, st)
	c.settle(op)
	got32 := c.get(g)
	got := f64(got32)
	n := b * m
	// g^T = δ⊙[z^T ≠ 0] exactly; g^t from the backend's g^{t+1}, and g¹ (which only the sums
	// hold) likewise; the sums from the backend's g^t.
	want, scale := make([]float64, (steps-1)*n), make([]float64, (steps-1)*n)
	sum, sumSign, sumScale := make([]float64, n), make([]float64, n), make([]float64, n)
	var next []float64 // the backend's g^{t+1}
	for t := steps; t >= 1; t-- {
		z := code64
		if t < steps {
			z = zs64[(t-1)*n : t*n]
		}
		var gt, sc []float64
		if t == steps {
			gt, sc = make([]float64, n), make([]float64, n)
			for i := range n {
				if z[i] != 0 {
					gt[i] = float64(delta[i])
				}
			}
		} else {
			gt, sc = refShrinkBackStep(b, m, next, z, f64(sv))
		}
		if t >= 2 {
			copy(want[(t-2)*n:], gt)
			copy(scale[(t-2)*n:], sc)
			gt = got[(t-2)*n : (t-1)*n]
			next = gt
		}
		for i, v := range gt {
			sum[i] += v
			sumSign[i] += sign(z[i]) * v
			sumScale[i] += math.Abs(v) + sc[i]
		}
	}
	c.compare(op, "g", g.Shape(), got32, want, scale, tol{0, sumTol(m)})
	c.expect(op, "gsum", gsum, sum, sumScale, tol{0, sumTol(m + steps)})
	if withSign {
		c.expect(op, "gsign", gsign, sumSign, sumScale, tol{0, sumTol(m + steps)})
	}
}

// recurrenceGradients checks ∂⟨r, z^T⟩ by central differences in c, S and θ against the
// gradients the backward op gives: gsum, gᵀ·zs and −Σ_rows gsign. The inputs are drawn until
// every pre-activation of every step is at least 0.1 away from h's kinks, so that the steps
// (0.01 in c and θ, 0.002 in S) stay on one linear piece of h.
func (c *tc) recurrenceGradients(b, m, steps int, nonNeg bool) {
	const op = "ShrinkRecurrenceBackward"
	var cv, sv, theta []float32
	for try := 0; ; try++ {
		if try == 10000 {
			c.t.Fatalf("%s %s: no inputs away from the kinks in %d draws", op, c.name, try)
		}
		cv, sv, theta = c.recurrenceInputs(b, m)
		if recurrenceClearOfKinks(b, m, steps, f64(cv), f64(sv), f64(theta), nonNeg, 0.1) {
			break
		}
	}
	// run returns code for (c, S, θ), and, given r, the three gradients.
	run := func(cx, sx, tx, r []float64) (code, dc, ds, dth []float64) {
		s := c.scope()
		defer s.free()
		ct, st, tt := s.in("c", f32(cx), b, m), s.in("s", f32(sx), m, m), s.in("theta", f32(tx), m)
		zs, codet := s.out("zs", nil, steps-1, b, m), s.out("code", nil, b, m)
		s.b.ShrinkRecurrence(zs, codet, ct, st, tt, nonNeg)
		s.settle("ShrinkRecurrence")
		code = f64(s.get(codet))
		if r == nil {
			return code, nil, nil, nil
		}
		rt := s.in("r", f32(r), b, m)
		g, gsum, gsign := s.out("g", nil, steps-1, b, m), s.out("gsum", nil, b, m), s.out("gsign", nil, b, m)
		s.b.ShrinkRecurrenceBackward(g, gsum, gsign, rt, zs, codet, st)
		s.settle(op)
		gv, zv, sg := f64(s.get(g)), f64(s.get(zs)), f64(s.get(gsign))
		ds = refGemm(true, false, m, m, (steps-1)*b, 1, gv, zv, 0, nil) // gᵀ·zs
		dth = make([]float64, m)
		for i, v := range sg {
			dth[i%m] -= v
		}
		return code, f64(s.get(gsum)), ds, dth
	}
	c64, s64, t64 := f64(cv), f64(sv), f64(theta)
	c.gradCheck(op, "c (gsum)", gradProblem{
		x:    c64,
		fwd:  func(x []float64) []float64 { y, _, _, _ := run(x, s64, t64, nil); return y },
		back: func(x, r []float64) []float64 { _, g, _, _ := run(x, s64, t64, r); return g },
		h:    0.01, rtol: 1e-3,
	})
	c.gradCheck(op, "S (gᵀ·zs)", gradProblem{
		x:    s64,
		fwd:  func(x []float64) []float64 { y, _, _, _ := run(c64, x, t64, nil); return y },
		back: func(x, r []float64) []float64 { _, _, g, _ := run(c64, x, t64, r); return g },
		h:    0.002, rtol: 1e-3,
	})
	c.gradCheck(op, "theta (−Σ gsign)", gradProblem{
		x:    t64,
		fwd:  func(x []float64) []float64 { y, _, _, _ := run(c64, s64, x, nil); return y },
		back: func(x, r []float64) []float64 { _, _, _, g := run(c64, s64, x, r); return g },
		h:    0.01, rtol: 1e-3,
	})
}

// recurrenceClearOfKinks reports whether every pre-activation v of every step of the float64
// recurrence is at least margin away from h's kinks: θ (one-sided), ±θ and 0 (two-sided).
func recurrenceClearOfKinks(b, m, steps int, c, s, theta []float64, nonNeg bool, margin float64) bool {
	z := make([]float64, b*m)
	for range steps {
		// The pre-activation c + z·Sᵀ is the step with no threshold and no shrinkage.
		v, _ := refShrinkStep(b, m, c, z, s, make([]float64, m), false)
		for i, x := range v {
			th := theta[i%m]
			if nonNeg && math.Abs(x-th) < margin ||
				!nonNeg && (math.Abs(math.Abs(x)-th) < margin || math.Abs(x) < margin) {
				return false
			}
		}
		z, _ = refShrinkStep(b, m, c, z, s, theta, nonNeg)
	}
	return true
}
