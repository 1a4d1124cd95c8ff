package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// The references are proven here in float64, independently of any backend: every backward
// reference is the gradient of its forward reference (central differences, tolerance 1e-6, or
// 1e-11 for linear ops), and every linear forward/backward pair passes the dot-product test.

func newRNG(name string) *rand.Rand {
	var h uint64 = 14695981039346656037
	for _, b := range []byte(name) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return rand.New(rand.NewPCG(h, 1))
}

func normals(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return out
}

func checkRef(t *testing.T, rng *rand.Rand, p gradProblem) {
	t.Helper()
	fails, _ := p.check(rng)
	for _, m := range fails {
		t.Error(m)
	}
}

const (
	smoothStep = 1e-6 // central differences of smooth float64 functions: error O(h²) ≈ 1e-12
	smoothTol  = 1e-6
	linearTol  = 1e-11 // a linear function: only rounding
)

func TestReferenceShrinkGradients(t *testing.T) {
	const rows, m = 4, 5
	rng := newRNG(t.Name())
	for _, op := range shrinkOps {
		t.Run(op.name, func(t *testing.T) {
			theta := make([]float64, m)
			x := make([]float64, rows*m)
			for i := range theta {
				theta[i] = 0.1 + rng.Float64()
			}
			for i := range x {
				for { // away from the kinks
					x[i] = 2 * rng.NormFloat64()
					if math.Abs(math.Abs(x[i])-theta[i%m]) > 0.01 && math.Abs(x[i]) > 0.01 {
						break
					}
				}
			}
			// Piecewise linear: exact for steps that stay on one piece.
			checkRef(t, rng, gradProblem{
				x:    x,
				fwd:  func(x []float64) []float64 { return op.ref(m, x, theta) },
				back: func(x, r []float64) []float64 { dx, _ := op.refBack(m, r, x, theta); return dx },
				h:    1e-3, rtol: linearTol,
			})
			checkRef(t, rng, gradProblem{
				x:    theta,
				fwd:  func(th []float64) []float64 { return op.ref(m, x, th) },
				back: func(th, r []float64) []float64 { _, dth := op.refBack(m, r, x, th); return dth },
				h:    1e-3, rtol: linearTol,
			})
		})
	}
}

func TestReferencePoolNormsGradient(t *testing.T) {
	for _, lay := range poolLayouts {
		t.Run(lay.name, func(t *testing.T) {
			rng := newRNG(t.Name())
			l, err := lay.make()
			if err != nil {
				t.Fatal(err)
			}
			const batch, eps = 3, 1e-2
			checkRef(t, rng, gradProblem{
				x:   normals(rng, batch*l.Units),
				fwd: func(z []float64) []float64 { return refPoolNorms(l, batch, z, eps) },
				back: func(z, r []float64) []float64 {
					return refPoolNormsBackward(l, batch, r, z, refPoolNorms(l, batch, z, eps))
				},
				h: smoothStep, rtol: smoothTol,
			})
		})
	}
}

func TestReferenceConvGradients(t *testing.T) {
	for _, local := range []bool{false, true} {
		for _, cc := range convCases {
			name := fmt.Sprintf("local=%v/%s", local, cc.name)
			t.Run(name, func(t *testing.T) {
				if cc.big {
					t.Skip("the largest geometry")
				}
				rng := newRNG(t.Name())
				g := newConvGeom(cc.n, cc.c, cc.h, cc.w, cc.k, cc.kh, cc.kw, cc.g)
				wLen := g.wLen()
				if local {
					wLen = g.localLen()
				}
				x, w, y := normals(rng, g.xLen()), normals(rng, wLen), normals(rng, g.yLen())
				checkRef(t, rng, gradProblem{
					x:    x,
					fwd:  func(x []float64) []float64 { return refConvForward(g, local, x, w) },
					back: func(_, r []float64) []float64 { return refConvBackwardData(g, local, r, w) },
					h:    1, rtol: linearTol,
				})
				checkRef(t, rng, gradProblem{
					x:    w,
					fwd:  func(w []float64) []float64 { return refConvForward(g, local, x, w) },
					back: func(_, r []float64) []float64 { return refConvBackwardFilter(g, local, x, r) },
					h:    1, rtol: linearTol,
				})
				ax := refConvForward(g, local, x, w)
				absPairing := dot(refConvForward(g, local, abs64(x), abs64(w)), abs64(y))
				if lhs, rhs, lim, ok := adjointCheck(ax, y, x, refConvBackwardData(g, local, y, w), absPairing, linearTol); !ok {
					t.Errorf("data adjoint: %.17g vs %.17g, tol %.3g", lhs, rhs, lim)
				}
				if lhs, rhs, lim, ok := adjointCheck(ax, y, w, refConvBackwardFilter(g, local, x, y), absPairing, linearTol); !ok {
					t.Errorf("filter adjoint: %.17g vs %.17g, tol %.3g", lhs, rhs, lim)
				}
			})
		}
	}
}

