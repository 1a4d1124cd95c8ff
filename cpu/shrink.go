package cpu

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// Shrinkage: x and dst are [rows, m], θ is [m] (one threshold per unit). In the forward ops
// dst may be x; the backward ops' outputs must not share storage with their inputs.

// SoftShrink: dst[r,i] = sign(x[r,i])·max(|x[r,i]| − θ[i], 0).
func (be *Backend) SoftShrink(dst, x, theta kernels.Tensor) {
	dd, xd, td := data("SoftShrink", dst), data("SoftShrink", x), data("SoftShrink", theta)
	rows, m := kernels.CheckShrink("SoftShrink", dst, x, theta)
	be.parallelFor(rows, rows*m, func(lo, hi int) {
		th := td[:m]
		for r := lo; r < hi; r++ {
			ds, xs := dd[r*m:(r+1)*m], xd[r*m:(r+1)*m]
			for i, v := range xs {
				// sign(v)·max(|v|−θ, 0) with the sign copied bitwise: no data-dependent branch,
				// which random-signed codes would mispredict half the time.
				r := max(abs(v)-th[i], 0)
				ds[i] = math.Float32frombits(math.Float32bits(r) | math.Float32bits(v)&(1<<31))
			}
		}
	})
}

// PosShrink: dst[r,i] = max(x[r,i] − θ[i], 0).
func (be *Backend) PosShrink(dst, x, theta kernels.Tensor) {
	dd, xd, td := data("PosShrink", dst), data("PosShrink", x), data("PosShrink", theta)
	rows, m := kernels.CheckShrink("PosShrink", dst, x, theta)
	be.parallelFor(rows, rows*m, func(lo, hi int) {
		th := td[:m]
		for r := lo; r < hi; r++ {
			ds, xs := dd[r*m:(r+1)*m], xd[r*m:(r+1)*m]
			for i, v := range xs {
				ds[i] = max(v-th[i], 0)
			}
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
	be.parallelFor(m, rows*m, func(lo, hi int) {
		var sums []float64
		if dtd != nil {
			sums = make([]float64, hi-lo)
		}
		th := td[lo:hi]
		for r := 0; r < rows; r++ {
			o := r*m + lo
			dxs, dys, xs := dxd[o:o+hi-lo], dyd[o:o+hi-lo], xd[o:o+hi-lo]
			for i, v := range xs {
				// Where the unit passes its threshold, ∂dst/∂x = 1 and ∂dst/∂θ = −sign(x)
				// (two-sided) or −1 (one-sided).
				g, active, s := dys[i], v > th[i], float32(1)
				if twoSided {
					active, s = abs(v) > th[i], sign(v)
				}
				if !active {
					dxs[i] = 0
					continue
				}
				if sums != nil {
					sums[i] -= float64(s * g)
				}
				dxs[i] = g
			}
		}
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
