package cpu

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// Layout ops: values move without arithmetic, so the results are exact.

// transposeBlock is the side of the square blocks Transpose copies at a time, so that both the
// rows read and the rows written stay in cache.
const transposeBlock = 32

// Transpose: src [rows, cols], dst [cols, rows]: dst[j,i] = src[i,j]. dst must not share storage
// with src.
func (be *Backend) Transpose(dst, src kernels.Tensor) {
	dd, sd := data("Transpose", dst), data("Transpose", src)
	rows, cols := kernels.CheckTranspose(dst, src)
	kernels.CheckNoAlias("Transpose", sameStorage, []string{"dst", "src"}, dst, src)
	// Each goroutine owns a range of dst rows (src columns).
	be.parallelFor(cols, rows*cols, func(lo, hi int) {
		for i0 := 0; i0 < rows; i0 += transposeBlock {
			i1 := min(i0+transposeBlock, rows)
			for j0 := lo; j0 < hi; j0 += transposeBlock {
				j1 := min(j0+transposeBlock, hi)
				for j := j0; j < j1; j++ {
					out := dd[j*rows+i0 : j*rows+i1]
					for i := range out {
						out[i] = sd[(i0+i)*cols+j]
					}
				}
			}
		}
	})
}

// ScatterCols: dst [n, m], src [n, k], idx [k]: dst[i, idx[j]] = src[i, j]; the other columns of
// dst are unchanged, and an index that is not a whole number in [0, m) is skipped. With repeated
// indices the last such column of src wins here (the contract leaves it unspecified).
func (be *Backend) ScatterCols(dst, src, idx kernels.Tensor) {
	const op = "ScatterCols"
	dd, sd, id := data(op, dst), data(op, src), data(op, idx)
	n, m, k := kernels.CheckScatterCols(dst, src, idx)
	kernels.CheckNoAlias(op, sameStorage, []string{"dst", "src", "idx"}, dst, src, idx)
	cols := make([]int, k) // the column of dst of each column of src, or −1
	for j, f := range id {
		cols[j] = -1
		if v := float64(f); v >= 0 && v < float64(m) && v == math.Trunc(v) {
			cols[j] = int(v)
		}
	}
	be.parallelFor(n, n*k, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ds, ss := dd[i*m:(i+1)*m], sd[i*k:(i+1)*k]
			for j, c := range cols {
				if c >= 0 {
					ds[c] = ss[j]
				}
			}
		}
	})
}
