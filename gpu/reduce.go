package gpu

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
)

// The reductions over rows or columns of x [rows, cols]. Per row: one work group per row, a
// strided pass and a shared-memory tree (groupSum); Reduce and CountAbove split long rows in a
// short matrix over several work groups and sum their partial sums in a second dispatch. Per
// column: one work group per block of 32 columns with 8 lanes per column, so that reads stay
// coalesced (columnSum).

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

// Variants of reduce_rows.comp and reduce_cols.comp, by ReduceOp, then CountAbove.
var (
	reduceRowDefines = [4]string{"GROUP_REDUCE", "GROUP_REDUCE\nREDUCE_ABS", "GROUP_REDUCE\nREDUCE_SQUARES", "GROUP_REDUCE\nCOUNT_ABOVE"}
	reduceColDefines = [4]string{"COLUMN_REDUCE", "COLUMN_REDUCE\nREDUCE_ABS", "COLUMN_REDUCE\nREDUCE_SQUARES", "COLUMN_REDUCE\nCOUNT_ABOVE"}
)

// countAbove indexes the CountAbove variants in reduceRowDefines and reduceColDefines.
const countAbove = 3

// Long rows are split over several work groups: one work group per row would leave a device
// with a few rows (a whole tensor reduced as one row) on a single compute unit. A row longer
// than 2·rowChunk, in a matrix of fewer than splitRows rows (fewer groups than a large device
// runs at once), is summed in chunks of rowChunk columns into a scratch [rows, split] buffer,
// whose rows a second dispatch then sums.
const (
	rowChunk  = 16 * reduceLocal
	splitRows = 1024
)

// Reduce: with f(v) = v, |v| or v², PerRow: dst[r] = Σ_c f(x[r,c]); PerCol: dst[c] = Σ_r f(x[r,c]).
// dst must not share storage with x.
func (b *Backend) Reduce(dst, x kernels.Tensor, op kernels.ReduceOp, axis kernels.Axis) {
	rows, cols := kernels.CheckReduce(dst, x, op, axis)
	b.reduce("Reduce", dst, x, int(op), 0, rows, cols, axis)
}

// CountAbove: PerRow: dst[r] = Σ_c [|x[r,c]| > θ]; PerCol: dst[c] = Σ_r [|x[r,c]| > θ]. NaN is
// never above θ. Counted in float32, exact up to 2²⁴. dst must not share storage with x.
func (b *Backend) CountAbove(dst, x kernels.Tensor, theta float32, axis kernels.Axis) {
	rows, cols := kernels.CheckNorms("CountAbove", dst, x, axis)
	b.reduce("CountAbove", dst, x, countAbove, theta, rows, cols, axis)
}

// reduce runs Reduce (variant = the ReduceOp) or CountAbove (variant = countAbove, with θ).
func (b *Backend) reduce(op string, dst, x kernels.Tensor, variant int, theta float32, rows, cols int, axis kernels.Axis) {
	d, xt := b.t(op, dst), b.t(op, x)
	kernels.CheckNoAlias(op, sameBuffer, []string{"dst", "x"}, dst, x)
	if axis == kernels.PerCol {
		c := b.kernel(op, b.program("reduce_cols.comp", reduceLocal, reduceColDefines[variant]))
		c.out(d).in(xt).u32(rows).u32(cols)
		if variant == countAbove {
			c.f32(theta)
		}
		b.groups(&c, (cols+colBlock-1)/colBlock)
		return
	}
	split := 1
	if cols > 2*rowChunk && rows < splitRows {
		split = (cols + rowChunk - 1) / rowChunk
	}
	if split == 1 {
		c := b.kernel(op, b.program("reduce_rows.comp", reduceLocal, reduceRowDefines[variant]))
		c.out(d).in(xt).u32(rows).u32(cols).u32(1).u32(cols)
		if variant == countAbove {
			c.f32(theta)
		}
		b.groups(&c, rows)
		return
	}
	// Partial sums in a scratch buffer of this call's own (so that concurrent callers never
	// share one), freed once both dispatches are queued: GL deletes it after they ran.
	part := &tensor{buf: &buffer{owner: b, bytes: 4 * rows * split}, shape: []int{rows, split}, n: rows * split}
	b.submit(&command{kind: cmdAlloc, op: op, buf: part.buf})
	c := b.kernel(op, b.program("reduce_rows.comp", reduceLocal, reduceRowDefines[variant]))
	c.out(part).in(xt).u32(rows).u32(cols).u32(split).u32(rowChunk)
	if variant == countAbove {
		c.f32(theta)
	}
	b.groups(&c, rows*split)
	c2 := b.kernel(op, b.program("reduce_rows.comp", reduceLocal, reduceRowDefines[kernels.ReduceSum]))
	c2.out(d).in(part).u32(rows).u32(split).u32(1).u32(split)
	b.groups(&c2, rows)
	part.buf.freed.Store(true)
	b.submit(&command{kind: cmdFree, op: op, buf: part.buf})
}
