package kerneltest

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// convCases are the geometries of the Conv and Local families: a 1×1 image, non-square images and
// kernels, 1 and several channels, stride 1 and 2 (also mixed), padding 0, 1 and 2 (padding 2 with
// a 2-row kernel makes windows that read only padding), a stride that leaves the last row and
// column unread (their gradient must be written as 0), and MNIST-sized images.
var convCases = []struct {
	name                  string
	n, c, h, w, k, kh, kw int
	g                     kernels.Conv2D
	big                   bool
}{
	{"1x1", 1, 1, 1, 1, 1, 1, 1, kernels.Conv2D{StrideH: 1, StrideW: 1}, false},
	{"7x5/k3x2/s1p0", 2, 1, 7, 5, 3, 3, 2, kernels.Conv2D{StrideH: 1, StrideW: 1}, false},
	{"7x9/k3x3/s2p1", 1, 2, 7, 9, 2, 3, 3, kernels.Conv2D{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, false},
	{"8x6/k2x3/s2,1p2,1", 2, 3, 8, 6, 2, 2, 3, kernels.Conv2D{StrideH: 2, StrideW: 1, PadH: 2, PadW: 1}, false},
	{"8x8/k3x3/s2p0", 1, 1, 8, 8, 1, 3, 3, kernels.Conv2D{StrideH: 2, StrideW: 2}, false},
	{"28x28/k5x5/s1p2", 2, 3, 28, 28, 4, 5, 5, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}, false},
	{"28x28/k4x4/s2p1", 2, 2, 28, 28, 3, 4, 4, kernels.Conv2D{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, false},
	{"28x28/k5x5/s1p0/N8", 8, 3, 28, 28, 8, 5, 5, kernels.Conv2D{StrideH: 1, StrideW: 1}, true},
}

// longConvCases are long sums, which a backend may split (Mesa llvmpipe cuts a shader's loops
// short after 65,535 iterations in all): thousands of input channels (the forward ops) or output
// channels (backward data) with 5×5 kernels, a locally connected weight's gradient over 70,001
// samples, and a filter's gradient over 17,305,600 terms (one 4160×4160 map). Each runs only the
// ops whose sums it makes long: the others would only be slow, most of all with a lowered
// work-group count limit (a few groups striding over all).
var longConvCases = []struct {
	name                  string
	n, c, h, w, k, kh, kw int
	g                     kernels.Conv2D
	fwd, data, filter     bool
	localOnly, convOnly   bool
}{
	{"4x4/k5x5/s1p2/C2560", 1, 2560, 4, 4, 4, 5, 5, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}, true, false, false, false, false},
	{"4x4/k5x5/s1p2/K4096", 1, 4, 4, 4, 4096, 5, 5, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}, false, true, false, false, false},
	{"1x1/N70001", 70001, 1, 1, 1, 2, 1, 1, kernels.Conv2D{StrideH: 1, StrideW: 1}, false, false, true, true, false},
	{"4160x4160/k1x1", 1, 1, 4160, 4160, 1, 1, 1, kernels.Conv2D{StrideH: 1, StrideW: 1}, false, false, true, false, true},
}

// fdGeom reports whether a geometry is small enough for finite differences (which run the
// forward op twice per direction).
func fdGeom(g convGeom) bool { return g.xLen() <= 5000 }

func testConv(s *suite)  { testConvFamily(s, false) }
func testLocal(s *suite) { testConvFamily(s, true) }

type convOps struct {
	fwd, data, filter string
	f                 func(b kernels.Backend, y, x, w kernels.Tensor, g kernels.Conv2D)
	bd                func(b kernels.Backend, dx, dy, w kernels.Tensor, g kernels.Conv2D)
	bf                func(b kernels.Backend, dw, x, dy kernels.Tensor, g kernels.Conv2D)
}

