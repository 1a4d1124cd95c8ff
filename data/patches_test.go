package data

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestNaturalImages(t *testing.T) {
	imgs, err := NaturalImages()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int{
		"camera.png": {512, 512}, "chelsea.png": {451, 300}, "coffee.png": {600, 400},
		"grass.png": {512, 512}, "rocket.jpg": {640, 427},
	}
	if len(imgs) != len(want) {
		t.Fatalf("%d images, want %d", len(imgs), len(want))
	}
	for _, g := range imgs {
		wh, ok := want[g.Name]
		if !ok || g.W != wh[0] || g.H != wh[1] || len(g.Pix) != g.W*g.H {
			t.Errorf("%s: %d×%d (%d pixels), want %v", g.Name, g.W, g.H, len(g.Pix), wh)
			continue
		}
		lo, hi := slices.Min(g.Pix), slices.Max(g.Pix)
		var m float64
		for _, p := range g.Pix {
			m += float64(p)
		}
		m /= float64(len(g.Pix))
		if lo < 0 || hi > 1 || hi-lo < 0.5 || m < 0.1 || m > 0.9 {
			t.Errorf("%s: pixels in [%v, %v], mean %v: not a decoded photograph", g.Name, lo, hi, m)
		}
	}
}

func TestToGray(t *testing.T) {
	// Pure red, green, blue and white: luma 0.299, 0.587, 0.114, 1.
	img := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	for x, c := range []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 255, 255}} {
		img.SetNRGBA(x, 0, c)
	}
	g := ToGray(img)
	if !close32(g.Pix, []float32{0.299, 0.587, 0.114, 1}, 1e-6) {
		t.Errorf("ToGray(R, G, B, white) = %v", g.Pix)
	}
	// A gray sub-image keeps its own origin.
	gi := image.NewGray(image.Rect(0, 0, 3, 3))
	for i := range gi.Pix {
		gi.Pix[i] = uint8(i * 10)
	}
	sub := ToGray(gi.SubImage(image.Rect(1, 1, 3, 3)))
	if sub.W != 2 || sub.H != 2 || !close32(sub.Pix, []float32{40. / 255, 50. / 255, 70. / 255, 80. / 255}, 1e-7) {
		t.Errorf("ToGray(sub-image) = %d×%d %v", sub.W, sub.H, sub.Pix)
	}
	// Round trip through PNG.
	var b bytes.Buffer
	if err := png.Encode(&b, gi); err != nil {
		t.Fatal(err)
	}
	dg, err := DecodeGray(&b, "x.png")
	if err != nil || dg.At(2, 1) != 50./255 || dg.Name != "x.png" {
		t.Errorf("DecodeGray: %v, At(2,1) = %v", err, dg.At(2, 1))
	}
	_, err = DecodeGray(strings.NewReader("not an image"), "junk.png")
	checkErr(t, err, "junk.png", "cannot decode image")
	_, err = LoadGray("/no/such/file.png")
	checkErr(t, err, "/no/such/file.png", "cannot open")
}

func naturalImagesT(t *testing.T) []Gray {
	t.Helper()
	imgs, err := NaturalImages()
	if err != nil {
		t.Fatal(err)
	}
	return imgs
}

func TestPatches(t *testing.T) {
	imgs := naturalImagesT(t)
	const size, n = 12, 2000
	p := Patches(imgs, size, n, 1)
	if len(p) != n*size*size {
		t.Fatalf("len = %d, want %d", len(p), n*size*size)
	}
	if !slices.Equal(p, Patches(imgs, size, n, 1)) {
		t.Error("Patches is not deterministic for a seed")
	}
	if slices.Equal(p, Patches(imgs, size, n, 2)) {
		t.Error("seeds 1 and 2 give the same patches")
	}
	// Each patch must be a block of one of the images.
	for k := range 20 {
		if !foundIn(imgs, p[k*size*size:(k+1)*size*size], size) {
			t.Fatalf("patch %d is not a block of any image", k)
		}
	}
	// A patch as large as an image can only be that image.
	small := Gray{W: 3, H: 2, Pix: []float32{1, 2, 3, 4, 5, 6}}
	big := Gray{W: 2, H: 1, Pix: []float32{0, 0}}
	if got := Patches([]Gray{big, small}, 2, 3, 0); !slices.Equal(got[:4], []float32{1, 2, 4, 5}) && !slices.Equal(got[:4], []float32{2, 3, 5, 6}) {
		t.Errorf("Patches of a 3×2 image: %v", got)
	}
	mustPanic(t, "Patches too large", func() { Patches([]Gray{small}, 4, 1, 0) })

	x := slices.Clone(p)
	RemoveMean(x, size*size)
	for k := range n {
		var s float64
		for _, v := range x[k*size*size : (k+1)*size*size] {
			s += float64(v)
		}
		if math.Abs(s/(size*size)) > 1e-6 {
			t.Fatalf("patch %d: mean %v after RemoveMean", k, s/(size*size))
		}
	}
	y := slices.Clone(x)
	NormalizeRows(y, size*size, 0)
	DivideStd(x, size*size, 0)
	for k := range n {
		var s2, s2y float64
		for j := range size * size {
			v, w := float64(x[k*size*size+j]), float64(y[k*size*size+j])
			s2 += v * v
			s2y += w * w
		}
		if math.Abs(s2/(size*size)-1) > 1e-5 || math.Abs(s2y-1) > 1e-5 {
			t.Fatalf("patch %d: variance %v after DivideStd, squared norm %v after NormalizeRows", k, s2/(size*size), s2y)
		}
	}
	// Flat patches are not blown up: with a floor they are divided by it, without one kept.
	flat := []float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 + 1e-6}
	DivideStd(flat, 4, 0.1)
	if flat[0] != 5 || math.Abs(float64(flat[7]-5)) > 1e-4 {
		t.Errorf("DivideStd of a flat patch with floor 0.1: %v", flat)
	}
	flat = []float32{0.5, 0.5, 0.5, 0.5}
	DivideStd(flat, 4, 0)
	if flat[0] != 0.5 {
		t.Errorf("DivideStd of a constant patch with floor 0: %v", flat)
	}
	mustPanic(t, "RemoveMean dim", func() { RemoveMean(make([]float32, 10), 3) })
}

