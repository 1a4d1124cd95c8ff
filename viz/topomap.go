package viz

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// TopoMap draws the columns of a dictionary d [size², h·w] (one filter per column, as a decoder
// D is stored) as size×size tiles laid out on the h×w map of units: unit r·w + c goes to row r,
// column c, the position that defines its neighbours in a topographic model (Kavukcuoglu et al.,
// CVPR 2009, Fig. 3). It is Grid with the map's width as the number of columns; contrast is per
// tile.
func TopoMap(d []float32, size, h, w int, opt GridOptions) *image.RGBA {
	if size <= 0 || h <= 0 || w <= 0 || len(d) != size*size*h*w {
		panic(fmt.Sprintf("viz: TopoMap: %d values for %d×%d filters on a %d×%d map", len(d), size, size, h, w))
	}
	return Grid(Cols(d, size*size, h*w), size, size, w, opt)
}

// ResponseRow is one input and the responses it produces: the patch, its single-unit code on
// the h×w map, and its pool responses on the pool map.
type ResponseRow struct {
	Patch  []float32 // [size²]
	Units  []float32 // [h·w]
	Pooled []float32 // [ph·pw]
}

// ResponseMaps draws one line per row: the input patch (gray, scaled to its own range), the
// single-unit responses on the h×w map and the pool responses on the ph×pw pool map, both as
// heat maps (black 0 → red → yellow → white at the row's largest value). All three panels are
// drawn at the same height, cell sizes chosen to fill it, so that a topographic map's pooled
// responses can be compared with its units' by eye: under a shift of the input, the pools should
// light up in the same places while single units flicker.
func ResponseMaps(rows []ResponseRow, size, h, w, ph, pw int, opt GridOptions) *image.RGBA {
	opt = opt.withDefaults()
	side := max(size, h, ph) * 3 * opt.Zoom // panel height in pixels
	cell := func(cells int) int { return max(1, side/cells) }
	pw0, pw1, pw2 := size*cell(size), w*cell(h), pw*cell(ph)
	width := pw0 + pw1 + pw2 + 4*opt.Gap*2
	img := image.NewRGBA(image.Rect(0, 0, width, len(rows)*(side+2*opt.Gap)+2*opt.Gap))
	fill(img, img.Bounds(), opt.Back)
	for r, row := range rows {
		if len(row.Patch) != size*size || len(row.Units) != h*w || len(row.Pooled) != ph*pw {
			panic(fmt.Sprintf("viz: ResponseMaps: row %d has %d, %d, %d values, want %d, %d, %d", r, len(row.Patch), len(row.Units), len(row.Pooled), size*size, h*w, ph*pw))
		}
		y0 := 2*opt.Gap + r*(side+2*opt.Gap)
		x0 := 2 * opt.Gap
		lo, hi := topoSpan(row.Patch)
		topoPanel(img, x0, y0, row.Patch, size, size, cell(size), func(v float64) color.Color {
			t := 0.5
			if hi > lo {
				t = (v - lo) / (hi - lo)
			}
			return color.Gray{Y: uint8(math.Round(255 * t))}
		})
		x0 += pw0 + 2*opt.Gap*2
		_, top := topoSpan(row.Units)
		topoPanel(img, x0, y0, row.Units, h, w, cell(h), func(v float64) color.Color { return topoHeat(v, top) })
		x0 += pw1 + 2*opt.Gap*2
		_, top = topoSpan(row.Pooled)
		topoPanel(img, x0, y0, row.Pooled, ph, pw, cell(ph), func(v float64) color.Color { return topoHeat(v, top) })
	}
	return img
}

// topoPanel draws values [rows, cols] as cells of cell×cell pixels with their top-left corner at (x0, y0).
func topoPanel(img *image.RGBA, x0, y0 int, values []float32, rows, cols, cell int, col func(float64) color.Color) {
	for i, v := range values {
		px, py := x0+(i%cols)*cell, y0+(i/cols)*cell
		fill(img, image.Rect(px, py, px+cell, py+cell), col(float64(v)))
	}
}

// topoHeat maps [0, top] to black → red → yellow → white.
func topoHeat(v, top float64) color.Color {
	t := 0.0
	if top > 0 {
		t = math.Min(1, math.Max(0, v/top))
	}
	ch := func(a float64) uint8 { return uint8(math.Round(255 * math.Min(1, math.Max(0, a)))) }
	return color.RGBA{ch(3 * t), ch(3*t - 1), ch(3*t - 2), 255}
}

// topoSpan returns the smallest and largest value.
func topoSpan(v []float32) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo = math.Min(lo, float64(x))
		hi = math.Max(hi, float64(x))
	}
	return lo, hi
}
