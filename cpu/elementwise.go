package cpu

import "github.com/drsae/drsae/kernels"

// Elementwise ops: every tensor has the same length n unless stated; dst may be an input. The
// loops are be.vec's (vec.go).

// Fill: dst[i] = v.
func (be *Backend) Fill(dst kernels.Tensor, v float32) {
	d := data("Fill", dst)
	be.parallelFor(len(d), memoryWork(len(d)), func(lo, hi int) { be.vec.fill(d[lo:hi], v) })
}

// Axpby: y[i] = α·x[i] + β·y[i]; with β = 0, y is not read.
func (be *Backend) Axpby(alpha float32, x kernels.Tensor, beta float32, y kernels.Tensor) {
	xd, yd := data("Axpby", x), data("Axpby", y)
	n := kernels.CheckLen("Axpby", x, y)
	be.parallelFor(n, memoryWork(n), func(lo, hi int) { be.vec.axpby(alpha, xd[lo:hi], beta, yd[lo:hi]) })
}

// Hadamard: dst[i] = x[i]·y[i].
func (be *Backend) Hadamard(dst, x, y kernels.Tensor) {
	dd, xd, yd := data("Hadamard", dst), data("Hadamard", x), data("Hadamard", y)
	n := kernels.CheckLen("Hadamard", dst, x, y)
	be.parallelFor(n, memoryWork(n), func(lo, hi int) { be.vec.mul(dd[lo:hi], xd[lo:hi], yd[lo:hi]) })
}

// Div: dst[i] = x[i]/y[i] (IEEE: x/0 is ±Inf, 0/0 is NaN).
func (be *Backend) Div(dst, x, y kernels.Tensor) {
	dd, xd, yd := data("Div", dst), data("Div", x), data("Div", y)
	n := kernels.CheckLen("Div", dst, x, y)
	be.parallelFor(n, memoryWork(n), func(lo, hi int) { be.vec.div(dd[lo:hi], xd[lo:hi], yd[lo:hi]) })
}

// BroadcastAdd: x, dst [rows, cols]; PerCol: dst[r,c] = x[r,c] + α·v[c] (v [cols]);
// PerRow: dst[r,c] = x[r,c] + α·v[r] (v [rows]).
func (be *Backend) BroadcastAdd(dst, x kernels.Tensor, alpha float32, v kernels.Tensor, axis kernels.Axis) {
	dd, xd, vd := data("BroadcastAdd", dst), data("BroadcastAdd", x), data("BroadcastAdd", v)
	rows, cols := kernels.CheckBroadcast("BroadcastAdd", dst, x, v, axis)
	be.parallelFor(rows, memoryWork(rows*cols), func(lo, hi int) {
		if axis == kernels.PerCol {
			be.vec.addScaled(dd[lo*cols:hi*cols], xd[lo*cols:hi*cols], alpha, vd[:cols])
			return
		}
		for r := lo; r < hi; r++ {
			be.vec.addConst(dd[r*cols:(r+1)*cols], xd[r*cols:(r+1)*cols], alpha*vd[r])
		}
	})
}

// BroadcastMul: x, dst [rows, cols]; PerCol: dst[r,c] = x[r,c]·v[c]; PerRow: dst[r,c] = x[r,c]·v[r].
func (be *Backend) BroadcastMul(dst, x, v kernels.Tensor, axis kernels.Axis) {
	dd, xd, vd := data("BroadcastMul", dst), data("BroadcastMul", x), data("BroadcastMul", v)
	rows, cols := kernels.CheckBroadcast("BroadcastMul", dst, x, v, axis)
	be.parallelFor(rows, memoryWork(rows*cols), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ds, xs := dd[r*cols:(r+1)*cols], xd[r*cols:(r+1)*cols]
			if axis == kernels.PerRow {
				be.vec.mulConst(ds, xs, vd[r])
			} else {
				be.vec.mul(ds, xs, vd[:cols])
			}
		}
	})
}
