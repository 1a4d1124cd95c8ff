package cpu

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// Reductions and constraints over x [rows, cols], summed in float64.

// Norms: PerRow: dst[r] = ‖x[r,:]‖₂ (dst [rows]); PerCol: dst[c] = ‖x[:,c]‖₂ (dst [cols]).
func (be *Backend) Norms(dst, x kernels.Tensor, axis kernels.Axis) {
	dd, xd := data("Norms", dst), data("Norms", x)
	rows, cols := kernels.CheckNorms("Norms", dst, x, axis)
	if axis == kernels.PerRow {
		be.parallelFor(rows, rows*cols, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				dd[r] = float32(math.Sqrt(sumSquares(xd[r*cols : (r+1)*cols])))
			}
		})
		return
	}
	be.parallelFor(cols, rows*cols, func(lo, hi int) {
		for c, s := range colSumSquares(xd, rows, cols, lo, hi) {
			dd[lo+c] = float32(math.Sqrt(s))
		}
	})
}

// ProjectNormBall scales, in place, every row (PerRow) or column (PerCol) of x whose L2 norm
// exceeds radius by radius/norm; the others are unchanged.
func (be *Backend) ProjectNormBall(x kernels.Tensor, radius float32, axis kernels.Axis) {
	xd := data("ProjectNormBall", x)
	rows, cols := kernels.CheckNorms("ProjectNormBall", nil, x, axis)
	if !(radius >= 0) {
		panic(fmt.Sprintf("kernels: ProjectNormBall: radius %v, want ≥ 0", radius))
	}
	r64 := float64(radius)
	if axis == kernels.PerRow {
		be.parallelFor(rows, rows*cols, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := xd[r*cols : (r+1)*cols]
				if n := math.Sqrt(sumSquares(row)); n > r64 {
					s := float32(r64 / n)
					for c := range row {
						row[c] *= s
					}
				}
			}
		})
		return
	}
	be.parallelFor(cols, rows*cols, func(lo, hi int) {
		sums := colSumSquares(xd, rows, cols, lo, hi)
		scale := make([]float32, hi-lo)
		for c, s := range sums {
			scale[c] = 1
			if n := math.Sqrt(s); n > r64 {
				scale[c] = float32(r64 / n)
			}
		}
		for r := 0; r < rows; r++ {
			row := xd[r*cols+lo : r*cols+hi]
			for c := range row {
				row[c] *= scale[c]
			}
		}
	})
}

// NormalizeRows: norms[r] = √(ε + ‖x[r,:]‖²), dst[r,c] = x[r,c]/norms[r].
// x, dst [rows, cols]; norms [rows].
func (be *Backend) NormalizeRows(dst, norms, x kernels.Tensor, eps float32) {
	const op = "NormalizeRows"
	dd, nd, xd := data(op, dst), data(op, norms), data(op, x)
	kernels.CheckLen(op, dst, x)
	rows, cols := kernels.CheckNorms(op, norms, x, kernels.PerRow)
	noAlias(op, dst, x, norms)
	noAlias(op, norms, x)
	be.parallelFor(rows, rows*cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n := math.Sqrt(float64(eps) + sumSquares(xd[r*cols:(r+1)*cols]))
			nd[r] = float32(n)
			inv := 1 / n
			xs, ds := xd[r*cols:(r+1)*cols], dd[r*cols:(r+1)*cols]
			for c, v := range xs {
				ds[c] = float32(float64(v) * inv)
			}
		}
	})
}

// NormalizeRowsBackward: with y and norms from NormalizeRows and dy = ∂L/∂y,
// dx[r,c] = (dy[r,c] − y[r,c]·Σ_c' y[r,c']·dy[r,c'])/norms[r]. dx, dy, y [rows, cols].
func (be *Backend) NormalizeRowsBackward(dx, dy, y, norms kernels.Tensor) {
	const op = "NormalizeRowsBackward"
	dxd, dyd, yd, nd := data(op, dx), data(op, dy), data(op, y), data(op, norms)
	kernels.CheckLen(op, dx, dy, y)
	rows, cols := kernels.CheckNorms(op, norms, y, kernels.PerRow)
	noAlias(op, dx, dy, y, norms)
	be.parallelFor(rows, rows*cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ys, dys, dxs := yd[r*cols:(r+1)*cols], dyd[r*cols:(r+1)*cols], dxd[r*cols:(r+1)*cols]
			var dot float64
			for c, v := range ys {
				dot += float64(v) * float64(dys[c])
			}
			inv := 1 / float64(nd[r])
			for c, v := range ys {
				dxs[c] = float32((float64(dys[c]) - float64(v)*dot) * inv)
			}
		}
	})
}

