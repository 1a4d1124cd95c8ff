package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"
)

// FuzzDecodeGray: no file may panic the image path (header check, PNG and JPEG decoders, the
// conversion to gray), and what it accepts is a non-empty image within MaxImagePixels whose
// pixels are in [0, 1]. The seeds are crops of an embedded photograph in the encodings drsae
// meets: gray, RGBA, paletted and 16-bit PNG, gray and colour JPEG.
// Run with: go test -run '^$' -fuzz FuzzDecodeGray -fuzztime 60s ./data/
func FuzzDecodeGray(f *testing.F) {
	imgs, err := NaturalImages()
	if err != nil {
		f.Fatal(err)
	}
	src := imgs[0]
	const w, h = 24, 16
	gray := image.NewGray(image.Rect(0, 0, w, h))
	rgba := image.NewRGBA(gray.Rect)
	gray16 := image.NewGray16(gray.Rect)
	pal := image.NewPaletted(gray.Rect, color.Palette{color.Black, color.White, color.RGBA{200, 30, 60, 255}})
	for y := range h {
		for x := range w {
			v := src.At(x, y)
			gray.SetGray(x, y, color.Gray{uint8(255 * v)})
			rgba.Set(x, y, color.RGBA{uint8(255 * v), uint8(255 * (1 - v)), 128, 200})
			gray16.SetGray16(x, y, color.Gray16{uint16(65535 * v)})
			pal.SetColorIndex(x, y, uint8(x+y)%3)
		}
	}
	for _, m := range []image.Image{gray, rgba, gray16, pal} {
		var b bytes.Buffer
		if err := png.Encode(&b, m); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	for _, m := range []image.Image{gray, rgba} {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 75}); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeGray(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		if g.W <= 0 || g.H <= 0 || int64(g.W)*int64(g.H) > MaxImagePixels || len(g.Pix) != g.W*g.H {
			t.Fatalf("accepted a %d×%d image with %d pixels", g.W, g.H, len(g.Pix))
		}
		for i, v := range g.Pix {
			if !(v >= 0 && v <= 1) || math.IsNaN(float64(v)) {
				t.Fatalf("pixel %d = %v, outside [0, 1]", i, v)
			}
		}
	})
}