// testConvFamily: forward, backward data, backward filter against the references; finite
// differences of both backward ops against the backend's forward; dot-product tests of both pairs.
func testConvFamily(s *suite, local bool) {
	ops := convOps{"Conv2DForward", "Conv2DBackwardData", "Conv2DBackwardFilter",
		kernels.Backend.Conv2DForward, kernels.Backend.Conv2DBackwardData, kernels.Backend.Conv2DBackwardFilter}
	if local {
		ops = convOps{"LocalForward", "LocalBackwardData", "LocalBackwardFilter",
			kernels.Backend.LocalForward, kernels.Backend.LocalBackwardData, kernels.Backend.LocalBackwardFilter}
	}
	for _, cc := range convCases {
		g := newConvGeom(cc.n, cc.c, cc.h, cc.w, cc.k, cc.kh, cc.kw, cc.g)
		wShape, wLen := g.weights(local)
		// Terms per output of each op (see fwdCase).
		fwdTerms, dataTerms, filterTerms := g.C*g.KH*g.KW, g.K*g.KH*g.KW, g.N*g.Ho*g.Wo
		if local {
			filterTerms = g.N
		}
		s.run(ops.fwd+"/"+cc.name, cc.big, ops.fwdCase(g, local, cc.g))
		s.run(ops.data+"/"+cc.name, cc.big, ops.dataCase(g, local, cc.g))
		s.run(ops.filter+"/"+cc.name, cc.big, ops.filterCase(g, local, cc.g))
		if !fdGeom(g) || cc.big {
			continue
		}
		forward := func(c *tc, x, w []float64) []float64 {
			return c.eval(func(s *tc) []float64 {
				xt, wt := s.in("x", f32(x), g.xShape()...), s.in("w", f32(w), wShape...)
				y := s.out("y", nil, g.yShape()...)
				ops.f(s.b, y, xt, wt, cc.g)
				s.settle(ops.fwd)
				return f64(s.get(y))
			})
		}
		backData := func(c *tc, dy, w []float64) []float64 {
			return c.eval(func(s *tc) []float64 {
				dyt, wt := s.in("dy", f32(dy), g.yShape()...), s.in("w", f32(w), wShape...)
				dx := s.out("dx", nil, g.xShape()...)
				ops.bd(s.b, dx, dyt, wt, cc.g)
				s.settle(ops.data)
				return f64(s.get(dx))
			})
		}
		backFilter := func(c *tc, x, dy []float64) []float64 {
			return c.eval(func(s *tc) []float64 {
				xt, dyt := s.in("x", f32(x), g.xShape()...), s.in("dy", f32(dy), g.yShape()...)
				dw := s.out("dw", nil, wShape...)
				ops.bf(s.b, dw, xt, dyt, cc.g)
				s.settle(ops.filter)
				return f64(s.get(dw))
			})
		}
		s.run(ops.data+"/"+cc.name+"/FiniteDifferences", false, func(c *tc) {
			x, w := f64(c.normal(g.xLen(), 1)), f64(c.normal(wLen, 1))
			// Linear in x: a unit step is exact up to rounding.
			c.gradCheck(ops.data, "x", gradProblem{
				x:    x,
				fwd:  func(x []float64) []float64 { return forward(c, x, w) },
				back: func(_, r []float64) []float64 { return backData(c, r, w) },
				h:    1, rtol: 1e-4,
			})
		})
		s.run(ops.filter+"/"+cc.name+"/FiniteDifferences", false, func(c *tc) {
			x, w := f64(c.normal(g.xLen(), 1)), f64(c.normal(wLen, 1))
			c.gradCheck(ops.filter, "w", gradProblem{
				x:    w,
				fwd:  func(w []float64) []float64 { return forward(c, x, w) },
				back: func(_, r []float64) []float64 { return backFilter(c, x, r) },
				h:    1, rtol: 1e-4,
			})
		})
		s.run(ops.fwd+"/"+cc.name+"/Adjoint", false, func(c *tc) {
			x, w, y := f64(c.normal(g.xLen(), 1)), f64(c.normal(wLen, 1)), f64(c.normal(g.yLen(), 1))
			ax := forward(c, x, w)
			absPairing := dot(refConvForward(g, local, abs64(x), abs64(w)), abs64(y))
			// ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ for A = the op in x, and for A = the op in w.
			c.adjoint(ops.fwd+"/"+ops.data, ax, y, x, backData(c, y, w), absPairing, sumTol(fwdTerms)+sumTol(dataTerms))
			c.adjoint(ops.fwd+"/"+ops.filter, ax, y, w, backFilter(c, x, y), absPairing, sumTol(fwdTerms)+sumTol(filterTerms))
		})
	}
	testLongConv(s, ops, local)
}

