package gpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// The conformance suite runs Conv2DForward and Conv2DBackwardData on geometries whose tiles fit
// in shared memory, so it sees only some variants of the tiled shaders. TestConvShaderPaths runs
// the direct shaders (taken for windows too large to stage) and the tiled ones on geometries
// that reach every kind of variant, and backward filter with both widths of its reduction
// groups, against a float64 reference; TestConvSmallGroupLimit runs
// every op of the family with the work-group count limit lowered to 3.

type convCase struct {
	n, c, h, w, k, kh, kw int
	g                     kernels.Conv2D
}

func (cc convCase) dims() kernels.ConvDims {
	d := kernels.ConvDims{N: cc.n, C: cc.c, H: cc.h, W: cc.w, K: cc.k, KH: cc.kh, KW: cc.kw, Conv2D: cc.g}
	d.Ho, d.Wo = cc.g.OutSize(cc.h, cc.w, cc.kh, cc.kw)
	return d
}

func (cc convCase) String() string {
	return fmt.Sprintf("N%d_C%d_%dx%d_K%d_%dx%d_s%d,%d_p%d,%d", cc.n, cc.c, cc.h, cc.w, cc.k, cc.kh, cc.kw,
		cc.g.StrideH, cc.g.StrideW, cc.g.PadH, cc.g.PadW)
}

var directCases = []convCase{
	{2, 3, 8, 6, 2, 2, 3, kernels.Conv2D{StrideH: 2, StrideW: 1, PadH: 2, PadW: 1}},
	{1, 2, 7, 9, 3, 3, 3, kernels.Conv2D{StrideH: 2, StrideW: 3, PadH: 1, PadW: 2}},
	{2, 1, 20, 17, 17, 5, 4, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 2, PadW: 1}},
	{1, 9, 12, 10, 6, 3, 3, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}},
	// Backward data with one pixel row per invocation (a vertical stride that does not divide
	// the tile), and with one column (a window too wide for four).
	{2, 2, 13, 11, 5, 4, 3, kernels.Conv2D{StrideH: 3, StrideW: 1, PadH: 1, PadW: 2}},
	{1, 2, 30, 30, 3, 17, 17, kernels.Conv2D{StrideH: 1, StrideW: 1}},
	// Enough terms per filter tap for the wide reduction groups of backward filter.
	{4, 1, 70, 70, 6, 3, 3, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}},
	// Windows too large for shared memory: the direct shaders run whatever is asked.
	{2, 2, 50, 47, 3, 40, 44, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 3, PadW: 0}},
	{1, 1, 61, 60, 2, 20, 7, kernels.Conv2D{StrideH: 7, StrideW: 9, PadH: 1, PadW: 1}},
}

// refConv returns y = conv(x, w), dx = convᵀ(dy, w) and dw = Σ dy·x in float64, each with the
// sums of absolute terms as its error scale.
func refConv(d kernels.ConvDims, x, w, dy []float32) (y, yAbs, dx, dxAbs, dw, dwAbs []float64) {
	y, yAbs = make([]float64, d.N*d.K*d.Ho*d.Wo), make([]float64, d.N*d.K*d.Ho*d.Wo)
	dx, dxAbs = make([]float64, len(x)), make([]float64, len(x))
	dw, dwAbs = make([]float64, len(w)), make([]float64, len(w))
	for n := 0; n < d.N; n++ {
		for k := 0; k < d.K; k++ {
			for i := 0; i < d.Ho; i++ {
				for j := 0; j < d.Wo; j++ {
					yi := ((n*d.K+k)*d.Ho+i)*d.Wo + j
					for c := 0; c < d.C; c++ {
						for p := 0; p < d.KH; p++ {
							for q := 0; q < d.KW; q++ {
								r, s := i*d.StrideH+p-d.PadH, j*d.StrideW+q-d.PadW
								if r < 0 || r >= d.H || s < 0 || s >= d.W {
									continue
								}
								xi, wi := ((n*d.C+c)*d.H+r)*d.W+s, ((k*d.C+c)*d.KH+p)*d.KW+q
								y[yi] += float64(w[wi]) * float64(x[xi])
								yAbs[yi] += math.Abs(float64(w[wi]) * float64(x[xi]))
								dx[xi] += float64(w[wi]) * float64(dy[yi])
								dxAbs[xi] += math.Abs(float64(w[wi]) * float64(dy[yi]))
								dw[wi] += float64(dy[yi]) * float64(x[xi])
								dwAbs[wi] += math.Abs(float64(dy[yi]) * float64(x[xi]))
							}
						}
					}
				}
			}
		}
	}
	return y, yAbs, dx, dxAbs, dw, dwAbs
}

func compareConv(t *testing.T, what string, got []float32, want, scale []float64) {
	t.Helper()
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= 1e-5*scale[i]+1e-30) {
			t.Fatalf("%s[%d] = %v, want %v (scale %v)", what, i, got[i], want[i], scale[i])
		}
	}
}

