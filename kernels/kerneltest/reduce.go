package kerneltest

import (
	"fmt"
	"math"
	"slices"

	"github.com/drsae/drsae/kernels"
)

// reduceShape is a shape of the reduction cases. A long one has a column taller than 512 Ki rows
// or a row longer than 8 Mi columns, which a backend may sum in parts (Mesa llvmpipe cuts a
// shader's loops short after 65,535 iterations in all): it is run only along that axis, and
// without finite differences.
type reduceShape struct {
	shape     []int
	big, long bool
}

// axes are the axes a case of sh runs along: both, or the long one.
func (sh reduceShape) axes() []kernels.Axis {
	rows, cols := rowsCols(sh.shape)
	switch {
	case !sh.long:
		return []kernels.Axis{kernels.PerRow, kernels.PerCol}
	case rows > cols:
		return []kernels.Axis{kernels.PerCol}
	default:
		return []kernels.Axis{kernels.PerRow}
	}
}

var reduceShapes = []reduceShape{
	{[]int{1}, false, false},
	{[]int{7}, false, false},
	{[]int{1, 7}, false, false},
	{[]int{7, 1}, false, false},
	{[]int{33, 7}, false, false},
	{[]int{257, 33}, false, false},
	{[]int{2, 3, 5}, false, false},
	{[]int{1000, 300}, true, false},
	// The norms of a batch's units over half a million samples; a flattened 2048×2048×2 image.
	{[]int{530001, 3}, false, true},
	{[]int{1, 8400001}, true, true},
}

// sumShapes are the shapes of Reduce and CountAbove: reduceShapes but the longest row, and long
// rows, which a backend may split over several work groups (the sum of a whole tensor is a
// single row).
var sumShapes = append(slices.DeleteFunc(slices.Clone(reduceShapes), func(sh reduceShape) bool {
	return sh.long && sh.shape[0] == 1
}), []reduceShape{
	{[]int{5, 9001}, false, false},
	{[]int{1, 250007}, false, false},
}...)

