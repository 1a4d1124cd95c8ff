package kernels

import (
	"strings"
	"testing"
)

// shapeOnly is a Tensor with a shape and no storage, for the shape checks.
type shapeOnly []int

func (s shapeOnly) Shape() []int { return s }
func (s shapeOnly) Len() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func ts(shape ...int) Tensor { return shapeOnly(shape) }

// mustPanic runs f and checks that it panics with a message starting with prefix.
func mustPanic(t *testing.T, prefix string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one starting %q", prefix)
			return
		}
		if msg, _ := r.(string); !strings.HasPrefix(msg, prefix) {
			t.Errorf("panic %v, want a message starting %q", r, prefix)
		}
	}()
	f()
}

func TestDims2(t *testing.T) {
	cases := []struct {
		shape      []int
		rows, cols int
	}{
		{[]int{}, 1, 1},
		{[]int{5}, 1, 5},
		{[]int{3, 4}, 3, 4},
		{[]int{2, 3, 4}, 6, 4},
		{[]int{2, 1, 3, 1}, 6, 1},
		{[]int{3, 0}, 0, 0},
		{[]int{0, 3}, 0, 3},
	}
	for _, c := range cases {
		if r, cl := Dims2(ts(c.shape...)); r != c.rows || cl != c.cols {
			t.Errorf("Dims2(%v) = %d, %d; want %d, %d", c.shape, r, cl, c.rows, c.cols)
		}
	}
}

