package viz

import (
	"image/color"
	"testing"
)

// TestTopoMap: unit r·w + c of a 2×3 map lands in tile row r, column c; each tile is a column of D.
func TestTopoMap(t *testing.T) {
	const size, h, w = 1, 2, 3
	m := h * w
	d := make([]float32, size*size*m) // [1, 6]: unit u has the value u − 2.5
	for u := range d {
		d[u] = float32(u) - 2.5
	}
	img := TopoMap(d, size, h, w, GridOptions{Zoom: 1, Gap: 1})
	if got := img.Bounds().Dx(); got != w*2+1 {
		t.Fatalf("width %d", got)
	}
	for u := range m {
		px := img.RGBAAt(1+(u%w)*2, 1+(u/w)*2).R
		want := uint8(255) // a 1-pixel tile is its own peak: white if positive, black if negative
		if d[u] < 0 {
			want = 0
		}
		if px != want {
			t.Errorf("unit %d: gray %d, want %d", u, px, want)
		}
	}
}

// TestResponseMaps: the hottest cell of each heat map is white and zeros are black.
func TestResponseMaps(t *testing.T) {
	row := ResponseRow{
		Patch:  []float32{0, 1, 2, 3},
		Units:  []float32{0, 0, 0, 5},
		Pooled: []float32{2, 0},
	}
	img := ResponseMaps([]ResponseRow{row}, 2, 2, 2, 1, 2, GridOptions{Zoom: 1, Gap: 1})
	b := img.Bounds()
	var white, black int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch img.RGBAAt(x, y) {
			case color.RGBA{255, 255, 255, 255}:
				white++
			case color.RGBA{0, 0, 0, 255}:
				black++
			}
		}
	}
	if white == 0 || black == 0 {
		t.Errorf("%d white and %d black pixels: want the peaks white and the zeros black", white, black)
	}
	defer func() {
		if recover() == nil {
			t.Error("a row of the wrong length did not panic")
		}
	}()
	ResponseMaps([]ResponseRow{{Patch: []float32{1}}}, 2, 2, 2, 1, 2, GridOptions{})
}