func foundIn(imgs []Gray, patch []float32, size int) bool {
	for i := range imgs {
		g := &imgs[i]
		for y := 0; y+size <= g.H; y++ {
			for x := 0; x+size <= g.W; x++ {
				if g.At(x, y) == patch[0] && slices.Equal(PatchesAt(*g, size, []image.Point{{x, y}}), patch) {
					return true
				}
			}
		}
	}
	return false
}

func TestPatchesAtShift(t *testing.T) {
	g := naturalImagesT(t)[0]
	const size = 8
	at := RandomPositions(g, size, 100, 2, 5)
	base := PatchesAt(g, size, at)
	for _, d := range []image.Point{{1, 0}, {0, 2}, {-2, -1}, {2, 2}} {
		sh := PatchesAt(g, size, Shift(at, d.X, d.Y))
		for k, p := range at {
			for y := range size {
				for x := range size {
					if got, want := sh[k*size*size+y*size+x], g.At(p.X+d.X+x, p.Y+d.Y+y); got != want {
						t.Fatalf("shift %v, patch %d: (%d,%d) = %v, want %v", d, k, x, y, got, want)
					}
				}
			}
			// The overlap of the shifted patch is the base patch moved.
			for y := max(0, -d.Y); y < min(size, size-d.Y); y++ {
				for x := max(0, -d.X); x < min(size, size-d.X); x++ {
					if sh[k*size*size+y*size+x] != base[k*size*size+(y+d.Y)*size+x+d.X] {
						t.Fatalf("shift %v: overlap differs", d)
					}
				}
			}
		}
	}
	mustPanic(t, "PatchesAt outside", func() { PatchesAt(g, size, []image.Point{{g.W - size + 1, 0}}) })
	mustPanic(t, "PatchesAt negative", func() { PatchesAt(g, size, []image.Point{{-1, 0}}) })
}

func TestLocalContrastNormalize(t *testing.T) {
	g := naturalImagesT(t)[0]
	out := LocalContrastNormalize(g, 2)
	if out.W != g.W || out.H != g.H {
		t.Fatalf("size %d×%d", out.W, out.H)
	}
	// Invariant to an affine change of brightness: a·x + b gives the same output.
	h := Gray{W: g.W, H: g.H, Pix: make([]float32, len(g.Pix))}
	for i, v := range g.Pix {
		h.Pix[i] = 0.5*v + 0.2
	}
	out2 := LocalContrastNormalize(h, 2)
	if !close32(out.Pix, out2.Pix, 1e-4) {
		t.Error("LocalContrastNormalize(0.5·x + 0.2) differs from LocalContrastNormalize(x)")
	}
	// Locally zero mean: the Gaussian-weighted mean of the output is small compared to its spread.
	var s, s2 float64
	for _, v := range out.Pix {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	mean, sd := s/float64(len(out.Pix)), math.Sqrt(s2/float64(len(out.Pix)))
	if math.Abs(mean) > 0.05*sd || sd < 0.2 || sd > 2 {
		t.Errorf("LCN output: mean %v, rms %v", mean, sd)
	}
	// A constant image stays (nearly) all zeros: its round-off is not blown up.
	c := Gray{W: 5, H: 4, Pix: slices.Repeat([]float32{0.7}, 20)}
	for _, v := range LocalContrastNormalize(c, 1.5).Pix {
		if math.Abs(float64(v)) > 1e-6 {
			t.Fatalf("LCN of a constant image: %v", v)
		}
	}
}
