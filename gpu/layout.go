package gpu

import "github.com/drsae/drsae/kernels"

// Layout ops: values move without arithmetic, so the results are exact.

// Work-group width of transpose.comp: 8 rows of a 32×32 tile at a time.
const transposeLocal = 256

// transposeTile is the side of the tiles of transpose.comp (TILE).
const transposeTile = 32

// Transpose: src [rows, cols], dst [cols, rows]: dst[j,i] = src[i,j]. dst must not share storage
// with src.
func (b *Backend) Transpose(dst, src kernels.Tensor) {
	rows, cols := kernels.CheckTranspose(dst, src)
	d, s := b.t("Transpose", dst), b.t("Transpose", src)
	kernels.CheckNoAlias("Transpose", sameBuffer, []string{"dst", "src"}, dst, src)
	c := b.kernel("Transpose", b.program("transpose.comp", transposeLocal, ""))
	c.out(d).in(s).u32(rows).u32(cols)
	tiles := ((rows + transposeTile - 1) / transposeTile) * ((cols + transposeTile - 1) / transposeTile)
	b.groups(&c, tiles)
}

// ScatterCols: dst [n, m], src [n, k], idx [k]: dst[i, idx[j]] = src[i, j] for every idx[j]
// that is a whole number in [0, m); the other columns of dst are unchanged. With repeated
// indices, which column of src lands is unspecified (the invocations race). dst must not share
// storage with src or idx.
func (b *Backend) ScatterCols(dst, src, idx kernels.Tensor) {
	const op = "ScatterCols"
	n, m, k := kernels.CheckScatterCols(dst, src, idx)
	d, s, it := b.t(op, dst), b.t(op, src), b.t(op, idx)
	kernels.CheckNoAlias(op, sameBuffer, []string{"dst", "src", "idx"}, dst, src, idx)
	c := b.kernel(op, b.program("scatter_cols.comp", elemLocal, ""))
	c.out(d).in(s).in(it).u32(n * k).u32(k).u32(m)
	b.elements(&c, n*k)
}