func TestConv2DOutSize(t *testing.T) {
	cases := []struct {
		g              Conv2D
		h, w, kh, kw   int
		wantHo, wantWo int
	}{
		{Conv2D{StrideH: 1, StrideW: 1}, 28, 28, 5, 5, 24, 24},
		{Conv2D{StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}, 28, 28, 5, 5, 28, 28},
		{Conv2D{StrideH: 2, StrideW: 2}, 8, 8, 3, 3, 3, 3}, // the last row and column are not read
		{Conv2D{StrideH: 2, StrideW: 1, PadH: 2, PadW: 1}, 8, 6, 2, 3, 6, 6},
		{Conv2D{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, 7, 9, 3, 3, 4, 5},
		{Conv2D{StrideH: 1, StrideW: 1}, 1, 1, 1, 1, 1, 1},
		{Conv2D{StrideH: 3, StrideW: 4}, 10, 10, 1, 1, 4, 3},
		{Conv2D{StrideH: 1, StrideW: 1}, 3, 3, 4, 4, 0, 0}, // a window larger than the image
	}
	for _, c := range cases {
		if ho, wo := c.g.OutSize(c.h, c.w, c.kh, c.kw); ho != c.wantHo || wo != c.wantWo {
			t.Errorf("%+v.OutSize(%d, %d, %d, %d) = %d×%d, want %d×%d", c.g, c.h, c.w, c.kh, c.kw, ho, wo, c.wantHo, c.wantWo)
		}
	}
}

func TestAxisString(t *testing.T) {
	if PerCol.String() != "PerCol" || PerRow.String() != "PerRow" || Axis(9).String() != "Axis(?)" {
		t.Errorf("Axis strings: %v %v %v", PerCol, PerRow, Axis(9))
	}
}

func TestCheckLenUploadShapeVector(t *testing.T) {
	if n := CheckLen("Op", ts(3, 4), ts(12), ts(2, 6)); n != 12 {
		t.Errorf("CheckLen = %d, want 12", n)
	}
	mustPanic(t, "kernels: Op: length mismatch", func() { CheckLen("Op", ts(3, 4), ts(13)) })
	CheckUpload("Upload", ts(3, 4), 12)
	mustPanic(t, "kernels: Upload: host slice has 11 values", func() { CheckUpload("Upload", ts(3, 4), 11) })
	CheckShape("Op", "w", ts(3, 4), 3, 4)
	mustPanic(t, "kernels: Op: w has shape [4 3], want [3 4]", func() { CheckShape("Op", "w", ts(4, 3), 3, 4) })
	mustPanic(t, "kernels: Op: w has shape [12], want [3 4]", func() { CheckShape("Op", "w", ts(12), 3, 4) })
	CheckVector("Op", "v", ts(1, 5), 5)
	mustPanic(t, "kernels: Op: v has shape [6]", func() { CheckVector("Op", "v", ts(6), 5) })
	if Volume("New", []int{2, 3, 4}) != 24 || Volume("New", nil) != 1 {
		t.Error("Volume")
	}
	mustPanic(t, "kernels: New: negative dimension", func() { Volume("New", []int{2, -1}) })
}

func TestCheckGemm(t *testing.T) {
	// op(A) [2,3], op(B) [3,4], C [2,4] in every transpose combination.
	for _, c := range []struct {
		ta, tb bool
		a, b   Tensor
	}{
		{false, false, ts(2, 3), ts(3, 4)},
		{true, false, ts(3, 2), ts(3, 4)},
		{false, true, ts(2, 3), ts(4, 3)},
		{true, true, ts(3, 2), ts(4, 3)},
	} {
		if m, n, k := CheckGemm(c.ta, c.tb, c.a, c.b, ts(2, 4)); m != 2 || n != 4 || k != 3 {
			t.Errorf("CheckGemm(%v, %v) = %d, %d, %d; want 2, 4, 3", c.ta, c.tb, m, n, k)
		}
	}
	mustPanic(t, "kernels: Gemm: op(A) is [2,3], op(B) is [4,4]", func() { CheckGemm(false, false, ts(2, 3), ts(4, 4), ts(2, 4)) })
	mustPanic(t, "kernels: Gemm: ", func() { CheckGemm(true, false, ts(2, 3), ts(3, 4), ts(2, 4)) })
	mustPanic(t, "kernels: Gemm: ", func() { CheckGemm(false, false, ts(2, 3), ts(3, 4), ts(4, 2)) })
	mustPanic(t, "kernels: Gemm: operands must be matrices", func() { CheckGemm(false, false, ts(6), ts(3, 4), ts(2, 4)) })
}

func TestCheckBroadcastShrink(t *testing.T) {
	if r, c := CheckBroadcast("BroadcastAdd", ts(2, 3, 5), ts(6, 5), ts(5), PerCol); r != 6 || c != 5 {
		t.Errorf("CheckBroadcast PerCol = %d, %d", r, c)
	}
	if r, c := CheckBroadcast("BroadcastAdd", ts(6, 5), ts(6, 5), ts(6), PerRow); r != 6 || c != 5 {
		t.Errorf("CheckBroadcast PerRow = %d, %d", r, c)
	}
	mustPanic(t, "kernels: BroadcastAdd: x is [6 5], PerRow vector", func() { CheckBroadcast("BroadcastAdd", ts(6, 5), ts(6, 5), ts(5), PerRow) })
	mustPanic(t, "kernels: BroadcastMul: bad axis", func() { CheckBroadcast("BroadcastMul", ts(6, 5), ts(6, 5), ts(5), Axis(3)) })
	mustPanic(t, "kernels: BroadcastMul: length mismatch", func() { CheckBroadcast("BroadcastMul", ts(6, 4), ts(6, 5), ts(5), PerCol) })

	if r, m := CheckShrink("SoftShrink", ts(4, 7), ts(4, 7), ts(7)); r != 4 || m != 7 {
		t.Errorf("CheckShrink = %d, %d", r, m)
	}
	mustPanic(t, "kernels: SoftShrink: x is [4 7], theta is [4]", func() { CheckShrink("SoftShrink", ts(4, 7), ts(4, 7), ts(4)) })
	if r, m := CheckShrinkBackward("PosShrinkBackward", ts(4, 7), nil, ts(4, 7), ts(4, 7), ts(7)); r != 4 || m != 7 {
		t.Errorf("CheckShrinkBackward = %d, %d", r, m)
	}
	CheckShrinkBackward("PosShrinkBackward", ts(4, 7), ts(7), ts(4, 7), ts(4, 7), ts(7))
	mustPanic(t, "kernels: PosShrinkBackward: x is [4 7], dtheta is [4]", func() {
		CheckShrinkBackward("PosShrinkBackward", ts(4, 7), ts(4), ts(4, 7), ts(4, 7), ts(7))
	})
	mustPanic(t, "kernels: PosShrinkBackward: length mismatch", func() {
		CheckShrinkBackward("PosShrinkBackward", ts(4, 7), nil, ts(3, 7), ts(4, 7), ts(7))
	})
}

func TestCheckPools(t *testing.T) {
	l, err := DisjointPools(12, 3)
	if err != nil {
		t.Fatal(err)
	}
	if b := CheckPools("PoolNorms", ts(5, 4), ts(5, 12), l); b != 5 {
		t.Errorf("CheckPools = %d, want 5", b)
	}
	mustPanic(t, "kernels: PoolNorms: z is [5 11], pools are over 12 units", func() { CheckPools("PoolNorms", ts(5, 4), ts(5, 11), l) })
	mustPanic(t, "kernels: PoolNorms: z is [5 12], output is [5 3]", func() { CheckPools("PoolNorms", ts(5, 3), ts(5, 12), l) })
}

func TestCheckConv(t *testing.T) {
	g := Conv2D{StrideH: 2, StrideW: 1, PadH: 2, PadW: 1}
	d := CheckConv("Conv2DForward", ts(2, 3, 8, 6), ts(4, 3, 2, 3), ts(2, 4, 6, 6), g, false)
	want := ConvDims{N: 2, C: 3, H: 8, W: 6, K: 4, KH: 2, KW: 3, Ho: 6, Wo: 6, Conv2D: g}
	if d != want {
		t.Errorf("CheckConv = %+v, want %+v", d, want)
	}
	dl := CheckConv("LocalForward", ts(2, 3, 8, 6), ts(6, 6, 4, 3, 2, 3), ts(2, 4, 6, 6), g, true)
	want.Local = true
	if dl != want {
		t.Errorf("CheckConv local = %+v, want %+v", dl, want)
	}
	g1 := Conv2D{StrideH: 1, StrideW: 1}
	for _, c := range []struct {
		name    string
		x, w, y Tensor
		g       Conv2D
		local   bool
		want    string
	}{
		{"channels", ts(1, 2, 8, 8), ts(4, 3, 3, 3), ts(1, 4, 6, 6), g1, false, "x is [1 2 8 8] with 2 channels"},
		{"y shape", ts(1, 2, 8, 8), ts(4, 2, 3, 3), ts(1, 4, 6, 5), g1, false, "give y [1,4,6,6]"},
		{"not NCHW", ts(2, 8, 8), ts(4, 2, 3, 3), ts(1, 4, 6, 6), g1, false, "must be NCHW"},
		{"w rank", ts(1, 2, 8, 8), ts(4, 2, 9), ts(1, 4, 6, 6), g1, false, "want [K,C,KH,KW]"},
		{"local w rank", ts(1, 2, 8, 8), ts(4, 2, 3, 3), ts(1, 4, 6, 6), g1, true, "want [Ho,Wo,K,C,KH,KW]"},
		{"local positions", ts(1, 2, 8, 8), ts(5, 6, 4, 2, 3, 3), ts(1, 4, 6, 6), g1, true, "want [6,6,…]"},
		{"does not fit", ts(1, 2, 2, 8), ts(4, 2, 3, 3), ts(1, 4, 1, 6), g1, false, "does not fit"},
		{"stride 0", ts(1, 2, 8, 8), ts(4, 2, 3, 3), ts(1, 4, 6, 6), Conv2D{StrideW: 1}, false, "bad geometry"},
		{"negative pad", ts(1, 2, 8, 8), ts(4, 2, 3, 3), ts(1, 4, 6, 6), Conv2D{StrideH: 1, StrideW: 1, PadW: -1}, false, "bad geometry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mustPanic(t, "kernels: Op: ", func() { CheckConv("Op", c.x, c.w, c.y, c.g, c.local) })
			func() {
				defer func() {
					if msg, _ := recover().(string); !strings.Contains(msg, c.want) {
						t.Errorf("panic %q does not say %q", msg, c.want)
					}
				}()
				CheckConv("Op", c.x, c.w, c.y, c.g, c.local)
			}()
		})
	}
}