// poolCases are the geometries of the Pool family (L2 pooling, window [KH,KW] per channel).
var poolCases = []struct {
	name               string
	n, c, h, w, kh, kw int
	g                  kernels.Conv2D
	big                bool
}{
	{"1x1", 1, 1, 1, 1, 1, 1, kernels.Conv2D{StrideH: 1, StrideW: 1}, false},
	{"7x5/k3x2/s1p0", 2, 1, 7, 5, 3, 2, kernels.Conv2D{StrideH: 1, StrideW: 1}, false},
	{"7x9/k3x3/s2p1", 1, 2, 7, 9, 3, 3, kernels.Conv2D{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, false},
	{"8x6/k2x3/s2,1p2,1", 2, 3, 8, 6, 2, 3, kernels.Conv2D{StrideH: 2, StrideW: 1, PadH: 2, PadW: 1}, false},
	{"8x8/k3x3/s2p0", 1, 1, 8, 8, 3, 3, kernels.Conv2D{StrideH: 2, StrideW: 2}, false},
	{"28x28/k3x3/s1p1", 2, 3, 28, 28, 3, 3, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}, false},
	{"28x28/k2x2/s2p0", 2, 4, 28, 28, 2, 2, kernels.Conv2D{StrideH: 2, StrideW: 2}, false},
	// Windows that tile the plane (stride = window, no padding), which the cpu backend pools
	// along whole rows: a group of maps ([2,1] over [maps, pixels]), a plane whose last rows and
	// columns no window reads, and rows of more outputs than it takes at a time (64).
	{"6x10/k2x1/s2,1p0", 2, 1, 6, 10, 2, 1, kernels.Conv2D{StrideH: 2, StrideW: 1}, false},
	{"10x11/k3x3/s3p0", 1, 2, 10, 11, 3, 3, kernels.Conv2D{StrideH: 3, StrideW: 3}, false},
	{"3x141/k1x2/s1,2p0", 2, 1, 3, 141, 1, 2, kernels.Conv2D{StrideH: 1, StrideW: 2}, false},
	{"28x28/k5x5/s1p2/N8", 8, 4, 28, 28, 5, 5, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}, true},
	// A long sum, which a backend may split (Mesa llvmpipe cuts a shader's loops short after
	// 65,535 iterations in all): a window of 90,000 taps, whose backward reads one pixel 90,000
	// times at the far corner.
	{"300x300/k300x300/s1p0", 1, 1, 300, 300, 300, 300, kernels.Conv2D{StrideH: 1, StrideW: 1}, false},
}