// testReduce: Norms, ProjectNormBall, NormalizeRows and NormalizeRowsBackward (value and finite
// differences), for both axes where an op has one; Reduce and CountAbove (testSums).
func testReduce(s *suite) {
	testSums(s)
	// Norms loops once over a row, half as often as the ops that also write it: a whole
	// 2048×2048×4 image as one row.
	s.norms([]int{1, 16777259}, kernels.PerRow, true)
	for _, sh := range reduceShapes {
		shape, n := sh.shape, volume(sh.shape)
		rows, cols := rowsCols(shape)
		for _, axis := range sh.axes() {
			terms := cols
			if axis == kernels.PerCol {
				terms = rows
			}
			s.norms(shape, axis, sh.big)
			s.run(fmt.Sprintf("ProjectNormBall/%v/%v", shape, axis), sh.big, func(c *tc) {
				const radius = 1.5
				x := c.ballInputs(rows, cols, axis, radius)
				if rows == 1 && axis == kernels.PerRow {
					x = c.normal(n, 1) // a norm far outside the ball
				}
				xt := c.out("x", x, shape...)
				c.b.ProjectNormBall(xt, radius, axis)
				c.settle("ProjectNormBall")
				want := refProjectNormBall(rows, cols, f64(x), radius, axis)
				// Vectors inside the ball are unchanged bit for bit (scale 0); the others are scaled.
				scale := abs64(want)
				for i := range want {
					if want[i] == float64(x[i]) {
						scale[i] = 0
					}
				}
				c.expect("ProjectNormBall", "x", xt, want, scale, tol{0, sumTol(terms)})
			})
		}
		if sh.long && rows > cols {
			continue // the row ops on a tall matrix: nothing long
		}
		for _, eps := range []float32{1e-6, 0} {
			s.run(fmt.Sprintf("NormalizeRows/%v/eps=%g", shape, eps), sh.big, func(c *tc) {
				x := c.normal(n, 1)
				if eps > 0 && rows > 1 {
					clear(x[:cols]) // a zero row: y = 0, norm √ε
				}
				xt := c.in("x", x, shape...)
				dst, norms := c.out("dst", nil, shape...), c.out("norms", nil, rows)
				c.b.NormalizeRows(dst, norms, xt, eps)
				c.settle("NormalizeRows")
				wy, wn := refNormalizeRows(rows, cols, f64(x), float64(eps))
				c.expect("NormalizeRows", "norms", norms, wn, nil, tol{0, sumTol(cols)})
				c.expect("NormalizeRows", "dst", dst, wy, nil, tol{0, sumTol(cols)})
			})
		}
		s.run(fmt.Sprintf("NormalizeRowsBackward/%v", shape), sh.big, func(c *tc) {
			x, dy := c.normal(n, 1), c.normal(n, 1)
			y64, n64 := refNormalizeRows(rows, cols, f64(x), 1e-6)
			y, norms := f32(y64), f32(n64)
			dyt, yt, nt := c.in("dy", dy, shape...), c.in("y", y, shape...), c.in("norms", norms, rows)
			dx := c.out("dx", nil, shape...)
			c.b.NormalizeRowsBackward(dx, dyt, yt, nt)
			c.settle("NormalizeRowsBackward")
			c.expect("NormalizeRowsBackward", "dx", dx, refNormalizeRowsBackward(rows, cols, f64(dy), f64(y), f64(norms)),
				normalizeBackScale(rows, cols, f64(dy), f64(y), f64(norms)), tol{0, sumTol(cols)})
		})
		if sh.big || sh.long {
			continue
		}
		s.run(fmt.Sprintf("NormalizeRowsBackward/%v/FiniteDifferences", shape), false, func(c *tc) {
			const eps = 0.1
			x := c.normal(n, 1)
			fwd := func(s *tc, xv []float64) (y, norms kernels.Tensor) {
				xt := s.in("x", f32(xv), shape...)
				y, norms = s.out("dst", nil, shape...), s.out("norms", nil, rows)
				s.b.NormalizeRows(y, norms, xt, eps)
				s.settle("NormalizeRows")
				return y, norms
			}
			c.gradCheck("NormalizeRowsBackward", "x", gradProblem{
				x: f64(x),
				fwd: func(xv []float64) []float64 {
					return c.eval(func(s *tc) []float64 { y, _ := fwd(s, xv); return f64(s.get(y)) })
				},
				back: func(xv, r []float64) []float64 {
					return c.eval(func(s *tc) []float64 {
						y, norms := fwd(s, xv)
						rt := s.in("dy", f32(r), shape...)
						dx := s.out("dx", nil, shape...)
						s.b.NormalizeRowsBackward(dx, rt, y, norms)
						s.settle("NormalizeRowsBackward")
						return f64(s.get(dx))
					})
				},
				h: 0.01, rtol: 3e-3,
			})
		})
	}
}

// norms runs Norms on x of the given shape along axis.
func (s *suite) norms(shape []int, axis kernels.Axis, big bool) {
	s.run(fmt.Sprintf("Norms/%v/%v", shape, axis), big, func(c *tc) {
		n := volume(shape)
		rows, cols := rowsCols(shape)
		vn, terms := rows, cols
		if axis == kernels.PerCol {
			vn, terms = cols, rows
		}
		x := c.normal(n, 1)
		if rows > 1 {
			clear(x[:cols]) // a zero row
		}
		xt := c.in("x", x, shape...)
		dst := c.out("norms", nil, vn)
		c.b.Norms(dst, xt, axis)
		c.settle("Norms")
		c.expect("Norms", "norms", dst, refNorms(rows, cols, f64(x), axis), nil, tol{0, sumTol(terms)})
	})
}