func TestCheckPool2D(t *testing.T) {
	g := Conv2D{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	d := CheckPool2D("L2Pool2D", ts(2, 3, 7, 9), ts(3, 3), ts(2, 3, 4, 5), g)
	want := ConvDims{N: 2, C: 3, H: 7, W: 9, K: 3, KH: 3, KW: 3, Ho: 4, Wo: 5, Conv2D: g, PoolChannels: true}
	if d != want {
		t.Errorf("CheckPool2D = %+v, want %+v", d, want)
	}
	mustPanic(t, "kernels: L2Pool2D: ", func() { CheckPool2D("L2Pool2D", ts(2, 3, 7, 9), ts(9), ts(2, 3, 4, 5), g) })
	mustPanic(t, "kernels: L2Pool2D: ", func() { CheckPool2D("L2Pool2D", ts(2, 3, 7, 9), ts(3, 3), ts(2, 2, 4, 5), g) })
	mustPanic(t, "kernels: L2Pool2D: ", func() { CheckPool2D("L2Pool2D", ts(2, 3, 1, 9), ts(5, 3), ts(2, 3, 0, 5), g) })
	mustPanic(t, "kernels: L2Pool2D: bad geometry", func() { CheckPool2D("L2Pool2D", ts(2, 3, 7, 9), ts(3, 3), ts(2, 3, 4, 5), Conv2D{}) })
}

func TestCheckNormsClassify(t *testing.T) {
	if r, c := CheckNorms("Norms", ts(3), ts(3, 4), PerRow); r != 3 || c != 4 {
		t.Errorf("CheckNorms = %d, %d", r, c)
	}
	CheckNorms("Norms", ts(4), ts(3, 4), PerCol)
	CheckNorms("ProjectNormBall", nil, ts(3, 4), PerCol)
	mustPanic(t, "kernels: Norms: x is [3 4], PerCol output is [3]", func() { CheckNorms("Norms", ts(3), ts(3, 4), PerCol) })
	mustPanic(t, "kernels: ProjectNormBall: bad axis", func() { CheckNorms("ProjectNormBall", nil, ts(3, 4), Axis(-1)) })

	if b, k := CheckClassify("SoftmaxXent", ts(5, 10), ts(5)); b != 5 || k != 10 {
		t.Errorf("CheckClassify = %d, %d", b, k)
	}
	mustPanic(t, "kernels: Argmax: logits are [5 10], per-sample tensor is [10]", func() { CheckClassify("Argmax", ts(5, 10), ts(10)) })
}

func TestReduceOpString(t *testing.T) {
	if ReduceSum.String() != "ReduceSum" || ReduceAbs.String() != "ReduceAbs" || ReduceSquares.String() != "ReduceSquares" ||
		ReduceOp(9).String() != "ReduceOp(?)" {
		t.Errorf("ReduceOp strings: %v %v %v %v", ReduceSum, ReduceAbs, ReduceSquares, ReduceOp(9))
	}
}

func TestCheckReduceTransposeScatter(t *testing.T) {
	if r, c := CheckReduce(ts(1), ts(1, 250000), ReduceSquares, PerRow); r != 1 || c != 250000 {
		t.Errorf("CheckReduce = %d, %d", r, c)
	}
	CheckReduce(ts(5), ts(2, 3, 5), ReduceAbs, PerCol)
	mustPanic(t, "kernels: Reduce: bad op 3", func() { CheckReduce(ts(3), ts(3, 4), ReduceOp(3), PerRow) })
	mustPanic(t, "kernels: Reduce: bad axis", func() { CheckReduce(ts(3), ts(3, 4), ReduceSum, Axis(2)) })
	mustPanic(t, "kernels: Reduce: x is [3 4], PerRow output is [4]", func() { CheckReduce(ts(4), ts(3, 4), ReduceSum, PerRow) })

	if r, c := CheckTranspose(ts(4, 3), ts(3, 4)); r != 3 || c != 4 {
		t.Errorf("CheckTranspose = %d, %d", r, c)
	}
	mustPanic(t, "kernels: Transpose: src is [3 4], dst is [3 4], want [4 3]", func() { CheckTranspose(ts(3, 4), ts(3, 4)) })
	mustPanic(t, "kernels: Transpose: operands must be matrices", func() { CheckTranspose(ts(4, 3), ts(12)) })

	if n, m, k := CheckScatterCols(ts(5, 9), ts(5, 2), ts(2)); n != 5 || m != 9 || k != 2 {
		t.Errorf("CheckScatterCols = %d, %d, %d", n, m, k)
	}
	CheckScatterCols(ts(9), ts(1, 3), ts(3)) // rank 1: one row
	mustPanic(t, "kernels: ScatterCols: dst is [5 9] with 5 rows, src is [4 2] with 4 rows", func() {
		CheckScatterCols(ts(5, 9), ts(4, 2), ts(2))
	})
	mustPanic(t, "kernels: ScatterCols: src is [5 2], idx is [3], want length 2", func() { CheckScatterCols(ts(5, 9), ts(5, 2), ts(3)) })
}

func TestCheckNoAlias(t *testing.T) {
	a, b, c := ts(2), ts(2), ts(2)
	same := func(x, y Tensor) bool { return &x.(shapeOnly)[0] == &y.(shapeOnly)[0] }
	CheckNoAlias("AdamUpdate", same, []string{"p", "g", "m"}, a, b, c)
	mustPanic(t, "kernels: AdamUpdate: g [2] shares storage with m [2]", func() {
		CheckNoAlias("AdamUpdate", same, []string{"p", "g", "m"}, a, b, b)
	})
}
