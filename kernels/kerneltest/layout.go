package kerneltest

import (
	"fmt"
	"math"
	"slices"
)

// testLayout: Transpose and ScatterCols, which move values without arithmetic: every result is
// exact.
func testLayout(s *suite) {
	for _, sh := range []struct {
		rows, cols int
		big        bool
	}{
		{1, 1, false}, {1, 7, false}, {7, 1, false}, {33, 7, false}, {7, 33, false},
		{32, 32, false}, {64, 96, false}, {257, 33, false}, {31, 257, false}, {1000, 1000, true},
	} {
		rows, cols := sh.rows, sh.cols
		s.run(fmt.Sprintf("Transpose/[%d %d]", rows, cols), sh.big, func(c *tc) {
			x := c.normal(rows*cols, 1)
			src := c.in("src", x, rows, cols)
			dst := c.out("dst", nil, cols, rows)
			c.b.Transpose(dst, src)
			c.settle("Transpose")
			c.expect("Transpose", "dst", dst, transpose(rows, cols, f64(x)), nil, tol{}) // exact
		})
	}

	for _, sh := range []struct {
		dst, src []int // dst [n, m], src [n, k] (as Dims2 views them)
		big      bool
	}{
		{[]int{1, 1}, []int{1, 1}, false},
		{[]int{7}, []int{3}, false},       // rank 1: one row
		{[]int{1, 7}, []int{1, 7}, false}, // five of the seven columns written
		{[]int{7, 1}, []int{7, 3}, false}, // one valid index, two skipped
		{[]int{33, 7}, []int{33, 7}, false},
		{[]int{33, 64}, []int{33, 12}, false},
		{[]int{257, 33}, []int{257, 40}, false}, // more src columns than dst has: some skipped
		{[]int{2, 3, 5}, []int{2, 3, 4}, false}, // rank 3: 6 rows
		{[]int{1000, 1000}, []int{1000, 500}, true},
	} {
		dshape, sshape := sh.dst, sh.src
		s.run(fmt.Sprintf("ScatterCols/%v<-%v", dshape, sshape), sh.big, func(c *tc) {
			n, m := rowsCols(dshape)
			_, k := rowsCols(sshape)
			idx := c.scatterIndices(m, k)
			d0, x := c.normal(n*m, 1), c.normal(n*k, 1)
			src, it := c.in("src", x, sshape...), c.in("idx", idx, k)
			dst := c.out("dst", d0, dshape...)
			c.b.ScatterCols(dst, src, it)
			c.settle("ScatterCols")
			c.expect("ScatterCols", "dst", dst, refScatterCols(n, m, k, f64(d0), f64(x), f64(idx)), nil, tol{}) // exact
		})
	}
}

// scatterIndices draws k indices into m columns, in random order: distinct whole numbers in
// [0, m) (column 0 written as −0, still a valid index) and, for about a third of them (and all
// beyond m), indices that must be skipped: negative, ≥ m, not whole (some just above a valid
// column, which truncation would hit), NaN and ±Inf.
func (c *tc) scatterIndices(m, k int) []float32 {
	valid := min(m, k-k/3)
	cols := c.rng.Perm(m)[:valid]
	bad := []float32{-1, float32(m), 0.5, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(m) + 0.5, -0.5, 1e30, 2.25}
	idx := make([]float32, 0, k)
	for _, col := range cols {
		if col == 0 {
			idx = append(idx, float32(math.Copysign(0, -1)))
		} else {
			idx = append(idx, float32(col))
		}
	}
	for i := 0; len(idx) < k; i++ {
		idx = append(idx, bad[i%len(bad)])
	}
	c.rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	return slices.Clip(idx)
}
