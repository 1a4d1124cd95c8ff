package data

import (
	"math"
	"math/rand/v2"
)

// WarpImage resamples one image of planes maps of rows×cols pixels (NCHW) from src into dst under
// a similarity transform about the image centre c: turned by angle radians (counter-clockwise as
// the image is shown, rows downward), scaled by scale, then moved by dy rows down and dx columns
// right. Output pixel p reads src at c + R(−angle)·(p − c − d)/scale, interpolated bilinearly;
// what falls outside src reads 0. dst and src hold planes·rows·cols values and must not overlap.
func WarpImage(dst, src []float32, planes, rows, cols int, angle, scale, dy, dx float64) {
	cy, cx := float64(rows-1)/2, float64(cols-1)/2
	sin, cos := math.Sincos(angle)
	sin, cos = sin/scale, cos/scale
	at := func(pl []float32, i, j int) float32 {
		if i < 0 || i >= rows || j < 0 || j >= cols {
			return 0
		}
		return pl[i*cols+j]
	}
	for i := range rows {
		for j := range cols {
			// Output (i, j) relative to the centre and the move, turned back by angle.
			v, u := float64(i)-cy-dy, float64(j)-cx-dx
			sy, sx := cy+cos*v+sin*u, cx+cos*u-sin*v
			y0, x0 := math.Floor(sy), math.Floor(sx)
			fy, fx := float32(sy-y0), float32(sx-x0)
			r, c := int(y0), int(x0)
			if r < -1 || r >= rows || c < -1 || c >= cols {
				for p := range planes {
					dst[(p*rows+i)*cols+j] = 0
				}
				continue
			}
			for p := range planes {
				pl := src[p*rows*cols : (p+1)*rows*cols]
				top := (1-fx)*at(pl, r, c) + fx*at(pl, r, c+1)
				bottom := (1-fx)*at(pl, r+1, c) + fx*at(pl, r+1, c+1)
				dst[(p*rows+i)*cols+j] = (1-fy)*top + fy*bottom
			}
		}
	}
}

// WarpBatch resamples each of the n images of a batch x [n, planes·rows·cols] in place under its
// own random similarity transform (WarpImage; data augmentation in the manner of torchvision's
// RandomAffine): an angle drawn uniformly from [−maxDegrees, maxDegrees] degrees, a scale from
// [1 − maxScale, 1 + maxScale] and a move of each coordinate from [−maxShift, maxShift] pixels,
// all drawn by r. scratch holds at least one image.
func WarpBatch(x, scratch []float32, n, planes, rows, cols int, maxShift, maxDegrees, maxScale float64, r *rand.Rand) {
	dim := planes * rows * cols
	uniform := func(a float64) float64 { return a * (2*r.Float64() - 1) }
	for i := range n {
		angle := uniform(maxDegrees) * math.Pi / 180
		scale := 1 + uniform(maxScale)
		dy, dx := uniform(maxShift), uniform(maxShift)
		img := x[i*dim : (i+1)*dim]
		copy(scratch[:dim], img)
		WarpImage(img, scratch[:dim], planes, rows, cols, angle, scale, dy, dx)
	}
}
