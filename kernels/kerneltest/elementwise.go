package kerneltest

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// ewShapes are the shapes of the elementwise and broadcast cases: odd, round, rank 1 (one row)
// and rank 3 (leading dimensions fold into rows), and one large.
var ewShapes = []struct {
	shape []int
	big   bool
}{
	{[]int{1}, false},
	{[]int{7}, false},
	{[]int{1, 7}, false},
	{[]int{7, 1}, false},
	{[]int{33, 7}, false},
	{[]int{257, 33}, false},
	{[]int{2, 3, 5}, false},
	{[]int{1000, 1000}, true},
}

// rowsCols is the [rows, cols] view of a shape (kernels.Dims2, restated).
func rowsCols(shape []int) (int, int) {
	if len(shape) == 1 {
		return 1, shape[0]
	}
	cols := shape[len(shape)-1]
	return volume(shape) / cols, cols
}

// testElementwise: Fill, Axpby, Hadamard, Div, BroadcastAdd, BroadcastMul, each also in place,
// and AdamUpdate (in place by definition).
// Tolerances in units of eps32 = 2u (u the unit roundoff): one rounding is ≤ u.
func testElementwise(s *suite) {
	for _, sh := range ewShapes {
		shape, n := sh.shape, volume(sh.shape)
		testAdam(s, shape, sh.big)
		for _, v := range []float32{0, -2.5, 3e38} {
			s.run(fmt.Sprintf("Fill/%v/%g", shape, v), sh.big, func(c *tc) {
				dst := c.out("dst", nil, shape...)
				c.b.Fill(dst, v)
				c.settle("Fill")
				c.expect("Fill", "dst", dst, f64(filled(n, v)), nil, tol{}) // exact
			})
		}

		for _, p := range []struct {
			alpha, beta float32
		}{{1, 0}, {0.5, -1.5}, {-2, 1}, {0, 1}} {
			s.run(fmt.Sprintf("Axpby/%v/alpha=%g,beta=%g", shape, p.alpha, p.beta), sh.big, func(c *tc) {
				x := c.normal(n, 1)
				y := poisoned(n) // β = 0: y's old contents are ignored
				if p.beta != 0 {
					y = c.normal(n, 1)
				}
				xt := c.in("x", x, shape...)
				yt := c.out("y", y, shape...)
				c.b.Axpby(p.alpha, xt, p.beta, yt)
				c.settle("Axpby")
				a, b := float64(p.alpha), float64(p.beta)
				// Two products and a sum: ≤ 3u of |α·x| + |β·y| (4u allowed).
				c.expect("Axpby", "y", yt, refAxpby(a, f64(x), b, f64(y)),
					refAxpby(math.Abs(a), absf(x), math.Abs(b), absf(y)), tol{0, 2 * eps32})
			})
		}
		s.run(fmt.Sprintf("Axpby/%v/x=y", shape), sh.big, func(c *tc) {
			y := c.normal(n, 1)
			yt := c.out("y", y, shape...)
			c.b.Axpby(0.75, yt, -2, yt)
			c.settle("Axpby")
			c.expect("Axpby", "y", yt, refAxpby(0.75, f64(y), -2, f64(y)), refAxpby(0.75, absf(y), 2, absf(y)), tol{0, 2 * eps32})
		})

		for _, alias := range []string{"none", "dst=x", "dst=y", "dst=x=y"} {
			s.run(fmt.Sprintf("Hadamard/%v/%s", shape, alias), sh.big, func(c *tc) {
				x, y := c.normal(n, 1), c.normal(n, 1)
				var dst, xt, yt kernels.Tensor
				want := refHadamard(f64(x), f64(y))
				switch alias {
				case "none":
					xt, yt = c.in("x", x, shape...), c.in("y", y, shape...)
					dst = c.out("dst", nil, shape...)
				case "dst=x":
					yt = c.in("y", y, shape...)
					dst = c.out("dst", x, shape...)
					xt = dst
				case "dst=y":
					xt = c.in("x", x, shape...)
					dst = c.out("dst", y, shape...)
					yt = dst
				case "dst=x=y":
					dst = c.out("dst", x, shape...)
					xt, yt = dst, dst
					want = refHadamard(f64(x), f64(x))
				}
				c.b.Hadamard(dst, xt, yt)
				c.settle("Hadamard")
				c.expect("Hadamard", "dst", dst, want, nil, tol{0, eps32}) // one rounding
			})
		}

		for _, alias := range []string{"none", "dst=x", "dst=y"} {
			s.run(fmt.Sprintf("Div/%v/%s", shape, alias), sh.big, func(c *tc) {
				x, y := c.normal(n, 1), c.normal(n, 1)
				for i := range y { // keep the divisor away from 0 so the relative error stays one rounding
					if y[i] >= 0 {
						y[i] += 0.25
					} else {
						y[i] -= 0.25
					}
				}
				var dst, xt, yt kernels.Tensor
				switch alias {
				case "none":
					xt, yt = c.in("x", x, shape...), c.in("y", y, shape...)
					dst = c.out("dst", nil, shape...)
				case "dst=x":
					yt = c.in("y", y, shape...)
					dst = c.out("dst", x, shape...)
					xt = dst
				case "dst=y":
					xt = c.in("x", x, shape...)
					dst = c.out("dst", y, shape...)
					yt = dst
				}
				c.b.Div(dst, xt, yt)
				c.settle("Div")
				// One rounding in IEEE division; GLSL allows 2.5 ulp for x/y.
				c.expect("Div", "dst", dst, refDiv(f64(x), f64(y)), nil, tol{0, 2 * eps32})
			})
		}

		rows, cols := rowsCols(shape)
		for _, axis := range []kernels.Axis{kernels.PerCol, kernels.PerRow} {
			vn := cols
			if axis == kernels.PerRow {
				vn = rows
			}
			for _, alpha := range []float32{1, -0.5, 0} {
				for _, inPlace := range []bool{false, true} {
					name := fmt.Sprintf("BroadcastAdd/%v/%v/alpha=%g", shape, axis, alpha)
					if inPlace {
						name += "/dst=x"
					}
					s.run(name, sh.big, func(c *tc) {
						x, v := c.normal(n, 1), c.normal(vn, 2)
						vt := c.in("v", v, vn)
						var dst, xt kernels.Tensor
						if inPlace {
							dst = c.out("dst", x, shape...)
							xt = dst
						} else {
							xt, dst = c.in("x", x, shape...), c.out("dst", nil, shape...)
						}
						c.b.BroadcastAdd(dst, xt, alpha, vt, axis)
						c.settle("BroadcastAdd")
						a := float64(alpha)
						// A product and a sum: ≤ 2u of |x| + |α·v| (4u allowed).
						c.expect("BroadcastAdd", "dst", dst, refBroadcastAdd(rows, cols, f64(x), a, f64(v), axis),
							refBroadcastAdd(rows, cols, absf(x), math.Abs(a), absf(v), axis), tol{0, 2 * eps32})
					})
				}
			}
			for _, inPlace := range []bool{false, true} {
				name := fmt.Sprintf("BroadcastMul/%v/%v", shape, axis)
				if inPlace {
					name += "/dst=x"
				}
				s.run(name, sh.big, func(c *tc) {
					x, v := c.normal(n, 1), c.normal(vn, 2)
					vt := c.in("v", v, vn)
					var dst, xt kernels.Tensor
					if inPlace {
						dst = c.out("dst", x, shape...)
						xt = dst
					} else {
						xt, dst = c.in("x", x, shape...), c.out("dst", nil, shape...)
					}
					c.b.BroadcastMul(dst, xt, vt, axis)
					c.settle("BroadcastMul")
					c.expect("BroadcastMul", "dst", dst, refBroadcastMul(rows, cols, f64(x), f64(v), axis), nil, tol{0, eps32})
				})
			}
		}
	}
}