// sumSquares is Σ v², in float64.
func sumSquares(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

// colSumSquares returns Σ_r x[r,c]² for c in [lo, hi) of x [rows, cols], in float64, reading
// x row by row.
func colSumSquares(x []float32, rows, cols, lo, hi int) []float64 {
	sums := make([]float64, hi-lo)
	for r := 0; r < rows; r++ {
		for c, v := range x[r*cols+lo : r*cols+hi] {
			sums[c] += float64(v) * float64(v)
		}
	}
	return sums
}

// Reduce: with f(v) = v, |v| or v² (op), PerRow: dst[r] = Σ_c f(x[r,c]) (dst [rows]); PerCol:
// dst[c] = Σ_r f(x[r,c]) (dst [cols]). Summed in float64 and rounded once.
func (be *Backend) Reduce(dst, x kernels.Tensor, op kernels.ReduceOp, axis kernels.Axis) {
	dd, xd := data("Reduce", dst), data("Reduce", x)
	rows, cols := kernels.CheckReduce(dst, x, op, axis)
	kernels.CheckNoAlias("Reduce", sameStorage, []string{"dst", "x"}, dst, x)
	if axis == kernels.PerRow {
		be.parallelFor(rows, rows*cols, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				dd[r] = float32(reduceSlice(xd[r*cols:(r+1)*cols], op))
			}
		})
		return
	}
	be.parallelFor(cols, rows*cols, func(lo, hi int) {
		sums := make([]float64, hi-lo)
		for r := 0; r < rows; r++ {
			row := xd[r*cols+lo : r*cols+hi]
			switch op {
			case kernels.ReduceSum:
				for c, v := range row {
					sums[c] += float64(v)
				}
			case kernels.ReduceAbs:
				for c, v := range row {
					sums[c] += math.Abs(float64(v))
				}
			case kernels.ReduceSquares:
				for c, v := range row {
					sums[c] += float64(v) * float64(v)
				}
			}
		}
		for c, s := range sums {
			dd[lo+c] = float32(s)
		}
	})
}

// reduceSlice is Σ f(v) over v, in float64.
func reduceSlice(v []float32, op kernels.ReduceOp) float64 {
	var s float64
	switch op {
	case kernels.ReduceSum:
		for _, x := range v {
			s += float64(x)
		}
	case kernels.ReduceAbs:
		for _, x := range v {
			s += math.Abs(float64(x))
		}
	case kernels.ReduceSquares:
		s = sumSquares(v)
	}
	return s
}

// CountAbove: PerRow: dst[r] = Σ_c [|x[r,c]| > θ]; PerCol: dst[c] = Σ_r [|x[r,c]| > θ]. NaN is
// never above θ. Counted in integers; exact as floats up to 2²⁴.
func (be *Backend) CountAbove(dst, x kernels.Tensor, theta float32, axis kernels.Axis) {
	dd, xd := data("CountAbove", dst), data("CountAbove", x)
	rows, cols := kernels.CheckNorms("CountAbove", dst, x, axis)
	kernels.CheckNoAlias("CountAbove", sameStorage, []string{"dst", "x"}, dst, x)
	if axis == kernels.PerRow {
		be.parallelFor(rows, rows*cols, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				n := 0
				for _, v := range xd[r*cols : (r+1)*cols] {
					if abs(v) > theta { // false for NaN
						n++
					}
				}
				dd[r] = float32(n)
			}
		})
		return
	}
	be.parallelFor(cols, rows*cols, func(lo, hi int) {
		counts := make([]int, hi-lo)
		for r := 0; r < rows; r++ {
			for c, v := range xd[r*cols+lo : r*cols+hi] {
				if abs(v) > theta {
					counts[c]++
				}
			}
		}
		for c, n := range counts {
			dd[lo+c] = float32(n)
		}
	})
}
