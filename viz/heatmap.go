package viz

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// HeatMapOptions control HeatMap. The zero value gives the defaults.
type HeatMapOptions struct {
	Zoom int // screen pixels per entry; 0: 1 for a side over 200 entries, else 2
	// Clip is the |value| drawn at full colour; larger values saturate. 0: the largest |value|.
	// A clip below the maximum shows structure that a few large entries (such as the
	// diagonal of S = I − αDᵀD) would otherwise wash out; see Percentile.
	Clip float64
}

// HeatMap draws a [rows, cols] matrix with a diverging map: white is 0, red positive, blue
// negative, full colour at ±Clip. Entry (r, c) is row r from the top, column c from the left.
func HeatMap(x []float32, rows, cols int, opt HeatMapOptions) *image.RGBA {
	if rows <= 0 || cols <= 0 || len(x) != rows*cols {
		panic(fmt.Sprintf("viz: HeatMap: %d values for a %d×%d matrix", len(x), rows, cols))
	}
	z := opt.Zoom
	if z <= 0 {
		z = 2
		if max(rows, cols) > 200 {
			z = 1
		}
	}
	clip := opt.Clip
	if clip <= 0 {
		clip = maxAbs(x)
	}
	img := image.NewRGBA(image.Rect(0, 0, cols*z, rows*z))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			fill(img, image.Rect(c*z, r*z, (c+1)*z, (r+1)*z), Diverging(float64(x[r*cols+c]), clip))
		}
	}
	return img
}

// Diverging maps v in [−clip, clip] to blue (−), white (0), red (+), saturating beyond.
func Diverging(v, clip float64) color.RGBA {
	t := 0.0
	if clip > 0 {
		t = math.Max(-1, math.Min(1, v/clip))
	}
	fade := uint8(math.Round(255 * (1 - math.Abs(t))))
	if t >= 0 {
		return color.RGBA{255, fade, fade, 255}
	}
	return color.RGBA{fade, fade, 255, 255}
}

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) of |x| over the entries for which keep
// is true (keep nil: all), by sorting a copy; 0 for no entries.
func Percentile(x []float32, p float64, keep func(i int) bool) float64 {
	var a []float64
	for i, v := range x {
		if keep == nil || keep(i) {
			a = append(a, math.Abs(float64(v)))
		}
	}
	if len(a) == 0 {
		return 0
	}
	sortFloats(a)
	k := int(math.Round(p / 100 * float64(len(a)-1)))
	return a[max(0, min(len(a)-1, k))]
}
