package kerneltest

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

var shrinkShapes = []struct {
	shape []int
	big   bool
}{
	{[]int{1}, false},
	{[]int{7}, false},
	{[]int{1, 7}, false},
	{[]int{33, 7}, false},
	{[]int{257, 33}, false},
	{[]int{2, 3, 5}, false},
	{[]int{1000, 1000}, true},
}

// shrinkInputs draws θ [m] in [0,1) with θ[0] = 0 and x [n] ~ N(0,1), with every fifth element
// exactly on a kink (±θ, or 0), where the masks [|x| > θ] and [x > θ] must be 0.
func (c *tc) shrinkInputs(n, m int) (x, theta []float32) {
	theta = c.uniform(m, 0, 1)
	theta[0] = 0
	x = c.normal(n, 1)
	for i := 0; i < n; i += 5 {
		x[i] = theta[i%m]
		if (i/5)%2 == 1 {
			x[i] = -x[i]
		}
	}
	return x, theta
}

// smoothShrinkInputs draws x at least 0.05 away from every kink, for finite differences with
// steps of 0.01.
func (c *tc) smoothShrinkInputs(n, m int) (x, theta []float32) {
	theta = c.uniform(m, 0.05, 1)
	x = make([]float32, n)
	for i := range x {
		for {
			v := c.rng.NormFloat64() * 1.5
			if math.Abs(math.Abs(v)-float64(theta[i%m])) > 0.05 && math.Abs(v) > 0.05 {
				x[i] = float32(v)
				break
			}
		}
	}
	return x, theta
}

type shrinkOp struct {
	name     string
	fwd      func(b kernels.Backend, dst, x, theta kernels.Tensor)
	back     func(b kernels.Backend, dx, dtheta, dy, x, theta kernels.Tensor)
	ref      func(m int, x, theta []float64) []float64
	refBack  func(m int, dy, x, theta []float64) ([]float64, []float64)
	backName string
}

var shrinkOps = []shrinkOp{
	{"SoftShrink", kernels.Backend.SoftShrink, kernels.Backend.SoftShrinkBackward, refSoftShrink, refSoftShrinkBackward, "SoftShrinkBackward"},
	{"PosShrink", kernels.Backend.PosShrink, kernels.Backend.PosShrinkBackward, refPosShrink, refPosShrinkBackward, "PosShrinkBackward"},
}

// testShrink: SoftShrink, PosShrink (also in place), their backward ops with and without dθ,
// and finite-difference checks of both gradients.
func testShrink(s *suite) {
	for _, op := range shrinkOps {
		for _, sh := range shrinkShapes {
			shape, n := sh.shape, volume(sh.shape)
			_, m := rowsCols(shape)
			for _, inPlace := range []bool{false, true} {
				name := fmt.Sprintf("%s/%v", op.name, shape)
				if inPlace {
					name += "/dst=x"
				}
				s.run(name, sh.big, func(c *tc) {
					x, theta := c.shrinkInputs(n, m)
					tt := c.in("theta", theta, m)
					var dst, xt kernels.Tensor
					if inPlace {
						dst = c.out("dst", x, shape...)
						xt = dst
					} else {
						xt, dst = c.in("x", x, shape...), c.out("dst", nil, shape...)
					}
					op.fwd(c.b, dst, xt, tt)
					c.settle(op.name)
					// One subtraction: ≤ u of the result.
					c.expect(op.name, "dst", dst, op.ref(m, f64(x), f64(theta)), nil, tol{0, eps32})
				})
			}
			for _, withTheta := range []bool{true, false} {
				name := fmt.Sprintf("%s/%v", op.backName, shape)
				if !withTheta {
					name += "/dtheta=nil"
				}
				s.run(name, sh.big, op.backCase(shape, withTheta))
			}
			if sh.big {
				continue
			}
			s.run(fmt.Sprintf("%s/%v/FiniteDifferences", op.backName, shape), false, func(c *tc) {
				x, theta := c.smoothShrinkInputs(n, m)
				fwd := func(xv, tv []float64) []float64 {
					return c.eval(func(s *tc) []float64 {
						xt, tt := s.in("x", f32(xv), shape...), s.in("theta", f32(tv), m)
						dst := s.out("dst", nil, shape...)
						op.fwd(s.b, dst, xt, tt)
						s.settle(op.name)
						return f64(s.get(dst))
					})
				}
				back := func(xv, tv, r []float64) (dx, dth []float64) {
					s := c.scope()
					defer s.free()
					xt, tt, rt := s.in("x", f32(xv), shape...), s.in("theta", f32(tv), m), s.in("dy", f32(r), shape...)
					dxt, dtht := s.out("dx", nil, shape...), s.out("dtheta", nil, m)
					op.back(s.b, dxt, dtht, rt, xt, tt)
					s.settle(op.backName)
					return f64(s.get(dxt)), f64(s.get(dtht))
				}
				// Piecewise linear and away from the kinks: exact up to rounding.
				c.gradCheck(op.backName, "x (dx)", gradProblem{
					x:    f64(x),
					fwd:  func(xv []float64) []float64 { return fwd(xv, f64(theta)) },
					back: func(xv, r []float64) []float64 { dx, _ := back(xv, f64(theta), r); return dx },
					h:    0.01, rtol: 1e-3,
				})
				c.gradCheck(op.backName, "theta (dtheta)", gradProblem{
					x:    f64(theta),
					fwd:  func(tv []float64) []float64 { return fwd(f64(x), tv) },
					back: func(tv, r []float64) []float64 { _, dth := back(f64(x), tv, r); return dth },
					h:    0.01, rtol: 1e-3,
				})
			})
		}
		// dθ over half a million samples, which a backend may sum in parts (Mesa llvmpipe
		// cuts a shader's loops short after 65,535 iterations in all).
		tall := []int{530001, 3}
		s.run(fmt.Sprintf("%s/%v", op.backName, tall), false, op.backCase(tall, true))
	}
}

func filled64(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// backCase checks the backward op of op, with or without dθ, on inputs of the given shape.
func (op shrinkOp) backCase(shape []int, withTheta bool) func(c *tc) {
	n := volume(shape)
	_, m := rowsCols(shape)
	return func(c *tc) {
		x, theta := c.shrinkInputs(n, m)
		dy := c.normal(n, 1)
		xt, tt, dyt := c.in("x", x, shape...), c.in("theta", theta, m), c.in("dy", dy, shape...)
		dx := c.out("dx", nil, shape...)
		var dth kernels.Tensor
		if withTheta {
			dth = c.out("dtheta", nil, m)
		}
		op.back(c.b, dx, dth, dyt, xt, tt)
		c.settle(op.backName)
		wdx, wdth := op.refBack(m, f64(dy), f64(x), f64(theta))
		c.expect(op.backName, "dx", dx, wdx, nil, tol{}) // a mask: exact
		if withTheta {
			// A sum over the rows: sumTol(rows) of Σ_r |dy|.
			_, sc := refPosShrinkBackward(m, absf(dy), filled64(n, 1), filled64(m, 0))
			c.expect(op.backName, "dtheta", dth, wdth, abs64(sc), tol{0, sumTol(n / m)})
		}
	}
}