// testPool: L2Pool2D and L2Pool2DBackward against the references, at zero input, and the
// finite-difference (Jacobian adjoint) check of the backward against the backend's forward.
func testPool(s *suite) {
	for _, pc := range poolCases {
		g := newConvGeom(pc.n, pc.c, pc.h, pc.w, pc.c, pc.kh, pc.kw, pc.g)
		kShape := []int{pc.kh, pc.kw}
		win := pc.kh * pc.kw
		for _, eps := range []float32{1e-3, 0} {
			s.run(fmt.Sprintf("L2Pool2D/%s/eps=%g", pc.name, eps), pc.big, func(c *tc) {
				x, k := c.normal(g.xLen(), 1), c.uniform(win, 0.1, 1)
				xt, kt := c.in("x", x, g.xShape()...), c.in("k", k, kShape...)
				y := c.out("y", nil, g.yShape()...)
				c.b.L2Pool2D(y, xt, kt, pc.g, eps)
				c.settle("L2Pool2D")
				// Non-negative terms, then a square root.
				c.expect("L2Pool2D", "y", y, refL2Pool2D(g, f64(x), f64(k), float64(eps)), nil, tol{0, sumTol(win)})
			})
		}
		s.run(fmt.Sprintf("L2Pool2DBackward/%s", pc.name), pc.big, func(c *tc) {
			x, k, dy := c.normal(g.xLen(), 1), c.uniform(win, 0.1, 1), c.normal(g.yLen(), 1)
			y := f32(refL2Pool2D(g, f64(x), f64(k), 1e-3))
			xt, kt := c.in("x", x, g.xShape()...), c.in("k", k, kShape...)
			yt, dyt := c.in("y", y, g.yShape()...), c.in("dy", dy, g.yShape()...)
			dx := c.out("dx", nil, g.xShape()...)
			c.b.L2Pool2DBackward(dx, dyt, xt, yt, kt, pc.g)
			c.settle("L2Pool2DBackward")
			c.expect("L2Pool2DBackward", "dx", dx, refL2Pool2DBackward(g, f64(dy), f64(x), f64(y), f64(k)),
				refL2Pool2DBackward(g, absf(dy), absf(x), f64(y), f64(k)), tol{0, sumTol(win)})
		})
		if pc.big {
			continue
		}
		s.run(fmt.Sprintf("L2Pool2D/%s/ZeroInput", pc.name), false, func(c *tc) {
			const eps = 1e-4
			k := c.uniform(win, 0.1, 1)
			xt, kt := c.in("x", make([]float32, g.xLen()), g.xShape()...), c.in("k", k, kShape...)
			y := c.out("y", nil, g.yShape()...)
			c.b.L2Pool2D(y, xt, kt, pc.g, eps)
			c.settle("L2Pool2D")
			c.expect("L2Pool2D", "y of zero x (√ε)", y, filled64(g.yLen(), sqrt32(eps)), nil, tol{0, 8 * eps32}) // a square root: a few ulps on a GPU
			yt := c.in("y", c.get(y), g.yShape()...)
			dyt := c.in("dy", c.normal(g.yLen(), 1), g.yShape()...)
			dx := c.out("dx", nil, g.xShape()...)
			c.b.L2Pool2DBackward(dx, dyt, xt, yt, kt, pc.g)
			c.settle("L2Pool2DBackward")
			c.expect("L2Pool2DBackward", "dx at x = 0", dx, make([]float64, g.xLen()), nil, tol{})
		})
		if !fdGeom(g) {
			continue
		}
		// For this nonlinear op the check is the Jacobian adjoint test ⟨J v, dy⟩ = ⟨v, Jᵀ dy⟩
		// with J v by central differences of the backend's own forward.
		s.run(fmt.Sprintf("L2Pool2DBackward/%s/FiniteDifferences", pc.name), false, func(c *tc) {
			const eps = 0.05
			x, k := c.normal(g.xLen(), 1), c.uniform(win, 0.1, 1)
			fwd := func(s *tc, xv []float64) (kernels.Tensor, kernels.Tensor, kernels.Tensor) {
				xt, kt := s.in("x", f32(xv), g.xShape()...), s.in("k", k, kShape...)
				y := s.out("y", nil, g.yShape()...)
				s.b.L2Pool2D(y, xt, kt, pc.g, eps)
				s.settle("L2Pool2D")
				return y, xt, kt
			}
			c.gradCheck("L2Pool2DBackward", "x", gradProblem{
				x: f64(x),
				fwd: func(xv []float64) []float64 {
					return c.eval(func(s *tc) []float64 { y, _, _ := fwd(s, xv); return f64(s.get(y)) })
				},
				back: func(xv, r []float64) []float64 {
					return c.eval(func(s *tc) []float64 {
						y, xt, kt := fwd(s, xv)
						rt := s.in("dy", f32(r), g.yShape()...)
						dx := s.out("dx", nil, g.xShape()...)
						s.b.L2Pool2DBackward(dx, rt, xt, y, kt, pc.g)
						s.settle("L2Pool2DBackward")
						return f64(s.get(dx))
					})
				},
				h: 0.01, rtol: 3e-3,
			})
		})
	}
}