// testAdam: AdamUpdate with the usual hyperparameters, with others (β1 = 0, a large ε), and the
// first step from m = v = 0 with some zero gradients. Every β is 0 or in [0.5, 1], where 1 − β is
// exact in float32 too.
func testAdam(s *suite, shape []int, big bool) {
	n := volume(shape)
	for _, h := range []struct {
		alpha, beta1, beta2, eps float32
		first                    bool
	}{
		{1e-3, 0.9, 0.999, 1e-8, false},
		{1e-3, 0.9, 0.999, 1e-8, true},
		{0.5, 0, 0.5, 1e-3, false},
		{0.01, 0.5, 0.75, 0.1, false},
	} {
		name := fmt.Sprintf("AdamUpdate/%v/alpha=%g,beta1=%g,beta2=%g,eps=%g", shape, h.alpha, h.beta1, h.beta2, h.eps)
		if h.first {
			name += "/first-step"
		}
		s.run(name, big, func(c *tc) {
			p, g := c.normal(n, 1), c.normal(n, 1)
			m, v := c.normal(n, 0.1), c.uniform(n, 0, 1)
			if h.first {
				clear(m)
				clear(v)
				for i := 0; i < n; i += 5 {
					g[i] = 0 // m = v = 0 stay 0, and so does the step (0/ε)
				}
			}
			gt := c.in("g", g, shape...)
			pt, mt, vt := c.out("p", p, shape...), c.out("m", m, shape...), c.out("v", v, shape...)
			c.b.AdamUpdate(pt, gt, mt, vt, h.alpha, h.beta1, h.beta2, h.eps)
			c.settle("AdamUpdate")
			a, b1, b2, e := float64(h.alpha), float64(h.beta1), float64(h.beta2), float64(h.eps)
			wp, wm, wv := refAdam(f64(p), f64(g), f64(m), f64(v), a, b1, b2, e)
			// m: two products and a sum, ≤ 3u of |β1·m| + |(1−β1)·g| (4u allowed).
			mScale := refAxpby(b1, absf(m), 1-b1, absf(g))
			c.expect("AdamUpdate", "m", mt, wm, mScale, tol{0, 2 * eps32})
			// v: three products and a sum of terms ≥ 0, ≤ 4u of v (6u allowed).
			c.expect("AdamUpdate", "v", vt, wv, nil, tol{0, 3 * eps32})
			// p: m's error, then √ (a few ulps on a GPU), + ε, ÷ (2.5 ulps in GLSL), ×α, −: about
			// 14u of |p| + α·(|β1·m| + |(1−β1)·g|)/(√v + ε) (16u allowed).
			pScale := make([]float64, n)
			for i := range pScale {
				pScale[i] = math.Abs(float64(p[i])) + a*mScale[i]/(math.Sqrt(wv[i])+e)
			}
			c.expect("AdamUpdate", "p", pt, wp, pScale, tol{0, 8 * eps32})
		})
	}
}