func TestReferenceL2PoolGradient(t *testing.T) {
	for _, pc := range poolCases {
		t.Run(pc.name, func(t *testing.T) {
			if pc.big {
				t.Skip("the largest geometry")
			}
			rng := newRNG(t.Name())
			g := newConvGeom(pc.n, pc.c, pc.h, pc.w, pc.c, pc.kh, pc.kw, pc.g)
			k := make([]float64, pc.kh*pc.kw)
			for i := range k {
				k[i] = 0.1 + rng.Float64()
			}
			const eps = 1e-2
			checkRef(t, rng, gradProblem{
				x:    normals(rng, g.xLen()),
				fwd:  func(x []float64) []float64 { return refL2Pool2D(g, x, k, eps) },
				back: func(x, r []float64) []float64 { return refL2Pool2DBackward(g, r, x, refL2Pool2D(g, x, k, eps), k) },
				h:    smoothStep, rtol: smoothTol,
			})
		})
	}
}

func TestReferenceNormalizeRowsGradient(t *testing.T) {
	for _, sh := range reduceShapes {
		t.Run(fmt.Sprint(sh.shape), func(t *testing.T) {
			if sh.big {
				t.Skip("the largest shape")
			}
			rng := newRNG(t.Name())
			rows, cols := rowsCols(sh.shape)
			const eps = 1e-3
			checkRef(t, rng, gradProblem{
				x:   normals(rng, rows*cols),
				fwd: func(x []float64) []float64 { y, _ := refNormalizeRows(rows, cols, x, eps); return y },
				back: func(x, r []float64) []float64 {
					y, n := refNormalizeRows(rows, cols, x, eps)
					return refNormalizeRowsBackward(rows, cols, r, y, n)
				},
				h: smoothStep, rtol: smoothTol,
			})
		})
	}
}

func TestReferenceSoftmaxXentGradient(t *testing.T) {
	for _, sh := range classifyShapes {
		t.Run(fmt.Sprint(sh.shape), func(t *testing.T) {
			rng := newRNG(t.Name())
			batch, k := rowsCols(sh.shape)
			labels := make([]float64, batch)
			for i := range labels {
				labels[i] = float64(rng.IntN(k))
			}
			logits := normals(rng, batch*k)
			for i := range logits {
				logits[i] *= 3
			}
			checkRef(t, rng, gradProblem{
				x:    logits,
				fwd:  func(z []float64) []float64 { l, _ := refSoftmaxXent(batch, k, z, labels); return l },
				back: func(z, _ []float64) []float64 { _, g := refSoftmaxXent(batch, k, z, labels); return g },
				r:    filled64(batch, 1),
				h:    smoothStep, rtol: smoothTol,
			})
		})
	}
}

// TestGradCheckDetects shows that the finite-difference check has teeth, in float64 and with the
// float32 settings the suite uses on devices (forward rounded to float32, step 0.01, rtol 3e-3):
// a gradient off by 1% in one element fails in float64 along every direction, and one off by 2%
// overall fails in float32 along the gradient's direction.
func TestGradCheckDetects(t *testing.T) {
	rng := newRNG(t.Name())
	const batch, k = 7, 10
	labels := make([]float64, batch)
	for i := range labels {
		labels[i] = float64(rng.IntN(k))
	}
	logits := normals(rng, batch*k)
	loss := func(z []float64) []float64 { l, _ := refSoftmaxXent(batch, k, z, labels); return l }
	grad := func(z []float64) []float64 { _, g := refSoftmaxXent(batch, k, z, labels); return g }
	cases := []struct {
		name      string
		f32       bool
		h, tol    float64
		wantFails int
		wrong     func(g []float64)
	}{
		{"float64/one-element", false, smoothStep, smoothTol, 3, func(g []float64) { g[13] *= 1.01 }},
		{"float32/scaled", true, 0.01, 3e-3, 1, func(g []float64) {
			for i := range g {
				g[i] *= 1.02
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fwd := loss
			if c.f32 {
				fwd = func(z []float64) []float64 { return round32(loss(z)) }
			}
			p := gradProblem{x: logits, fwd: fwd, r: filled64(batch, 1), h: c.h, rtol: c.tol, f32: c.f32,
				back: func(z, _ []float64) []float64 { return grad(z) }}
			if fails, _ := p.check(rng); len(fails) > 0 {
				t.Fatalf("the right gradient fails: %v", fails)
			}
			p.back = func(z, _ []float64) []float64 { g := grad(z); c.wrong(g); return g }
			if fails, _ := p.check(rng); len(fails) < c.wantFails {
				t.Errorf("a wrong gradient failed %d of 3 directions, want at least %d", len(fails), c.wantFails)
			}
		})
	}
}

// TestConvGeom pins the reference geometry to kernels.Conv2D.OutSize and the index formulas.
func TestConvGeom(t *testing.T) {
	for _, cc := range convCases {
		g := newConvGeom(cc.n, cc.c, cc.h, cc.w, cc.k, cc.kh, cc.kw, cc.g)
		ho, wo := cc.g.OutSize(cc.h, cc.w, cc.kh, cc.kw)
		if g.Ho != ho || g.Wo != wo || g.geometry() != cc.g {
			t.Errorf("%s: geometry %+v, OutSize %d×%d", cc.name, g, ho, wo)
		}
	}
	// 8×8, 3×3 window, stride 2, no padding: rows 0..6 are read, row 7 is not.
	g := newConvGeom(1, 1, 8, 8, 1, 3, 3, kernels.Conv2D{StrideH: 2, StrideW: 2})
	read := make([]bool, g.xLen())
	g.convTerms(false, func(_, _, xi int) { read[xi] = true })
	for h := 0; h < 8; h++ {
		if read[h*8+3] != (h < 7) {
			t.Errorf("row %d read = %v", h, read[h*8+3])
		}
	}
}
