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

// Mesa llvmpipe ends a shader invocation's loops after 65,535 iterations in all
// (LP_MAX_TGSI_LOOP_ITERATIONS, shared by every loop of the shader; see gemmSplitK), and these
// shaders loop over a row in strides of the work group and over a column in strides of its
// COL_LANES lanes, up to three such loops in one shader: past 8 million columns (rows of 256) or
// 262,144 rows (columns of 8 lanes) the results came back silently wrong. So one dispatch covers
// at most spanStrides strides: longer rows (rowSpan columns) and taller columns (colSpan rows)
// are done in parts over several dispatches, their sums carried in the output or in a scratch
// buffer. The parts cost nothing on a GPU, where such a row or column is a long sum anyway.
const (
	spanStrides = 16384
	rowSpan     = spanStrides * reduceLocal              // 4,194,304 columns
	colSpan     = spanStrides * (reduceLocal / colBlock) // 131,072 rows
)

// Norms: PerRow: dst[r] = ‖x[r,:]‖₂; PerCol: dst[c] = ‖x[:,c]‖₂.
func (b *Backend) Norms(dst, x kernels.Tensor, axis kernels.Axis) {
	rows, cols := kernels.CheckNorms("Norms", dst, x, axis)
	d, xt := b.t("Norms", dst), b.t("Norms", x)
	if axis == kernels.PerRow {
		b.rowNorms("Norms", d, xt, rows, cols, 0)
		return
	}
	b.colNorms("Norms", d, xt, rows, cols)
}

// rowNorms: dst[r] = √(ε + ‖x[r,:]‖²), in parts of rowSpan columns, dst holding the sums of
// squares in between.
func (b *Backend) rowNorms(op string, dst, x *tensor, rows, cols int, eps float32) {
	prog := b.program("norms_rows.comp", reduceLocal, "GROUP_REDUCE")
	for c0 := 0; c0 == 0 || c0 < cols; c0 += rowSpan {
		c1 := min(cols, c0+rowSpan)
		c := b.kernel(op, prog)
		c.out(dst).in(x).u32(rows).u32(cols).u32(c0).u32(c1).u32(b2i(c0 > 0)).u32(b2i(c1 == cols)).f32(eps)
		b.groups(&c, rows)
	}
}

// colNorms: dst[c] = ‖x[:,c]‖₂, in parts of colSpan rows, dst holding the sums of squares in
// between.
func (b *Backend) colNorms(op string, dst, x *tensor, rows, cols int) {
	prog := b.program("norms_cols.comp", reduceLocal, "COLUMN_REDUCE")
	for r0 := 0; r0 == 0 || r0 < rows; r0 += colSpan {
		r1 := min(rows, r0+colSpan)
		c := b.kernel(op, prog)
		c.out(dst).in(x).u32(rows).u32(cols).u32(r0).u32(r1).u32(b2i(r0 > 0)).u32(b2i(r1 == rows))
		b.groups(&c, (cols+colBlock-1)/colBlock)
	}
}

// scratch allocates a tensor for one call's intermediate results, of its own (so that
// concurrent callers never share one); release it once the dispatches that use it are queued.
func (b *Backend) scratch(op string, shape ...int) *tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	t := &tensor{buf: &buffer{owner: b, bytes: 4 * max(n, 1)}, shape: shape, n: n}
	b.submit(&command{kind: cmdAlloc, op: op, buf: t.buf})
	return t
}

// release frees a scratch tensor; GL deletes it after the dispatches queued before ran.
func (b *Backend) release(op string, t *tensor) {
	t.buf.freed.Store(true)
	b.submit(&command{kind: cmdFree, op: op, buf: t.buf})
}

// ProjectNormBall scales, in place, every row (PerRow) or column (PerCol) of x whose L2 norm
// exceeds radius down to norm radius; the others are unchanged. Rows past rowSpan and columns
// past colSpan get their norms first (rowNorms, colNorms), then are scaled in parts.
func (b *Backend) ProjectNormBall(x kernels.Tensor, radius float32, axis kernels.Axis) {
	const op = "ProjectNormBall"
	rows, cols := kernels.CheckNorms(op, nil, x, axis)
	xt := b.t(op, x)
	if axis == kernels.PerRow {
		if cols <= rowSpan {
			c := b.kernel(op, b.program("project_rows.comp", reduceLocal, "GROUP_REDUCE"))
			c.out(xt).u32(rows).u32(cols).f32(radius).u32(0).u32(cols)
			b.groups(&c, rows)
			return
		}
		norms := b.scratch(op, rows)
		b.rowNorms(op, norms, xt, rows, cols, 0)
		prog := b.program("project_rows.comp", reduceLocal, "GIVEN_NORMS")
		for c0 := 0; c0 < cols; c0 += rowSpan {
			c := b.kernel(op, prog)
			c.out(xt).in(norms).u32(rows).u32(cols).f32(radius).u32(c0).u32(min(cols, c0+rowSpan))
			b.groups(&c, rows)
		}
		b.release(op, norms)
		return
	}
	blocks := (cols + colBlock - 1) / colBlock
	if rows <= colSpan {
		c := b.kernel(op, b.program("project_cols.comp", reduceLocal, "COLUMN_REDUCE"))
		c.out(xt).u32(rows).u32(cols).f32(radius).u32(0).u32(rows)
		b.groups(&c, blocks)
		return
	}
	norms := b.scratch(op, cols)
	b.colNorms(op, norms, xt, rows, cols)
	prog := b.program("project_cols.comp", reduceLocal, "COLUMN_REDUCE\nGIVEN_NORMS")
	for r0 := 0; r0 < rows; r0 += colSpan {
		c := b.kernel(op, prog)
		c.out(xt).in(norms).u32(rows).u32(cols).f32(radius).u32(r0).u32(min(rows, r0+colSpan))
		b.groups(&c, blocks)
	}
	b.release(op, norms)
}