func TestConvShaderPaths(t *testing.T) {
	b := backend(t)
	for _, cc := range directCases {
		t.Run(cc.String(), func(t *testing.T) {
			d := cc.dims()
			xs, ws, dys := ramp(d.N*d.C*d.H*d.W, 0.01), ramp(d.K*d.C*d.KH*d.KW, 0.02), ramp(d.N*d.K*d.Ho*d.Wo, 0.03)
			x, w, dy := upload(t, b, xs, d.N, d.C, d.H, d.W), upload(t, b, ws, d.K, d.C, d.KH, d.KW), upload(t, b, dys, d.N, d.K, d.Ho, d.Wo)
			y, _ := b.New(d.N, d.K, d.Ho, d.Wo)
			dx, _ := b.New(d.N, d.C, d.H, d.W)
			dw, _ := b.New(d.K, d.C, d.KH, d.KW)
			defer func() {
				for _, v := range []kernels.Tensor{x, w, dy, y, dx, dw} {
					b.Free(v)
				}
			}()
			wantY, yAbs, wantDx, dxAbs, wantDw, dwAbs := refConv(d, xs, ws, dys)
			b.Fill(dw, float32(math.NaN()))
			b.Conv2DBackwardFilter(dw, x, dy, cc.g)
			compareConv(t, "dw", download(t, b, dw), wantDw, dwAbs)
			for _, tiled := range []bool{false, true} {
				b.Fill(y, float32(math.NaN()))
				b.Fill(dx, float32(math.NaN()))
				b.conv2DForward(y, x, w, d, tiled)
				b.conv2DBackwardData(dx, dy, w, d, tiled)
				compareConv(t, fmt.Sprintf("y (tiled %v)", tiled), download(t, b, y), wantY, yAbs)
				compareConv(t, fmt.Sprintf("dx (tiled %v)", tiled), download(t, b, dx), wantDx, dxAbs)
			}
		})
	}
}

// With at most 3 work groups per dimension, every op of the family must loop over the rest of
// its items and give the results of the shared backend.
func TestConvSmallGroupLimit(t *testing.T) {
	ref := backend(t)
	small, err := New(withMaxGroups(3))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	cc := convCase{3, 2, 30, 27, 5, 3, 4, kernels.Conv2D{StrideH: 1, StrideW: 2, PadH: 1, PadW: 1}}
	d := cc.dims()
	xs, dys := ramp(d.N*d.C*d.H*d.W, 0.01), ramp(d.N*d.K*d.Ho*d.Wo, 0.03)
	ws, lws := ramp(d.K*d.C*d.KH*d.KW, 0.02), ramp(d.Ho*d.Wo*d.K*d.C*d.KH*d.KW, 0.02)
	pool := ramp(d.KH*d.KW, 0.1)
	for i := range pool {
		pool[i] = 0.1 + float32(math.Abs(float64(pool[i])))
	}
	py := ramp(d.N*d.C*d.Ho*d.Wo, 0.03) // dy of the pooling, [N,C,Ho,Wo]
	run := func(b *Backend) map[string][]float32 {
		x, dy := upload(t, b, xs, d.N, d.C, d.H, d.W), upload(t, b, dys, d.N, d.K, d.Ho, d.Wo)
		w, lw := upload(t, b, ws, d.K, d.C, d.KH, d.KW), upload(t, b, lws, d.Ho, d.Wo, d.K, d.C, d.KH, d.KW)
		k, pdy := upload(t, b, pool, d.KH, d.KW), upload(t, b, py, d.N, d.C, d.Ho, d.Wo)
		y, _ := b.New(d.N, d.K, d.Ho, d.Wo)
		dx, _ := b.New(d.N, d.C, d.H, d.W)
		dw, _ := b.New(d.K, d.C, d.KH, d.KW)
		ldw, _ := b.New(d.Ho, d.Wo, d.K, d.C, d.KH, d.KW)
		pooled, _ := b.New(d.N, d.C, d.Ho, d.Wo)
		out := map[string][]float32{}
		for _, step := range []struct {
			name string
			t    kernels.Tensor
			f    func()
		}{
			{"Conv2DForward", y, func() { b.Conv2DForward(y, x, w, cc.g) }},
			{"Conv2DForward/direct", y, func() { b.conv2DForward(y, x, w, d, false) }},
			{"Conv2DBackwardData", dx, func() { b.Conv2DBackwardData(dx, dy, w, cc.g) }},
			{"Conv2DBackwardData/direct", dx, func() { b.conv2DBackwardData(dx, dy, w, d, false) }},
			{"Conv2DBackwardFilter", dw, func() { b.Conv2DBackwardFilter(dw, x, dy, cc.g) }},
			{"LocalForward", y, func() { b.LocalForward(y, x, lw, cc.g) }},
			{"LocalBackwardData", dx, func() { b.LocalBackwardData(dx, dy, lw, cc.g) }},
			{"LocalBackwardFilter", ldw, func() { b.LocalBackwardFilter(ldw, x, dy, cc.g) }},
			{"L2Pool2D", pooled, func() { b.L2Pool2D(pooled, x, k, cc.g, 1e-3) }},
			{"L2Pool2DBackward", dx, func() { b.L2Pool2DBackward(dx, pdy, x, pooled, k, cc.g) }},
		} {
			if step.t != pooled { // L2Pool2DBackward reads the pooled output of the step before
				b.Fill(step.t, float32(math.NaN()))
			}
			step.f()
			out[step.name] = download(t, b, step.t)
		}
		for _, v := range []kernels.Tensor{x, dy, w, lw, k, pdy, y, dx, dw, ldw, pooled} {
			b.Free(v)
		}
		return out
	}
	want, got := run(ref), run(small)
	for name, g := range got {
		for i := range g {
			if g[i] != want[name][i] {
				t.Fatalf("%s with 3 groups per dimension: [%d] = %v, want %v", name, i, g[i], want[name][i])
			}
		}
	}
}
