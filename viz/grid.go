package viz

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// GridOptions control Grid. The zero value gives the defaults.
type GridOptions struct {
	Zoom int         // screen pixels per tile pixel; 0: 2
	Gap  int         // pixels between tiles and around the grid; 0: 1
	Back color.Color // colour of the gaps; nil: a dark blue-gray that no gray tile value matches
}

func (o GridOptions) withDefaults() GridOptions {
	if o.Zoom <= 0 {
		o.Zoom = 2
	}
	if o.Gap <= 0 {
		o.Gap = 1
	}
	if o.Back == nil {
		o.Back = color.RGBA{40, 48, 72, 255}
	}
	return o
}

// Grid draws tiles, each tileH·tileW values (one filter, row-major), as gray tileH×tileW
// images in rows of cols tiles, each tile scaled by its own largest |value| (mid-gray is 0).
// cols ≤ 0 picks a near-square layout.
func Grid(tiles [][]float32, tileH, tileW, cols int, opt GridOptions) *image.RGBA {
	if tileH <= 0 || tileW <= 0 {
		panic(fmt.Sprintf("viz: Grid: tile size %d×%d", tileH, tileW))
	}
	for i, t := range tiles {
		if len(t) != tileH*tileW {
			panic(fmt.Sprintf("viz: Grid: tile %d has %d values, want %d×%d = %d", i, len(t), tileH, tileW, tileH*tileW))
		}
	}
	opt = opt.withDefaults()
	n := max(1, len(tiles))
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	tw, th := tileW*opt.Zoom, tileH*opt.Zoom
	img := image.NewRGBA(image.Rect(0, 0, cols*(tw+opt.Gap)+opt.Gap, rows*(th+opt.Gap)+opt.Gap))
	fill(img, img.Bounds(), opt.Back)
	for k, t := range tiles {
		peak := maxAbs(t)
		x0 := opt.Gap + (k%cols)*(tw+opt.Gap)
		y0 := opt.Gap + (k/cols)*(th+opt.Gap)
		for i, v := range t {
			g := 0.5
			if peak > 0 {
				g = 0.5 + 0.5*float64(v)/peak
			}
			px, py := x0+(i%tileW)*opt.Zoom, y0+(i/tileW)*opt.Zoom
			fill(img, image.Rect(px, py, px+opt.Zoom, py+opt.Zoom), color.Gray{Y: uint8(math.Round(255 * g))})
		}
	}
	return img
}

// Rows returns the rows of a [rows, cols] matrix as tiles (e.g. the filters of an encoder E
// [m,n], one per unit). The tiles share x's memory.
func Rows(x []float32, rows, cols int) [][]float32 {
	if rows < 0 || cols < 0 || len(x) != rows*cols {
		panic(fmt.Sprintf("viz: Rows: %d values for a %d×%d matrix", len(x), rows, cols))
	}
	out := make([][]float32, rows)
	for r := range out {
		out[r] = x[r*cols : (r+1)*cols : (r+1)*cols]
	}
	return out
}

// Cols returns the columns of a [rows, cols] matrix as tiles (e.g. the atoms of a decoder D
// [n,m], one per unit), copied.
func Cols(x []float32, rows, cols int) [][]float32 {
	if rows < 0 || cols < 0 || len(x) != rows*cols {
		panic(fmt.Sprintf("viz: Cols: %d values for a %d×%d matrix", len(x), rows, cols))
	}
	out := make([][]float32, cols)
	for c := range out {
		t := make([]float32, rows)
		for r := range t {
			t[r] = x[r*cols+c]
		}
		out[c] = t
	}
	return out
}

func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// fill paints r with c.
func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	r = r.Intersect(img.Bounds())
	rgba := color.RGBAModel.Convert(c).(color.RGBA)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, rgba)
		}
	}
}
