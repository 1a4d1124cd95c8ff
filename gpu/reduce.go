package gpu

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
)

// The reductions over rows or columns of x [rows, cols]. Per row: one work group per row, a
// strided pass and a shared-memory tree (groupSum). Per column: one work group per block of 32
// columns with 8 lanes per column, so that reads stay coalesced (columnSum).

// Work-group width of the row and column reductions.
const reduceLocal = 256

// Norms: PerRow: dst[r] = ‖x[r,:]‖₂; PerCol: dst[c] = ‖x[:,c]‖₂.
func (b *Backend) Norms(dst, x kernels.Tensor, axis kernels.Axis) {
	rows, cols := kernels.CheckNorms("Norms", dst, x, axis)
	d, xt := b.t("Norms", dst), b.t("Norms", x)
	if axis == kernels.PerRow {
		c := b.kernel("Norms", b.program("norms_rows.comp", reduceLocal, "GROUP_REDUCE"))
		c.out(d).in(xt).u32(rows).u32(cols)
		b.groups(&c, rows)
		return
	}
	c := b.kernel("Norms", b.program("norms_cols.comp", reduceLocal, "COLUMN_REDUCE"))
	c.out(d).in(xt).u32(rows).u32(cols)
	b.groups(&c, (cols+colBlock-1)/colBlock)
}

// ProjectNormBall scales, in place, every row (PerRow) or column (PerCol) of x whose L2 norm
// exceeds radius down to norm radius; the others are unchanged.
func (b *Backend) ProjectNormBall(x kernels.Tensor, radius float32, axis kernels.Axis) {
	rows, cols := kernels.CheckNorms("ProjectNormBall", nil, x, axis)
	xt := b.t("ProjectNormBall", x)
	if axis == kernels.PerRow {
		c := b.kernel("ProjectNormBall", b.program("project_rows.comp", reduceLocal, "GROUP_REDUCE"))
		c.out(xt).u32(rows).u32(cols).f32(radius)
		b.groups(&c, rows)
		return
	}
	c := b.kernel("ProjectNormBall", b.program("project_cols.comp", reduceLocal, "COLUMN_REDUCE"))
	c.out(xt).u32(rows).u32(cols).f32(radius)
	b.groups(&c, (cols+colBlock-1)/colBlock)
}

// NormalizeRows: norms[r] = √(ε + ‖x[r,:]‖²), dst[r,c] = x[r,c]/norms[r]. dst must not alias x.
func (b *Backend) NormalizeRows(dst, norms, x kernels.Tensor, eps float32) {
	kernels.CheckLen("NormalizeRows", dst, x)
	rows, cols := kernels.CheckNorms("NormalizeRows", norms, x, kernels.PerRow)
	d, nt, xt := b.t("NormalizeRows", dst), b.t("NormalizeRows", norms), b.t("NormalizeRows", x)
	if d.buf == xt.buf || nt.buf == xt.buf {
		panic(fmt.Sprintf("kernels: NormalizeRows: an output shares storage with x %v", xt.shape))
	}
	c := b.kernel("NormalizeRows", b.program("normalize_rows.comp", reduceLocal, "GROUP_REDUCE"))
	c.out(d).out(nt).in(xt).u32(rows).u32(cols).f32(eps)
	b.groups(&c, rows)
}

// NormalizeRowsBackward: dx[r,c] = (dy[r,c] − y[r,c]·Σ_c' y[r,c']·dy[r,c'])/norms[r].
func (b *Backend) NormalizeRowsBackward(dx, dy, y, norms kernels.Tensor) {
	const op = "NormalizeRowsBackward"
	kernels.CheckLen(op, dx, dy, y)
	rows, cols := kernels.CheckNorms(op, norms, y, kernels.PerRow)
	dxt, dyt, yt, nt := b.t(op, dx), b.t(op, dy), b.t(op, y), b.t(op, norms)
	c := b.kernel(op, b.program("normalize_rows_backward.comp", reduceLocal, "GROUP_REDUCE"))
	c.out(dxt).in(dyt).in(yt).in(nt).u32(rows).u32(cols)
	b.groups(&c, rows)
}
