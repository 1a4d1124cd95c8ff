package gpu

import "github.com/drsae/drsae/kernels"

// The shrinkage ops: x and dst are [rows, m], θ is [m]. shrink.comp and its backward shaders
// serve both the two-sided (soft) and the one-sided (ONE_SIDED) variant.

// SoftShrink: dst[r,i] = sign(x[r,i])·max(|x[r,i]| − θ[i], 0).
func (b *Backend) SoftShrink(dst, x, theta kernels.Tensor) {
	b.shrink("SoftShrink", "", dst, x, theta)
}

// PosShrink: dst[r,i] = max(x[r,i] − θ[i], 0).
func (b *Backend) PosShrink(dst, x, theta kernels.Tensor) {
	b.shrink("PosShrink", "ONE_SIDED", dst, x, theta)
}

// SoftShrinkBackward: dx[r,i] = dy[r,i]·[|x[r,i]| > θ[i]];
// dtheta[i] = −Σ_r dy[r,i]·sign(x[r,i])·[|x[r,i]| > θ[i]] if dtheta is not nil.
func (b *Backend) SoftShrinkBackward(dx, dtheta, dy, x, theta kernels.Tensor) {
	b.shrinkBackward("SoftShrinkBackward", "", dx, dtheta, dy, x, theta)
}

// PosShrinkBackward: dx[r,i] = dy[r,i]·[x[r,i] > θ[i]];
// dtheta[i] = −Σ_r dy[r,i]·[x[r,i] > θ[i]] if dtheta is not nil.
func (b *Backend) PosShrinkBackward(dx, dtheta, dy, x, theta kernels.Tensor) {
	b.shrinkBackward("PosShrinkBackward", "ONE_SIDED", dx, dtheta, dy, x, theta)
}

func (b *Backend) shrink(op, defines string, dst, x, theta kernels.Tensor) {
	rows, m := kernels.CheckShrink(op, dst, x, theta)
	d, xt, tt := b.t(op, dst), b.t(op, x), b.t(op, theta)
	c := b.kernel(op, b.program("shrink.comp", elemLocal, defines))
	c.out(d).in(xt).in(tt).u32(rows * m).u32(m)
	b.elements(&c, rows*m)
}

// Column blocks of the column reductions (COL_BLOCK in header.glsl).
const colBlock = 32

func (b *Backend) shrinkBackward(op, defines string, dx, dtheta, dy, x, theta kernels.Tensor) {
	rows, m := kernels.CheckShrinkBackward(op, dx, dtheta, dy, x, theta)
	dxt, dyt, xt, tt := b.t(op, dx), b.t(op, dy), b.t(op, x), b.t(op, theta)
	if dtheta != nil {
		// First, while dy and x are intact: dx may alias either of them.
		// Summed in parts of colSpan rows (see reduce.go), into dtheta, or into a scratch
		// vector when dtheta is θ itself, which the later parts still read.
		dtt := b.t(op, dtheta)
		sum := dtt
		if rows > colSpan && dtt.buf == tt.buf {
			sum = b.scratch(op, m)
		}
		prog := b.program("shrink_dtheta.comp", elemLocal, "COLUMN_REDUCE\n"+defines)
		for r0 := 0; r0 == 0 || r0 < rows; r0 += colSpan {
			c := b.kernel(op, prog)
			c.out(sum).in(dyt).in(xt).in(tt).u32(rows).u32(m).u32(r0).u32(min(rows, r0+colSpan)).u32(b2i(r0 > 0))
			b.groups(&c, (m+colBlock-1)/colBlock)
		}
		if sum != dtt {
			b.submit(&command{kind: cmdCopy, op: op, buf: dtt.buf, src: sum.buf, bytes: 4 * m})
			b.release(op, sum)
		}
	}
	c := b.kernel(op, b.program("shrink_backward.comp", elemLocal, defines))
	c.out(dxt).in(dyt).in(xt).in(tt).u32(rows * m).u32(m)
	b.elements(&c, rows*m)
}