// NormalizeRows: norms[r] = √(ε + ‖x[r,:]‖²), dst[r,c] = x[r,c]/norms[r]. dst must not alias x.
// Rows past rowSpan get their norms first (rowNorms), then are divided in parts.
func (b *Backend) NormalizeRows(dst, norms, x kernels.Tensor, eps float32) {
	kernels.CheckLen("NormalizeRows", dst, x)
	rows, cols := kernels.CheckNorms("NormalizeRows", norms, x, kernels.PerRow)
	d, nt, xt := b.t("NormalizeRows", dst), b.t("NormalizeRows", norms), b.t("NormalizeRows", x)
	if d.buf == xt.buf || nt.buf == xt.buf {
		panic(fmt.Sprintf("kernels: NormalizeRows: an output shares storage with x %v", xt.shape))
	}
	if cols <= rowSpan {
		c := b.kernel("NormalizeRows", b.program("normalize_rows.comp", reduceLocal, "GROUP_REDUCE"))
		c.out(d).out(nt).in(xt).u32(rows).u32(cols).u32(0).u32(cols).f32(eps)
		b.groups(&c, rows)
		return
	}
	b.rowNorms("NormalizeRows", nt, xt, rows, cols, eps)
	prog := b.program("normalize_rows.comp", reduceLocal, "GIVEN_NORMS")
	for c0 := 0; c0 < cols; c0 += rowSpan {
		c := b.kernel("NormalizeRows", prog)
		c.out(d).in(nt).in(xt).u32(rows).u32(cols).u32(c0).u32(min(cols, c0+rowSpan))
		b.groups(&c, rows)
	}
}

// NormalizeRowsBackward: dx[r,c] = (dy[r,c] − y[r,c]·Σ_c' y[r,c']·dy[r,c'])/norms[r]. Rows past
// rowSpan get their dot products first, in parts into a scratch vector, then dx in parts.
func (b *Backend) NormalizeRowsBackward(dx, dy, y, norms kernels.Tensor) {
	const op = "NormalizeRowsBackward"
	kernels.CheckLen(op, dx, dy, y)
	rows, cols := kernels.CheckNorms(op, norms, y, kernels.PerRow)
	dxt, dyt, yt, nt := b.t(op, dx), b.t(op, dy), b.t(op, y), b.t(op, norms)
	if cols <= rowSpan {
		c := b.kernel(op, b.program("normalize_rows_backward.comp", reduceLocal, "GROUP_REDUCE"))
		c.out(dxt).in(dyt).in(yt).in(nt).u32(rows).u32(cols).u32(0).u32(cols)
		b.groups(&c, rows)
		return
	}
	yd := b.scratch(op, rows)
	dot := b.program("normalize_rows_backward.comp", reduceLocal, "GROUP_REDUCE\nDOT")
	for c0 := 0; c0 < cols; c0 += rowSpan {
		c := b.kernel(op, dot)
		c.out(dxt).in(dyt).in(yt).in(nt).out(yd).u32(rows).u32(cols).u32(c0).u32(min(cols, c0+rowSpan)).u32(b2i(c0 > 0))
		b.groups(&c, rows)
	}
	apply := b.program("normalize_rows_backward.comp", reduceLocal, "GIVEN_DOT")
	for c0 := 0; c0 < cols; c0 += rowSpan {
		c := b.kernel(op, apply)
		c.out(dxt).in(dyt).in(yt).in(nt).in(yd).u32(rows).u32(cols).u32(c0).u32(min(cols, c0+rowSpan))
		b.groups(&c, rows)
	}
	b.release(op, yd)
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
		prog := b.program("reduce_cols.comp", reduceLocal, reduceColDefines[variant])
		for r0 := 0; r0 == 0 || r0 < rows; r0 += colSpan {
			c := b.kernel(op, prog)
			c.out(d).in(xt).u32(rows).u32(cols).u32(r0).u32(min(rows, r0+colSpan)).u32(b2i(r0 > 0))
			if variant == countAbove {
				c.f32(theta)
			}
			b.groups(&c, (cols+colBlock-1)/colBlock)
		}
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
	part := b.scratch(op, rows, split)
	c := b.kernel(op, b.program("reduce_rows.comp", reduceLocal, reduceRowDefines[variant]))
	c.out(part).in(xt).u32(rows).u32(cols).u32(split).u32(rowChunk)
	if variant == countAbove {
		c.f32(theta)
	}
	b.groups(&c, rows*split)
	c2 := b.kernel(op, b.program("reduce_rows.comp", reduceLocal, reduceRowDefines[kernels.ReduceSum]))
	c2.out(d).in(part).u32(rows).u32(split).u32(1).u32(split)
	b.groups(&c2, rows)
	b.release(op, part)
}
