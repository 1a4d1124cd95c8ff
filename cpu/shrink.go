package cpu

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// Shrinkage: x and dst are [rows, m], θ is [m] (one threshold per unit). In the forward ops
// dst may be x; the backward ops' outputs must not share storage with their inputs.

// SoftShrink: dst[r,i] = sign(x[r,i])·max(|x[r,i]| − θ[i], 0).
func (be *Backend) SoftShrink(dst, x, theta kernels.Tensor) {
	be.shrink("SoftShrink", true, dst, x, theta)
}

// PosShrink: dst[r,i] = max(x[r,i] − θ[i], 0).
func (be *Backend) PosShrink(dst, x, theta kernels.Tensor) {
	be.shrink("PosShrink", false, dst, x, theta)
}

func (be *Backend) shrink(op string, twoSided bool, dst, x, theta kernels.Tensor) {
	dd, xd, td := data(op, dst), data(op, x), data(op, theta)
	rows, m := kernels.CheckShrink(op, dst, x, theta)
	be.parallelFor(rows, memoryWork(rows*m), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			be.vec.shrink(dd[r*m:(r+1)*m], xd[r*m:(r+1)*m], td[:m], twoSided)
		}
	})
}

// SoftShrinkBackward: dx[r,i] = dy[r,i]·[|x[r,i]| > θ[i]]; if dtheta is not nil (shape [m]),
// dtheta[i] = −Σ_r dy[r,i]·sign(x[r,i])·[|x[r,i]| > θ[i]] (summed in float64).
func (be *Backend) SoftShrinkBackward(dx, dtheta, dy, x, theta kernels.Tensor) {
	be.shrinkBackward("SoftShrinkBackward", true, dx, dtheta, dy, x, theta)
}

// PosShrinkBackward: dx[r,i] = dy[r,i]·[x[r,i] > θ[i]]; if dtheta is not nil,
// dtheta[i] = −Σ_r dy[r,i]·[x[r,i] > θ[i]] (summed in float64).
func (be *Backend) PosShrinkBackward(dx, dtheta, dy, x, theta kernels.Tensor) {
	be.shrinkBackward("PosShrinkBackward", false, dx, dtheta, dy, x, theta)
}

// shrinkBackward is both backward passes; two-sided selects SoftShrink's. The goroutines split
// the units, so each owns its dtheta[i] and sums the rows in order.
func (be *Backend) shrinkBackward(op string, twoSided bool, dx, dtheta, dy, x, theta kernels.Tensor) {
	dxd, dyd, xd, td := data(op, dx), data(op, dy), data(op, x), data(op, theta)
	var dtd []float32
	if dtheta != nil {
		dtd = data(op, dtheta)
	}
	rows, m := kernels.CheckShrinkBackward(op, dx, dtheta, dy, x, theta)
	noAlias(op, dx, dy, x, theta)
	if dtheta != nil {
		noAlias(op, dtheta, dx, dy, x, theta)
	}
	be.parallelFor(m, memoryWork(rows*m), func(lo, hi int) {
		var sums []float64
		if dtd != nil {
			sums = make([]float64, hi-lo)
		}
		be.vec.shrinkBackward(dxd[lo:], dyd[lo:], xd[lo:], m, rows, td[lo:hi], sums, twoSided)
		for i, s := range sums {
			dtd[lo+i] = float32(s)
		}
	})
}

// sign is −1, 0 or 1 (NaN for NaN).
func sign(v float32) float32 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return v * 0
}

func abs(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
