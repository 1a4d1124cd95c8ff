package data

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestShiftImage compares ShiftImage (in place) and WarpImage with no turn and no scaling (into
// another image) with a reference that reads every pixel from where it came, for every offset of
// a 3-plane 4×5 image.
func TestShiftImage(t *testing.T) {
	const planes, rows, cols = 3, 4, 5
	img := make([]float32, planes*rows*cols)
	for i := range img {
		img[i] = float32(i + 1)
	}
	for dy := -rows + 1; dy < rows; dy++ {
		for dx := -cols + 1; dx < cols; dx++ {
			got := append([]float32(nil), img...)
			ShiftImage(got, planes, rows, cols, dy, dx)
			warped := make([]float32, len(img))
			WarpImage(warped, img, planes, rows, cols, 0, 1, float64(dy), float64(dx))
			for p := range planes {
				for i := range rows {
					for j := range cols {
						var want float32
						if si, sj := i-dy, j-dx; si >= 0 && si < rows && sj >= 0 && sj < cols {
							want = img[(p*rows+si)*cols+sj]
						}
						if g := got[(p*rows+i)*cols+j]; g != want {
							t.Fatalf("shift (%d, %d): plane %d pixel (%d, %d) = %v, want %v", dy, dx, p, i, j, g, want)
						}
						if g := warped[(p*rows+i)*cols+j]; g != want {
							t.Fatalf("warp by (%d, %d): plane %d pixel (%d, %d) = %v, want %v", dy, dx, p, i, j, g, want)
						}
					}
				}
			}
		}
	}
}

// TestShiftBatch: the same seed shifts a batch the same way; offsets stay within the bound, and
// every offset of the range is drawn.
func TestShiftBatch(t *testing.T) {
	const n, rows, cols, maxShift = 400, 7, 7, 2
	x := make([]float32, n*rows*cols)
	for i := range n {
		x[i*rows*cols+3*cols+3] = 1 // one lit pixel at the centre
	}
	a, b := append([]float32(nil), x...), append([]float32(nil), x...)
	ShiftBatch(a, n, 1, rows, cols, maxShift, rand.New(rand.NewPCG(7, 8)))
	ShiftBatch(b, n, 1, rows, cols, maxShift, rand.New(rand.NewPCG(7, 8)))
	seen := map[[2]int]bool{}
	for i := range n {
		img := a[i*rows*cols : (i+1)*rows*cols]
		found := false
		for k, v := range img {
			if v == 1 {
				dy, dx := k/cols-3, k%cols-3
				if dy < -maxShift || dy > maxShift || dx < -maxShift || dx > maxShift {
					t.Fatalf("image %d moved by (%d, %d), past %d", i, dy, dx, maxShift)
				}
				seen[[2]int{dy, dx}], found = true, true
			}
		}
		if !found {
			t.Fatalf("image %d lost its pixel", i)
		}
		for k := range img {
			if img[k] != b[i*rows*cols+k] {
				t.Fatalf("image %d: the same seed shifted it differently", i)
			}
		}
	}
	if len(seen) != (2*maxShift+1)*(2*maxShift+1) {
		t.Errorf("%d distinct offsets drawn in %d images, want %d", len(seen), n, (2*maxShift+1)*(2*maxShift+1))
	}
}

// TestFlipBatch: a flipped image is its mirror (each plane's rows reversed, checked against the
// index formula), flipping twice restores it, the same seed flips the same images, and about half
// of the images are flipped.
func TestFlipBatch(t *testing.T) {
	const n, planes, rows, cols = 1000, 2, 3, 5
	dim := planes * rows * cols
	x := make([]float32, n*dim)
	for i := range x {
		x[i] = float32(i % dim)
	}
	a, b := slices.Clone(x), slices.Clone(x)
	FlipBatch(a, n, planes, rows, cols, rand.New(rand.NewPCG(3, 4)))
	FlipBatch(b, n, planes, rows, cols, rand.New(rand.NewPCG(3, 4)))
	if !slices.Equal(a, b) {
		t.Fatal("the same seed flipped the batch differently")
	}
	flipped := 0
	for i := range n {
		img := a[i*dim : (i+1)*dim]
		if slices.Equal(img, x[:dim]) {
			continue
		}
		flipped++
		for k, v := range img {
			p, r, c := k/(rows*cols), k/cols%rows, k%cols
			if want := float32((p*rows+r)*cols + cols - 1 - c); v != want {
				t.Fatalf("image %d, plane %d, pixel (%d, %d) = %g, want %g (the mirror)", i, p, r, c, v, want)
			}
		}
		FlipImage(img, planes, rows, cols)
		if !slices.Equal(img, x[:dim]) {
			t.Fatalf("image %d flipped twice differs from the original", i)
		}
	}
	if flipped < 430 || flipped > 570 {
		t.Errorf("%d of %d images flipped, want about half", flipped, n)
	}
}
