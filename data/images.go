package data

import (
	"bytes"
	"embed"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // decoders for DecodeGray
	_ "image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"slices"
)

// Gray is a grayscale image with float pixels.
type Gray struct {
	Name string
	W, H int
	Pix  []float32 // [H, W], row-major; [0, 1] when decoded
}

// At returns the pixel in column x, row y.
func (g *Gray) At(x, y int) float32 { return g.Pix[y*g.W+x] }

// naturalFS holds a few CC0 / public-domain photographs from scikit-image; names, sources and
// licences are in testdata/images/LICENSES.md.
//
//go:embed testdata/images/*.png testdata/images/*.jpg
var naturalFS embed.FS

// NaturalImages decodes the embedded photographs (camera, chelsea, coffee, grass, rocket:
// 400–640 pixels a side, about 1.2 MB) to grayscale, sorted by file name. They need no files on
// disk. Each call decodes afresh, so callers may modify the result.
func NaturalImages() ([]Gray, error) {
	names, err := fs.Glob(naturalFS, "testdata/images/*")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var imgs []Gray
	for _, name := range names {
		if path.Ext(name) == ".md" {
			continue
		}
		f, err := naturalFS.Open(name)
		if err != nil {
			return nil, err
		}
		g, err := DecodeGray(f, path.Base(name))
		f.Close()
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, g)
	}
	return imgs, nil
}

// MaxImagePixels bounds the images DecodeGray reads (8192×8192), checked on the header before
// the pixels are decoded, so that a small compressed file cannot claim gigabytes.
const MaxImagePixels = 1 << 26

// LoadGray decodes a PNG or JPEG file to grayscale.
func LoadGray(file string) (Gray, error) {
	f, err := os.Open(file)
	if err != nil {
		return Gray{}, fileErr(file, openCause(err), "cannot open")
	}
	defer f.Close()
	return DecodeGray(f, file)
}

// DecodeGray decodes a PNG or JPEG image from r to grayscale; name is used in errors and
// becomes the Gray's Name.
func DecodeGray(r io.Reader, name string) (Gray, error) {
	// Read the size from the header first: a small file may claim a huge image.
	var head bytes.Buffer
	cfg, _, err := image.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return Gray{}, fileErr(name, err, "cannot decode image")
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return Gray{}, fileErr(name, nil, "a %d×%d image, more than drsae's limit of %d pixels (%d×%d)", cfg.Width, cfg.Height, MaxImagePixels, 1<<13, 1<<13)
	}
	img, format, err := image.Decode(io.MultiReader(&head, r))
	if err != nil {
		return Gray{}, fileErr(name, err, "cannot decode image")
	}
	g := ToGray(img)
	g.Name = name
	if g.W == 0 || g.H == 0 {
		return Gray{}, fileErr(name, nil, "empty %s image (%d×%d)", format, g.W, g.H)
	}
	return g, nil
}

// ToGray converts img to grayscale in [0, 1] by its luma, Y = 0.299·R + 0.587·G + 0.114·B on
// the stored (gamma-encoded) values (ITU-R BT.601, the Y that JPEG itself stores, so a JPEG's
// Y plane is used as it is). Alpha is ignored.
func ToGray(img image.Image) Gray {
	b := img.Bounds()
	g := Gray{W: b.Dx(), H: b.Dy(), Pix: make([]float32, b.Dx()*b.Dy())}
	switch m := img.(type) {
	case *image.Gray:
		for y := range g.H {
			row := m.Pix[y*m.Stride : y*m.Stride+g.W]
			for x, v := range row {
				g.Pix[y*g.W+x] = float32(v) / 255
			}
		}
	case *image.YCbCr:
		for y := range g.H {
			row := m.Y[y*m.YStride : y*m.YStride+g.W]
			for x, v := range row {
				g.Pix[y*g.W+x] = float32(v) / 255
			}
		}
	default:
		for y := range g.H {
			for x := range g.W {
				c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				l := 0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)
				g.Pix[y*g.W+x] = float32(l / 0xffff)
			}
		}
	}
	return g
}

// LocalContrastNormalize returns the local contrast normalization of g (Jarrett, Kavukcuoglu,
// Ranzato & LeCun 2009, after Pinto et al. 2008) with a Gaussian window of width sigma pixels:
//
//	v = x − G∗x             (subtractive: remove the local weighted mean)
//	s = √(G∗v²)             (local standard deviation)
//	y = v / max(mean(s), s, 1e-4) (divisive: floored by the image's mean s, so flat areas stay flat)
//
// G∗ is a normalized Gaussian convolution whose weights are renormalized at the borders
// (the window is truncated at 3σ). It panics if sigma ≤ 0.
func LocalContrastNormalize(g Gray, sigma float64) Gray {
	if sigma <= 0 {
		panic(fmt.Sprintf("data: LocalContrastNormalize: sigma %v must be positive", sigma))
	}
	out := Gray{Name: g.Name, W: g.W, H: g.H, Pix: make([]float32, len(g.Pix))}
	v := make([]float64, len(g.Pix))
	for i, p := range g.Pix {
		v[i] = float64(p)
	}
	blur := newGaussBlur(sigma, g.W, g.H)
	mean := blur.apply(v)
	for i := range v {
		v[i] -= mean[i]
	}
	sq := make([]float64, len(v))
	for i, d := range v {
		sq[i] = d * d
	}
	s := blur.apply(sq)
	var avg float64
	for i := range s {
		s[i] = math.Sqrt(max(s[i], 0))
		avg += s[i]
	}
	avg /= float64(len(s))
	for i := range v {
		out.Pix[i] = float32(v[i] / max(avg, s[i], lcnFloor))
	}
	return out
}

// lcnFloor is the smallest divisor of LocalContrastNormalize, far below one grey level
// (1/255), so that a flat image's round-off is not blown up.
const lcnFloor = 1e-4

// gaussBlur is a separable, border-renormalized Gaussian filter for W×H images.
type gaussBlur struct {
	w, h, r int
	k       []float64 // [2r+1]
	nx, ny  []float64 // 1 / (sum of the in-bounds weights) per column, per row
}

func newGaussBlur(sigma float64, w, h int) *gaussBlur {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
	}
	norm := func(n int) []float64 {
		s := make([]float64, n)
		for x := range n {
			var t float64
			for i := max(0, r-x); i < len(k) && x+i-r < n; i++ {
				t += k[i]
			}
			s[x] = 1 / t
		}
		return s
	}
	return &gaussBlur{w: w, h: h, r: r, k: k, nx: norm(w), ny: norm(h)}
}

// apply returns G∗x for x [h, w].
func (b *gaussBlur) apply(x []float64) []float64 {
	tmp := make([]float64, len(x))
	for y := range b.h {
		row := x[y*b.w : (y+1)*b.w]
		for c := range b.w {
			var t float64
			for i := max(0, b.r-c); i < len(b.k) && c+i-b.r < b.w; i++ {
				t += b.k[i] * row[c+i-b.r]
			}
			tmp[y*b.w+c] = t * b.nx[c]
		}
	}
	out := make([]float64, len(x))
	for y := range b.h {
		for i := max(0, b.r-y); i < len(b.k) && y+i-b.r < b.h; i++ {
			src := tmp[(y+i-b.r)*b.w : (y+i-b.r+1)*b.w]
			dst := out[y*b.w : (y+1)*b.w]
			for c, v := range src {
				dst[c] += b.k[i] * v
			}
		}
		for c := range b.w {
			out[y*b.w+c] *= b.ny[y]
		}
	}
	return out
}