// sqrt32 is √v for a float32 v, in float64.
func sqrt32(v float32) float64 { return math.Sqrt(float64(v)) }

// testLongConv runs longConvCases.
func testLongConv(s *suite, ops convOps, local bool) {
	for _, cc := range longConvCases {
		if cc.localOnly && !local || cc.convOnly && local {
			continue
		}
		g := newConvGeom(cc.n, cc.c, cc.h, cc.w, cc.k, cc.kh, cc.kw, cc.g)
		if cc.fwd {
			s.run(ops.fwd+"/"+cc.name, false, ops.fwdCase(g, local, cc.g))
		}
		if cc.data {
			s.run(ops.data+"/"+cc.name, false, ops.dataCase(g, local, cc.g))
		}
		if cc.filter {
			s.run(ops.filter+"/"+cc.name, false, ops.filterCase(g, local, cc.g))
		}
	}
}

// weights are the shape and length of the weights of g: [K,C,KH,KW], or
// [Ho,Wo,K,C,KH,KW] when local.
func (g convGeom) weights(local bool) ([]int, int) {
	if local {
		return g.localShape(), g.localLen()
	}
	return g.wShape(), g.wLen()
}

// fwdCase, dataCase and filterCase check the forward, backward data and backward filter op
// against the references. Terms per output of each op: the forward sums C·KH·KW, backward data
// at most K·KH·KW, backward filter N·Ho·Wo (conv) or N (local, one weight per position).
func (ops convOps) fwdCase(g convGeom, local bool, geom kernels.Conv2D) func(c *tc) {
	return func(c *tc) {
		wShape, wLen := g.weights(local)
		x, w := c.normal(g.xLen(), 1), c.normal(wLen, 1)
		xt, wt := c.in("x", x, g.xShape()...), c.in("w", w, wShape...)
		y := c.out("y", nil, g.yShape()...)
		ops.f(c.b, y, xt, wt, geom)
		c.settle(ops.fwd)
		c.expect(ops.fwd, "y", y, refConvForward(g, local, f64(x), f64(w)),
			refConvForward(g, local, absf(x), absf(w)), tol{0, sumTol(g.C * g.KH * g.KW)})
	}
}

func (ops convOps) dataCase(g convGeom, local bool, geom kernels.Conv2D) func(c *tc) {
	return func(c *tc) {
		wShape, wLen := g.weights(local)
		dy, w := c.normal(g.yLen(), 1), c.normal(wLen, 1)
		dyt, wt := c.in("dy", dy, g.yShape()...), c.in("w", w, wShape...)
		dx := c.out("dx", nil, g.xShape()...)
		ops.bd(c.b, dx, dyt, wt, geom)
		c.settle(ops.data)
		c.expect(ops.data, "dx", dx, refConvBackwardData(g, local, f64(dy), f64(w)),
			refConvBackwardData(g, local, absf(dy), absf(w)), tol{0, sumTol(g.K * g.KH * g.KW)})
	}
}

func (ops convOps) filterCase(g convGeom, local bool, geom kernels.Conv2D) func(c *tc) {
	return func(c *tc) {
		wShape, _ := g.weights(local)
		terms := g.N * g.Ho * g.Wo
		if local {
			terms = g.N
		}
		x, dy := c.normal(g.xLen(), 1), c.normal(g.yLen(), 1)
		xt, dyt := c.in("x", x, g.xShape()...), c.in("dy", dy, g.yShape()...)
		dw := c.out("dw", nil, wShape...)
		ops.bf(c.b, dw, xt, dyt, geom)
		c.settle(ops.filter)
		c.expect(ops.filter, "dw", dw, refConvBackwardFilter(g, local, f64(x), f64(dy)),
			refConvBackwardFilter(g, local, absf(x), absf(dy)), tol{0, sumTol(terms)})
	}
}
