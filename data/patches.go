package data

import (
	"fmt"
	"image"
)

// Patches cuts n random size×size patches from imgs, [n, size*size] row-major. Every position
// where a patch fits, in any image, is equally likely (an image is drawn with probability
// proportional to its number of positions). Images smaller than size are skipped; it panics
// if none is large enough.
func Patches(imgs []Gray, size, n int, seed uint64) []float32 {
	if size <= 0 || n < 0 {
		panic(fmt.Sprintf("data: Patches: size %d, n %d", size, n))
	}
	// cum[i] is the number of positions in imgs[:i+1].
	cum := make([]uint64, len(imgs))
	var total uint64
	for i, g := range imgs {
		if g.W >= size && g.H >= size {
			total += uint64(g.W-size+1) * uint64(g.H-size+1)
		}
		cum[i] = total
	}
	if total == 0 {
		panic(fmt.Sprintf("data: Patches: no image is at least %d×%d", size, size))
	}
	r := newRand(seed)
	out := make([]float32, n*size*size)
	for k := range n {
		u := r.Uint64N(total)
		i := 0
		for cum[i] <= u {
			i++
		}
		if i > 0 {
			u -= cum[i-1]
		}
		g := &imgs[i]
		nx := uint64(g.W - size + 1)
		cutPatch(out[k*size*size:(k+1)*size*size], g, size, int(u%nx), int(u/nx))
	}
	return out
}

// PatchesAt cuts size×size patches of img whose top-left corners are at, [len(at), size*size].
// Cutting at the same corners shifted by a pixel or two (Shift) gives the shifted patches a
// shift-invariance test compares. It panics if a patch leaves the image.
func PatchesAt(img Gray, size int, at []image.Point) []float32 {
	out := make([]float32, len(at)*size*size)
	for k, p := range at {
		if size <= 0 || p.X < 0 || p.Y < 0 || p.X+size > img.W || p.Y+size > img.H {
			panic(fmt.Sprintf("data: PatchesAt: %d×%d patch at %v leaves the %d×%d image", size, size, p, img.W, img.H))
		}
		cutPatch(out[k*size*size:(k+1)*size*size], &img, size, p.X, p.Y)
	}
	return out
}

// RandomPositions draws n top-left corners of size×size patches in img that stay inside the
// image when shifted by up to margin pixels in any direction. It panics if no such position
// exists.
func RandomPositions(img Gray, size, n, margin int, seed uint64) []image.Point {
	fx, fy := img.W-size-2*margin+1, img.H-size-2*margin+1
	if size <= 0 || margin < 0 || fx <= 0 || fy <= 0 {
		panic(fmt.Sprintf("data: RandomPositions: no %d×%d patch with margin %d fits the %d×%d image", size, size, margin, img.W, img.H))
	}
	r := newRand(seed)
	at := make([]image.Point, n)
	for k := range at {
		at[k] = image.Pt(margin+int(r.Uint64N(uint64(fx))), margin+int(r.Uint64N(uint64(fy))))
	}
	return at
}

// Shift returns the points at moved by (dx, dy).
func Shift(at []image.Point, dx, dy int) []image.Point {
	out := make([]image.Point, len(at))
	for i, p := range at {
		out[i] = p.Add(image.Pt(dx, dy))
	}
	return out
}

// cutPatch copies the size×size block of g at (x0, y0) into dst [size*size].
func cutPatch(dst []float32, g *Gray, size, x0, y0 int) {
	for y := range size {
		copy(dst[y*size:(y+1)*size], g.Pix[(y0+y)*g.W+x0:])
	}
}
