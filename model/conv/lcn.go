package conv

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// contrastFloor is the smallest divisor of the contrast normalization, data's (lcnFloor): far
// below one grey level. A flat image's v is round-off, in float32 some 10⁻⁷ of its grey level, so
// it normalizes to values of some 10⁻³ (0 in float64; the image 0 gives exactly 0).
const contrastFloor = 1e-4

// minContrastSigma is the narrowest window Validate accepts, in pixels.
const minContrastSigma = 0.1

// contrastNorm is the local contrast normalization of the images (Jarrett, Kavukcuoglu, Ranzato &
// LeCun, ICCV 2009, after Pinto et al. 2008), for images x [C,H,W]:
//
//	v_cij = x_cij − Σ_{c',p,q} w_pq·x_{c',i+p,j+q}        (subtractive)
//	σ_ij  = √(Σ_{c,p,q} w_pq·v²_{c,i+p,j+q})
//	y_cij = v_cij / max(mean_ij σ, σ_ij, 10⁻⁴)           (divisive)
//
// w_pq = k_p·k_q/C with k_p ∝ exp(−p²/2s²), s = contrast_sigma, sums to 1 over the window and
// the C maps. The window stops at 3s (or at the image's size, past which it reads only zeros). At
// the borders, each pixel's weights are renormalized to sum to 1 over the pixels inside the image,
// as data.LocalContrastNormalize does: for one map the two agree (TestContrastNormMatchesData).
//
// On the backend, w is separable: the weighted mean is a convolution over the maps and the rows
// (kernel [1,C,F,1], k_p/C), then one over the columns ([1,1,1,F], k_q). σ is three L2 poolings,
// which compose because a pooled value squared is a sum of squares: over the maps (1/C), the rows
// (k_p) and the columns (k_q). 2F taps a pixel instead of F². The border renormalization is a
// fixed factor per pixel, and max(a, b) = b + max(a − b, 0) a PosShrink.
type contrastNorm struct {
	be           kernels.Backend
	c, h, w      int
	rows, cols   kernels.Conv2D // stride 1, padding r along the rows, the columns
	meanRows     kernels.Tensor // [1, C, F, 1]: k_p/C
	meanCols     kernels.Tensor // [1, 1, 1, F]: k_q
	poolRows     kernels.Tensor // [F, 1]: k_p, for L2Pool2D
	poolCols     kernels.Tensor // [1, F]: k_q
	poolMaps     kernels.Tensor // [C, 1]: 1/C (C > 1)
	norm, root   kernels.Tensor // [H·W]: 1/Σ of the weights inside the image, per pixel; its root
	zeros, floor kernels.Tensor // [H·W]: 0; 10⁻⁴
	spread       kernels.Tensor // [1, C, 1, 1] ones: one map copied onto C (C > 1)
	all          []kernels.Tensor
}

// contrastRadius is the half-width r of the window (F = 2r+1) for sigma over h×w images.
func contrastRadius(sigma float64, h, w int) int {
	return int(math.Min(math.Ceil(3*sigma), float64(max(h, w)-1))) // in floats: a huge σ would overflow an int
}

// contrastWeights returns the 1-D window k [F] (summing to 1) and, per pixel of an h×w image, the
// sum of the weights k_p·k_q that fall inside the image [h·w].
func contrastWeights(sigma float64, h, w int) (k, inside []float64) {
	r := contrastRadius(sigma, h, w)
	k = make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	in := func(n int) []float64 { // the 1-D weights inside [0, n) of the window at each x
		s := make([]float64, n)
		for x := range s {
			for i := range k {
				if y := x + i - r; y >= 0 && y < n {
					s[x] += k[i]
				}
			}
		}
		return s
	}
	rows, cols := in(h), in(w)
	for _, a := range rows {
		for _, b := range cols {
			inside = append(inside, a*b)
		}
	}
	return k, inside
}

func newContrastNorm(be kernels.Backend, sigma float64, c, h, w int) (*contrastNorm, error) {
	r := contrastRadius(sigma, h, w)
	f := 2*r + 1
	l := &contrastNorm{be: be, c: c, h: h, w: w,
		rows: kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: r}, cols: kernels.Conv2D{StrideH: 1, StrideW: 1, PadW: r}}
	var err error
	l.all, err = model.NewTensors(be, []int{1, c, f, 1}, []int{1, 1, 1, f}, []int{f, 1}, []int{1, f}, []int{c, 1},
		[]int{h * w}, []int{h * w}, []int{h * w}, []int{h * w}, []int{1, c, 1, 1})
	if err != nil {
		return nil, fmt.Errorf("conv: contrast normalization: %w", err)
	}
	t := l.all
	l.meanRows, l.meanCols, l.poolRows, l.poolCols, l.poolMaps = t[0], t[1], t[2], t[3], t[4]
	l.norm, l.root, l.zeros, l.floor, l.spread = t[5], t[6], t[7], t[8], t[9]
	k, inside := contrastWeights(sigma, h, w)
	k32, rows := make([]float32, f), make([]float32, 0, c*f)
	for i, v := range k {
		k32[i] = float32(v)
	}
	for range c {
		for _, v := range k {
			rows = append(rows, float32(v/float64(c)))
		}
	}
	norm, root := make([]float32, h*w), make([]float32, h*w)
	for i, v := range inside {
		norm[i], root[i] = float32(1/v), float32(1/math.Sqrt(v))
	}
	be.Upload(l.meanRows, rows)
	be.Upload(l.meanCols, k32)
	be.Upload(l.poolRows, k32)
	be.Upload(l.poolCols, k32)
	be.Fill(l.poolMaps, float32(1/float64(c)))
	be.Upload(l.norm, norm)
	be.Upload(l.root, root)
	be.Fill(l.floor, contrastFloor)
	be.Fill(l.spread, 1)
	return l, nil
}

