package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// TestConvGemmMatchesDirect compares the patch-matrix convolutions with the direct loops over
// strides, paddings larger than the window, windows as large as the padded input, a batch
// split into chunks, and 1 and 3 threads (with 3 chunks or more, each on one thread).
func TestConvGemmMatchesDirect(t *testing.T) {
	type geom struct{ n, c, h, w, k, kh, kw, sh, sw, ph, pw int }
	geoms := []geom{
		{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
		{2, 3, 7, 5, 4, 3, 2, 1, 1, 0, 0},
		{3, 2, 9, 11, 5, 3, 3, 2, 3, 1, 2},
		{2, 1, 3, 3, 2, 7, 7, 1, 1, 2, 2},
		{2, 2, 1, 6, 3, 7, 3, 1, 2, 3, 4},
		{4, 3, 12, 10, 6, 5, 4, 3, 2, 2, 1},
		{5, 1, 28, 28, 8, 9, 9, 1, 1, 0, 0},
		{3, 16, 60, 60, 2, 5, 5, 1, 1, 2, 2},  // 1.44M patch values per image: chunks of 2 and 1
		{19, 1, 28, 28, 3, 9, 9, 1, 1, 0, 0},  // 3 chunks of 8, 8 and 3 images: shared among 3 threads
		{140, 1, 28, 28, 2, 9, 9, 1, 1, 0, 0}, // 18 chunks; the filter gradient's in 16 groups
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, threads := range []int{1, 3} {
		be := New()
		be.threads = threads
		for _, gm := range geoms {
			g := kernels.Conv2D{StrideH: gm.sh, StrideW: gm.sw, PadH: gm.ph, PadW: gm.pw}
			ho, wo := g.OutSize(gm.h, gm.w, gm.kh, gm.kw)
			d := kernels.ConvDims{N: gm.n, C: gm.c, H: gm.h, W: gm.w, K: gm.k, KH: gm.kh, KW: gm.kw, Ho: ho, Wo: wo, Conv2D: g}
			name := fmt.Sprintf("threads=%d/%+v", threads, gm)
			x, w, dy := randSlice(r, gm.n*gm.c*gm.h*gm.w), randSlice(r, gm.k*gm.c*gm.kh*gm.kw), randSlice(r, gm.n*gm.k*ho*wo)
			tol := 1e-5 * float64(gm.c*gm.kh*gm.kw+gm.n*ho*wo+gm.k*gm.kh*gm.kw)
			want, got := make([]float32, len(dy)), make([]float32, len(dy))
			be.conv2DForwardDirect(want, x, w, d)
			be.conv2DForwardGemm(got, x, w, d)
			compareSlices(t, name+"/forward", got, want, tol)

			wantX, gotX := make([]float32, len(x)), make([]float32, len(x))
			be.conv2DBackwardDataDirect(wantX, dy, w, d)
			be.conv2DBackwardDataGemm(gotX, dy, w, d)
			compareSlices(t, name+"/backward data", gotX, wantX, tol)

			wantW, gotW := make([]float32, len(w)), make([]float32, len(w))
			for i := range gotW {
				gotW[i] = float32(math.NaN())
			}
			be.conv2DBackwardFilterDirect(wantW, x, dy, d)
			be.conv2DBackwardFilterGemm(gotW, x, dy, d)
			compareSlices(t, name+"/backward filter", gotW, wantW, tol)
		}
	}
}

func compareSlices(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}