// ballInputs draws x whose rows (PerRow) or columns (PerCol) have norms 0, 0.5·radius,
// 2·radius and 10·radius in turn, well away from the radius itself.
func (c *tc) ballInputs(rows, cols int, axis kernels.Axis, radius float64) []float32 {
	x := f64(c.normal(rows*cols, 1))
	norms := refNorms(rows, cols, x, axis)
	targets := []float64{0, 0.5 * radius, 2 * radius, 10 * radius}
	for r := 0; r < rows; r++ {
		for cc := 0; cc < cols; cc++ {
			v := r
			if axis == kernels.PerCol {
				v = cc
			}
			x[r*cols+cc] *= targets[v%len(targets)] / norms[v]
		}
	}
	return f32(x)
}

// normalizeBackScale is (|dy| + |y|·Σ|y·dy|)/norms, the size of the terms of NormalizeRowsBackward.
func normalizeBackScale(rows, cols int, dy, y, norms []float64) []float64 {
	out := make([]float64, rows*cols)
	for r := 0; r < rows; r++ {
		s := 0.0
		for c := 0; c < cols; c++ {
			s += math.Abs(y[r*cols+c] * dy[r*cols+c])
		}
		for c := 0; c < cols; c++ {
			out[r*cols+c] = (math.Abs(dy[r*cols+c]) + math.Abs(y[r*cols+c])*s) / norms[r]
		}
	}
	return out
}

// testSums: Reduce with each ReduceOp and CountAbove with thresholds that split the values,
// that equal some of them, and that every non-NaN value exceeds, for both axes.
func testSums(s *suite) {
	ops := []kernels.ReduceOp{kernels.ReduceSum, kernels.ReduceAbs, kernels.ReduceSquares}
	for _, sh := range sumShapes {
		shape, n := sh.shape, volume(sh.shape)
		rows, cols := rowsCols(shape)
		for _, axis := range sh.axes() {
			vn, terms := rows, cols
			if axis == kernels.PerCol {
				vn, terms = cols, rows
			}
			for _, op := range ops {
				s.run(fmt.Sprintf("Reduce/%v/%v/%v", shape, op, axis), sh.big, func(c *tc) {
					x := c.normal(n, 1)
					for i := range x {
						x[i] += 0.25 // a mean, so that a sum is not all cancellation
					}
					if rows > 1 {
						clear(x[:cols]) // a zero row
					}
					xt := c.in("x", x, shape...)
					dst := c.out("dst", nil, vn)
					c.b.Reduce(dst, xt, op, axis)
					c.settle("Reduce")
					// A sum of n terms (each rounded once for v²): sumTol against Σ|f(x)|.
					var scale []float64
					if op == kernels.ReduceSum {
						scale = refReduce(rows, cols, f64(x), kernels.ReduceAbs, axis)
					}
					c.expect("Reduce", "dst", dst, refReduce(rows, cols, f64(x), op, axis), scale, tol{0, sumTol(terms)})
				})
			}
			for _, theta := range []float32{0.5, 0, -1} {
				s.run(fmt.Sprintf("CountAbove/%v/theta=%g/%v", shape, theta, axis), sh.big, func(c *tc) {
					x := c.countInputs(n, theta)
					xt := c.in("x", x, shape...)
					dst := c.out("counts", nil, vn)
					c.b.CountAbove(dst, xt, theta, axis)
					c.settle("CountAbove")
					c.expect("CountAbove", "counts", dst, refCountAbove(rows, cols, f64(x), float64(theta), axis), nil, tol{}) // exact
				})
			}
		}
	}
}

// countInputs draws values around θ with, in turn, some exactly ±θ (not above it), 0 and −0,
// NaN (never above), ±Inf and ±2θ.
func (c *tc) countInputs(n int, theta float32) []float32 {
	x := c.normal(n, 1)
	special := []float32{theta, -theta, 0, float32(math.Copysign(0, -1)), float32(math.NaN()),
		float32(math.Inf(1)), float32(math.Inf(-1)), 2 * theta, -2 * theta}
	for i := range x {
		if i%3 == 1 {
			x[i] = special[(i/3)%len(special)]
		}
	}
	return x
}