func (l *contrastNorm) free() { model.FreeTensors(l.be, l.all...) }

// contrastWork is the buffers of the normalization of n images.
type contrastWork struct {
	n             int
	raw           kernels.Tensor // [n, C·H·W]: the images as uploaded
	mean, tmp, sd kernels.Tensor // [n, H·W]: the weighted mean; a pass's output; σ, then the divisor
	sum           kernels.Tensor // [n]: Σ_ij σ_ij
	maps          kernels.Tensor // [n, C·H·W], C > 1: the divisor on every map
	all           []kernels.Tensor
}

// bytes is the size of one image's buffers.
func (l *contrastNorm) bytes() int64 {
	b := int64(l.c*l.h*l.w + 3*l.h*l.w + 1)
	if l.c > 1 {
		b += int64(l.c * l.h * l.w)
	}
	return 4 * b
}

func (l *contrastNorm) newWork(n int) (*contrastWork, error) {
	hw := l.h * l.w
	shapes := [][]int{{n, l.c * hw}, {n, hw}, {n, hw}, {n, hw}, {n}}
	if l.c > 1 {
		shapes = append(shapes, []int{n, l.c * hw})
	}
	ts, err := model.NewTensors(l.be, shapes...)
	if err != nil {
		return nil, fmt.Errorf("conv: contrast normalization of %d images: %w", n, err)
	}
	t := &contrastWork{n: n, raw: ts[0], mean: ts[1], tmp: ts[2], sd: ts[3], sum: ts[4], all: ts}
	if l.c > 1 {
		t.maps = ts[5]
	}
	return t, nil
}

func (t *contrastWork) free(be kernels.Backend) { model.FreeTensors(be, t.all...) }

// apply writes into y [n, C·H·W] the normalization of the images t.raw [n, C·H·W].
func (l *contrastNorm) apply(t *contrastWork, y kernels.Tensor) {
	be, n, hw, x := l.be, t.n, l.h*l.w, t.raw
	img := func(v kernels.Tensor, c int) kernels.Tensor { return be.Reshape(v, n, c, l.h, l.w) }
	unit := kernels.Conv2D{StrideH: 1, StrideW: 1}
	// v = x − Σ w x, the weights renormalized inside the image.
	be.Conv2DForward(img(t.tmp, 1), img(x, l.c), l.meanRows, l.rows)
	be.Conv2DForward(img(t.mean, 1), img(t.tmp, 1), l.meanCols, l.cols)
	be.BroadcastMul(t.mean, t.mean, l.norm, kernels.PerCol)
	if l.c == 1 {
		be.Copy(y, x)
		be.Axpby(-1, t.mean, 1, y)
	} else {
		be.Conv2DBackwardData(img(y, l.c), img(t.mean, 1), l.spread, unit) // the mean on every map
		be.Axpby(1, x, -1, y)
	}
	// σ = √(Σ w v²) renormalized: L2 pooling over the maps, then the rows, then the columns.
	if l.c == 1 {
		be.L2Pool2D(img(t.tmp, 1), img(y, 1), l.poolRows, l.rows, 0)
	} else {
		be.L2Pool2D(be.Reshape(t.sd, n, 1, 1, hw), be.Reshape(y, n, 1, l.c, hw), l.poolMaps, unit, 0)
		be.L2Pool2D(img(t.tmp, 1), img(t.sd, 1), l.poolRows, l.rows, 0)
	}
	be.L2Pool2D(img(t.sd, 1), img(t.tmp, 1), l.poolCols, l.cols, 0)
	be.BroadcastMul(t.sd, t.sd, l.root, kernels.PerCol)
	// d = max(mean σ, σ, floor) as mean σ + max(σ − mean σ, 0), then floor + max(d − floor, 0).
	be.Reduce(t.sum, t.sd, kernels.ReduceSum, kernels.PerRow)
	inv := 1 / float32(hw)
	be.BroadcastAdd(t.sd, t.sd, -inv, t.sum, kernels.PerRow)
	be.PosShrink(t.sd, t.sd, l.zeros)
	be.BroadcastAdd(t.sd, t.sd, inv, t.sum, kernels.PerRow)
	be.PosShrink(t.sd, t.sd, l.floor)
	be.BroadcastAdd(t.sd, t.sd, 1, l.floor, kernels.PerCol)
	if l.c == 1 {
		be.Div(y, y, t.sd)
	} else {
		be.Conv2DBackwardData(img(t.maps, l.c), img(t.sd, 1), l.spread, unit)
		be.Div(y, y, t.maps)
	}
}

// Normalized returns the images x [N, Inputs] as the first layer of the stack reads them:
// locally contrast normalized with contrast_sigma, or x itself when it is 0.
func (m *ConvSparseAE) Normalized(x []float32) ([]float32, error) {
	for m.below != nil {
		m = m.below
	}
	if m.lcn == nil {
		return x, nil
	}
	s := &model.Samples{Name: "images", X: x, Dim: m.cfg.Inputs}
	works := model.NewWorks(m)
	defer works.Free()
	out := make([]float32, len(x))
	d := m.cfg.Inputs
	err := model.ForBatches(m, works, s, m.MaxBatch(), 0, func(w model.Work, lo, hi int) error {
		return m.be.Download(out[lo*d:hi*d], w.(*work).chunks[0].x)
	})
	return out, err
}
