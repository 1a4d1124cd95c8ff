package data

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestWarpImageTurn: a quarter turn of a square image moves every pixel onto the grid, a lit
// pixel right of the centre goes above it (counter-clockwise as shown), and four quarter turns
// give the image back.
func TestWarpImageTurn(t *testing.T) {
	const n = 5
	img := make([]float32, n*n)
	for i := range img {
		img[i] = float32(i*i%17 + 1)
	}
	quarter := func(src []float32) []float32 {
		dst := make([]float32, len(src))
		WarpImage(dst, src, 1, n, n, math.Pi/2, 1, 0, 0)
		return dst
	}
	// Turned counter-clockwise, the pixel at row i, column j comes from row j, column n−1−i.
	turned := quarter(img)
	for i := range n {
		for j := range n {
			if want := img[j*n+n-1-i]; math.Abs(float64(turned[i*n+j]-want)) > 1e-5 {
				t.Fatalf("quarter turn: pixel (%d, %d) = %v, want %v", i, j, turned[i*n+j], want)
			}
		}
	}
	lit := make([]float32, n*n)
	lit[2*n+4] = 1 // right of the centre (2, 2)
	if up := quarter(lit); math.Abs(float64(up[0*n+2]-1)) > 1e-5 {
		t.Errorf("quarter turn: the pixel right of the centre went elsewhere than above it: %v", up)
	}
	back := quarter(quarter(quarter(turned)))
	for k := range img {
		if math.Abs(float64(back[k]-img[k])) > 1e-4 {
			t.Fatalf("four quarter turns: value %d = %v, want %v", k, back[k], img[k])
		}
	}
}

// TestWarpImageLinear: bilinear interpolation is exact on a linear image, so every output pixel
// whose source lies inside the image equals the ramp at that source, for turns, scales and
// fractional moves; pixels whose source lies wholly outside read 0.
func TestWarpImageLinear(t *testing.T) {
	const rows, cols = 9, 11
	ramp := func(y, x float64) float64 { return 0.5*y - 0.25*x + 3 }
	img := make([]float32, rows*cols)
	for i := range rows {
		for j := range cols {
			img[i*cols+j] = float32(ramp(float64(i), float64(j)))
		}
	}
	got := make([]float32, len(img))
	cy, cx := float64(rows-1)/2, float64(cols-1)/2
	inside, outside := 0, 0
	for _, c := range []struct{ angle, scale, dy, dx float64 }{
		{0.3, 1, 0, 0}, {-0.7, 1.2, 0.5, -1.25}, {2.5, 0.8, -2.3, 3.1}, {0, 0.5, 0, 0}, {1, 1, 6, 0},
	} {
		WarpImage(got, img, 1, rows, cols, c.angle, c.scale, c.dy, c.dx)
		sin, cos := math.Sincos(c.angle)
		for i := range rows {
			for j := range cols {
				v, u := float64(i)-cy-c.dy, float64(j)-cx-c.dx
				sy, sx := cy+(cos*v+sin*u)/c.scale, cx+(cos*u-sin*v)/c.scale
				g := float64(got[i*cols+j])
				switch {
				case sy >= 0 && sy <= rows-1 && sx >= 0 && sx <= cols-1:
					inside++
					if want := ramp(sy, sx); math.Abs(g-want) > 1e-4 {
						t.Fatalf("%+v: pixel (%d, %d) = %v, want the ramp at (%.3f, %.3f) = %v", c, i, j, g, sy, sx, want)
					}
				case sy <= -1 || sy >= rows || sx <= -1 || sx >= cols:
					outside++
					if g != 0 {
						t.Fatalf("%+v: pixel (%d, %d) reads (%.3f, %.3f), outside the image, = %v, want 0", c, i, j, sy, sx, g)
					}
				}
			}
		}
	}
	if inside < 200 || outside < 50 {
		t.Errorf("only %d pixels checked inside and %d outside: the cases miss what they test", inside, outside)
	}
}

// TestWarpBatch: the same seed warps a batch the same way; turns alone leave the centre pixel
// where it is and keep a disc's mass.
func TestWarpBatch(t *testing.T) {
	const n, side = 50, 15
	batch := func() []float32 {
		x := make([]float32, n*side*side)
		for k := range n {
			for i := range side {
				for j := range side {
					if (i-7)*(i-7)+(j-7)*(j-7) <= 9 {
						x[k*side*side+i*side+j] = 1
					}
				}
			}
		}
		return x
	}
	scratch := make([]float32, side*side)
	a, b := batch(), batch()
	WarpBatch(a, scratch, n, 1, side, side, 1.5, 20, 0.1, rand.New(rand.NewPCG(3, 4)))
	WarpBatch(b, scratch, n, 1, side, side, 1.5, 20, 0.1, rand.New(rand.NewPCG(3, 4)))
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("value %d: the same seed warped differently", k)
		}
	}
	x, orig := batch(), batch()
	WarpBatch(x, scratch, n, 1, side, side, 0, 30, 0, rand.New(rand.NewPCG(5, 6)))
	changed := 0
	for k := range n {
		img := x[k*side*side : (k+1)*side*side]
		if img[7*side+7] != 1 {
			t.Fatalf("image %d: a turn about the centre moved the centre pixel to %v", k, img[7*side+7])
		}
		var mass float64
		for i, v := range img {
			mass += float64(v)
			if v != orig[k*side*side+i] {
				changed++
			}
		}
		if mass < 25 || mass > 33 { // a disc of radius 3 covers 29 pixels
			t.Fatalf("image %d: a turn changed the disc's mass to %v", k, mass)
		}
	}
	if changed == 0 {
		t.Error("turns of up to 30° changed no pixel")
	}
}
