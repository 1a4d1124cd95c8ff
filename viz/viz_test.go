package viz

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestGrid(t *testing.T) {
	// Two 2×3 tiles; the second has twice the values: per-tile contrast draws them alike.
	a := []float32{0, 1, -1, 0.5, 0, 0}
	b := []float32{0, 2, -2, 1, 0, 0}
	img := Grid([][]float32{a, b}, 2, 3, 0, GridOptions{Zoom: 1, Gap: 1})
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 2*(3+1)+1 || h != 2+2 {
		t.Fatalf("size %d×%d", w, h)
	}
	for k := 0; k < 2; k++ {
		x0 := 1 + k*4
		want := []uint8{128, 255, 0, 191, 128, 128}
		for i, w := range want {
			got := img.RGBAAt(x0+i%3, 1+i/3).R
			if d := int(got) - int(w); d < -1 || d > 1 {
				t.Errorf("tile %d pixel %d: gray %d, want %d", k, i, got, w)
			}
		}
	}
	if c := img.RGBAAt(0, 0); c != (color.RGBA{40, 48, 72, 255}) {
		t.Errorf("gap colour %v", c)
	}
}

func TestRowsCols(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6} // [2,3]
	r, c := Rows(x, 2, 3), Cols(x, 2, 3)
	if len(r) != 2 || r[1][0] != 4 || len(c) != 3 || c[2][0] != 3 || c[2][1] != 6 {
		t.Errorf("rows %v cols %v", r, c)
	}
}

func TestHeatMap(t *testing.T) {
	img := HeatMap([]float32{1, -1, 0, 0.5}, 2, 2, HeatMapOptions{Zoom: 1})
	if c := img.RGBAAt(0, 0); c != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("+max: %v", c)
	}
	if c := img.RGBAAt(1, 0); c != (color.RGBA{0, 0, 255, 255}) {
		t.Errorf("−max: %v", c)
	}
	if c := img.RGBAAt(0, 1); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("zero: %v", c)
	}
	if p := Percentile([]float32{-4, 1, 2, 3}, 100, func(i int) bool { return i > 0 }); p != 3 {
		t.Errorf("percentile %g", p)
	}
}

func TestHistogramSavePNG(t *testing.T) {
	img, err := Histogram([]float64{0.1, 0.2, 0.2, 1.2, 1.3}, HistogramOptions{Title: "angles", XLabel: "rad", Bins: 10, Min: 0, Max: 1.6})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "h.png")
	if err := SavePNG(path, img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != img.Bounds() || back.Bounds().Dx() < 100 {
		t.Errorf("bounds %v, saved %v", img.Bounds(), back.Bounds())
	}
	if _, err := Histogram(nil, HistogramOptions{}); err == nil {
		t.Error("no error for an empty histogram")
	}
	if err := SavePNG(filepath.Join(t.TempDir(), "no", "such", "dir.png"), img); err == nil {
		t.Error("no error saving into a missing folder")
	}
}

func TestScatterBeside(t *testing.T) {
	a, err := Scatter([]float64{0.1, 0.4, 1.2}, []float64{0.2, 0.3, 1.5}, ScatterOptions{Title: "units", XMin: 0, XMax: 1.6, Marks: []float64{0.5, 0.7}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Scatter([]float64{0, 1}, []float64{1, 0}, ScatterOptions{Width: 200, Height: 100})
	if err != nil {
		t.Fatal(err)
	}
	// The points are drawn: the glyphs' blue appears, and more of it for more points.
	if na, nb := bluePixels(a), bluePixels(b); nb == 0 || na <= nb {
		t.Errorf("blue pixels: %d for 3 points, %d for 2", na, nb)
	}
	both := Beside(a, b)
	wa, wb := a.Bounds().Dx(), b.Bounds().Dx()
	if both.Bounds().Dx() != wa+wb || both.Bounds().Dy() != max(a.Bounds().Dy(), b.Bounds().Dy()) {
		t.Fatalf("Beside: %v from %v and %v", both.Bounds(), a.Bounds(), b.Bounds())
	}
	// Each panel lands at its offset: compare a few pixels of each with the original.
	for _, p := range []image.Point{{0, 0}, {wa / 2, a.Bounds().Dy() / 2}, {wa - 1, a.Bounds().Dy() - 1}} {
		if got, want := both.At(p.X, p.Y), a.At(a.Bounds().Min.X+p.X, a.Bounds().Min.Y+p.Y); !sameColor(got, want) {
			t.Errorf("left panel at %v: %v, want %v", p, got, want)
		}
	}
	for _, p := range []image.Point{{0, 0}, {wb / 2, b.Bounds().Dy() / 2}} {
		if got, want := both.At(wa+p.X, p.Y), b.At(b.Bounds().Min.X+p.X, b.Bounds().Min.Y+p.Y); !sameColor(got, want) {
			t.Errorf("right panel at %v: %v, want %v", p, got, want)
		}
	}
	// Below the shorter panel: white.
	if got := both.At(wa+1, b.Bounds().Dy()+1); !sameColor(got, color.White) {
		t.Errorf("under the short panel: %v, want white", got)
	}
	if _, err := Scatter(nil, nil, ScatterOptions{}); err == nil {
		t.Error("no error for an empty scatter plot")
	}
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

func bluePixels(img image.Image) int {
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, _, b, _ := img.At(x, y).RGBA()
			if b > r+0x4000 {
				n++
			}
		}
	}
	return n
}
