package kerneltest

import (
	"github.com/drsae/drsae/kernels"
)

// testMisuse: shape mismatches (and a freed tensor) panic with a "kernels: <Op>:" message, and
// the backend still works afterwards.
func testMisuse(s *suite) {
	g1 := kernels.Conv2D{StrideH: 1, StrideW: 1}
	cases := []struct {
		op  string
		run func(c *tc)
	}{
		{"Gemm", func(c *tc) { // inner dimension 4 vs 5
			c.b.Gemm(false, false, 1, c.alloc(3, 4), c.alloc(5, 2), 0, c.alloc(3, 2))
		}},
		{"Gemm", func(c *tc) { // transposes change the inner dimension: Aᵀ is [4,3]
			c.b.Gemm(true, false, 1, c.alloc(3, 4), c.alloc(4, 2), 0, c.alloc(3, 2))
		}},
		{"Gemm", func(c *tc) { // C has the wrong shape
			c.b.Gemm(false, true, 1, c.alloc(3, 4), c.alloc(2, 4), 0, c.alloc(2, 3))
		}},
		{"Upload", func(c *tc) { c.b.Upload(c.alloc(3, 4), make([]float32, 11)) }},
		{"Download", func(c *tc) { _ = c.b.Download(make([]float32, 13), c.alloc(3, 4)) }},
		{"Copy", func(c *tc) { c.b.Copy(c.alloc(3, 4), c.alloc(13)) }},
		{"Reshape", func(c *tc) { c.b.Reshape(c.alloc(3, 4), 5, 2) }},
		{"Axpby", func(c *tc) { c.b.Axpby(1, c.alloc(7), 1, c.alloc(8)) }},
		{"Hadamard", func(c *tc) { c.b.Hadamard(c.alloc(7), c.alloc(7), c.alloc(6)) }},
		{"Div", func(c *tc) { c.b.Div(c.alloc(7), c.alloc(6), c.alloc(7)) }},
		{"BroadcastAdd", func(c *tc) { // PerRow wants [3]
			c.b.BroadcastAdd(c.alloc(3, 4), c.alloc(3, 4), 1, c.alloc(4), kernels.PerRow)
		}},
		{"BroadcastMul", func(c *tc) { c.b.BroadcastMul(c.alloc(3, 4), c.alloc(3, 4), c.alloc(4), kernels.Axis(7)) }},
		{"SoftShrink", func(c *tc) { c.b.SoftShrink(c.alloc(3, 4), c.alloc(3, 4), c.alloc(3)) }},
		{"PosShrink", func(c *tc) { c.b.PosShrink(c.alloc(3, 4), c.alloc(4, 4), c.alloc(4)) }},
		{"SoftShrinkBackward", func(c *tc) {
			c.b.SoftShrinkBackward(c.alloc(3, 4), c.alloc(3), c.alloc(3, 4), c.alloc(3, 4), c.alloc(4))
		}},
		{"PosShrinkBackward", func(c *tc) {
			c.b.PosShrinkBackward(c.alloc(3, 4), nil, c.alloc(2, 4), c.alloc(3, 4), c.alloc(4))
		}},
		{"ShrinkRecurrence", func(c *tc) { // zs holds 2.5 steps of 3 samples
			c.b.ShrinkRecurrence(c.alloc(15, 4), c.alloc(6, 4), c.alloc(6, 4), c.alloc(4, 4), c.alloc(4), true)
		}},
		{"ShrinkRecurrence", func(c *tc) { // code is the drive itself
			ct := c.alloc(3, 4)
			c.b.ShrinkRecurrence(c.alloc(2, 3, 4), ct, ct, c.alloc(4, 4), c.alloc(4), false)
		}},
		{"ShrinkRecurrenceBackward", func(c *tc) { // S is not [m,m]
			c.b.ShrinkRecurrenceBackward(c.alloc(6, 4), c.alloc(3, 4), nil, c.alloc(3, 4), c.alloc(6, 4), c.alloc(3, 4), c.alloc(4, 3))
		}},
		{"PoolNorms", func(c *tc) { // pools over 8 units, z has 9
			c.b.PoolNorms(c.alloc(2, 2), c.alloc(2, 9), c.newPools(mustLayout(kernels.DisjointPools(8, 4))), 0)
		}},
		{"PoolNormsBackward", func(c *tc) { // dz has the wrong length
			p := c.newPools(mustLayout(kernels.DisjointPools(8, 4)))
			c.b.PoolNormsBackward(c.alloc(2, 7), c.alloc(2, 2), c.alloc(2, 8), c.alloc(2, 2), p)
		}},
		{"BlockSoftThreshold", func(c *tc) { // overlapping pools
			p := c.newPools(mustLayout(kernels.TorusPools(4, 4, 3, 1, 0)))
			c.b.BlockSoftThreshold(c.alloc(2, 16), c.alloc(2, 16), p, 0.5)
		}},
		{"BlockSoftThreshold", func(c *tc) { // tree pools overlap too
			p := c.newPools(mustLayout(kernels.TreePools([]int{-1, 0, 0})))
			c.b.BlockSoftThreshold(c.alloc(1, 3), c.alloc(1, 3), p, 0.5)
		}},
		{"Conv2DForward", func(c *tc) { // x has 2 channels, w 3
			c.b.Conv2DForward(c.alloc(1, 4, 6, 6), c.alloc(1, 2, 8, 8), c.alloc(4, 3, 3, 3), g1)
		}},
		{"Conv2DBackwardData", func(c *tc) { // dx is 7×8, dy says 8×8
			c.b.Conv2DBackwardData(c.alloc(1, 2, 7, 8), c.alloc(1, 4, 6, 6), c.alloc(4, 2, 3, 3), g1)
		}},
		{"Conv2DBackwardFilter", func(c *tc) { // stride 0
			c.b.Conv2DBackwardFilter(c.alloc(4, 2, 3, 3), c.alloc(1, 2, 8, 8), c.alloc(1, 4, 6, 6), kernels.Conv2D{StrideW: 1})
		}},
		{"LocalForward", func(c *tc) { // w for a 5×6 output, y is 6×6
			c.b.LocalForward(c.alloc(1, 4, 6, 6), c.alloc(1, 2, 8, 8), c.alloc(5, 6, 4, 2, 3, 3), g1)
		}},
		{"LocalBackwardData", func(c *tc) { // w is a conv filter, not a local one
			c.b.LocalBackwardData(c.alloc(1, 2, 8, 8), c.alloc(1, 4, 6, 6), c.alloc(4, 2, 3, 3), g1)
		}},
		{"LocalBackwardFilter", func(c *tc) { // negative padding
			c.b.LocalBackwardFilter(c.alloc(6, 6, 4, 2, 3, 3), c.alloc(1, 2, 8, 8), c.alloc(1, 4, 6, 6),
				kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: -1})
		}},
		{"L2Pool2D", func(c *tc) { // y has 3 channels, x 2
			c.b.L2Pool2D(c.alloc(1, 3, 6, 6), c.alloc(1, 2, 8, 8), c.alloc(3, 3), g1, 0)
		}},
		{"L2Pool2DBackward", func(c *tc) { // window is not [KH,KW]
			c.b.L2Pool2DBackward(c.alloc(1, 2, 8, 8), c.alloc(1, 2, 6, 6), c.alloc(1, 2, 8, 8), c.alloc(1, 2, 6, 6), c.alloc(9), g1)
		}},
		{"Norms", func(c *tc) { c.b.Norms(c.alloc(4), c.alloc(3, 4), kernels.PerRow) }},
		{"ProjectNormBall", func(c *tc) { c.b.ProjectNormBall(c.alloc(3, 4), 1, kernels.Axis(-1)) }},
		{"NormalizeRows", func(c *tc) { c.b.NormalizeRows(c.alloc(3, 4), c.alloc(4), c.alloc(3, 4), 0) }},
		{"NormalizeRowsBackward", func(c *tc) {
			c.b.NormalizeRowsBackward(c.alloc(3, 4), c.alloc(3, 4), c.alloc(3, 4), c.alloc(2))
		}},
		{"SoftmaxXent", func(c *tc) { c.b.SoftmaxXent(c.alloc(3), c.alloc(3, 4), c.alloc(3, 4), c.alloc(4)) }},
		{"SoftmaxXent", func(c *tc) { c.b.SoftmaxXent(nil, c.alloc(3, 5), c.alloc(3, 4), c.alloc(3)) }},
		{"Argmax", func(c *tc) { c.b.Argmax(c.alloc(4), c.alloc(3, 4)) }},
		{"Transpose", func(c *tc) { c.b.Transpose(c.alloc(3, 4), c.alloc(3, 4)) }}, // dst must be [4,3]
		{"Transpose", func(c *tc) { // dst is src
			x := c.alloc(3, 3)
			c.b.Transpose(x, x)
		}},
		{"Transpose", func(c *tc) { // dst is a view of src
			x := c.alloc(2, 2)
			c.b.Transpose(c.b.Reshape(x, 2, 2), x)
		}},
		{"ScatterCols", func(c *tc) { c.b.ScatterCols(c.alloc(3, 5), c.alloc(4, 2), c.alloc(2)) }}, // rows differ
		{"ScatterCols", func(c *tc) { c.b.ScatterCols(c.alloc(3, 5), c.alloc(3, 2), c.alloc(3)) }}, // idx length
		{"ScatterCols", func(c *tc) { // src is dst
			x := c.alloc(3, 4)
			c.b.ScatterCols(x, x, c.alloc(4))
		}},
		{"Reduce", func(c *tc) { c.b.Reduce(c.alloc(3), c.alloc(3, 4), kernels.ReduceOp(5), kernels.PerRow) }},
		{"Reduce", func(c *tc) { c.b.Reduce(c.alloc(3), c.alloc(3, 4), kernels.ReduceSum, kernels.PerCol) }},
		{"Reduce", func(c *tc) { // dst is x
			x := c.alloc(1, 5)
			c.b.Reduce(x, x, kernels.ReduceSum, kernels.PerCol)
		}},
		{"CountAbove", func(c *tc) { c.b.CountAbove(c.alloc(4), c.alloc(3, 4), 0.5, kernels.PerRow) }},
		{"CountAbove", func(c *tc) { c.b.CountAbove(c.alloc(3), c.alloc(3, 4), 0.5, kernels.Axis(2)) }},
		{"AdamUpdate", func(c *tc) {
			c.b.AdamUpdate(c.alloc(7), c.alloc(7), c.alloc(6), c.alloc(7), 1e-3, 0.9, 0.999, 1e-8)
		}},
		{"AdamUpdate", func(c *tc) { // m is p
			p := c.alloc(7)
			c.b.AdamUpdate(p, c.alloc(7), p, c.alloc(7), 1e-3, 0.9, 0.999, 1e-8)
		}},
		{"AdamUpdate", func(c *tc) { // v is g
			g := c.alloc(7)
			c.b.AdamUpdate(c.alloc(7), g, c.alloc(7), g, 1e-3, 0.9, 0.999, 1e-8)
		}},
		{"Fill", func(c *tc) { // a freed tensor
			t, err := c.b.New(3, 4)
			if err != nil {
				c.t.Fatal(err)
			}
			c.b.Free(t)
			c.b.Fill(t, 1)
		}},
	}
	seen := map[string]int{}
	for _, m := range cases {
		seen[m.op]++
		name := m.op
		if seen[m.op] > 1 {
			name += "/" + string(rune('0'+seen[m.op]))
		}
		s.run(name, false, func(c *tc) {
			c.expectPanic("kernels: "+m.op+":", func() { m.run(c) })
		})
	}
	s.run("StillWorks", false, func(c *tc) {
		x := c.normal(12, 1)
		xt := c.in("x", x, 3, 4)
		dst := c.out("dst", nil, 3, 4)
		c.b.Hadamard(dst, xt, xt)
		c.settle("Hadamard")
		c.expect("Hadamard after the panics", "dst", dst, refHadamard(f64(x), f64(x)), nil, tol{0, eps32})
	})
}

func mustLayout(l *kernels.PoolLayout, err error) *kernels.PoolLayout {
	if err != nil {
		panic(err)
	}
	return l
}
