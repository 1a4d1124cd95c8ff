package viz

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// ScatterOptions label a scatter plot.
type ScatterOptions struct {
	Title, XLabel, YLabel string
	XMin, XMax            float64   // the x range; both 0: the data's
	Marks                 []float64 // x values marked by dashed vertical lines (thresholds)
	Width, Height         float64   // in points (1/72 inch); 0: 400 × 320
}

// Scatter draws the points (x[i], y[i]) (drawn with gonum.org/v1/plot) as an image.
func Scatter(x, y []float64, opt ScatterOptions) (image.Image, error) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("viz: scatter %q: %d x values, %d y values", opt.Title, len(x), len(y)))
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("viz: scatter %q: no points", opt.Title)
	}
	if opt.Width <= 0 || opt.Height <= 0 {
		opt.Width, opt.Height = 400, 320
	}
	xy := make(plotter.XYs, len(x))
	top := math.Inf(-1)
	for i := range x {
		xy[i] = plotter.XY{X: x[i], Y: y[i]}
		top = math.Max(top, y[i])
	}
	pts, err := plotter.NewScatter(xy)
	if err != nil {
		return nil, fmt.Errorf("viz: scatter %q: %v", opt.Title, err)
	}
	pts.GlyphStyle = vgdraw.GlyphStyle{Color: color.RGBA{R: 30, G: 60, B: 160, A: 255}, Radius: vg.Points(1.6), Shape: vgdraw.CircleGlyph{}}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = opt.Title, opt.XLabel, opt.YLabel
	p.Add(pts)
	for _, m := range opt.Marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m, Y: 0}, {X: m, Y: top}})
		if err != nil {
			return nil, fmt.Errorf("viz: scatter %q: mark %g: %v", opt.Title, m, err)
		}
		l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.LineStyle.Color = color.Gray{Y: 120}
		p.Add(l)
	}
	if opt.XMin != 0 || opt.XMax != 0 {
		p.X.Min, p.X.Max = opt.XMin, opt.XMax
	}
	return render(p, opt.Width, opt.Height), nil
}

// render draws p on a canvas of w × h points.
func render(p *plot.Plot, w, h float64) image.Image {
	c := vgimg.New(vg.Length(w)*vg.Inch/72, vg.Length(h)*vg.Inch/72)
	p.Draw(vgdraw.New(c))
	return c.Image()
}

// Beside sets the images side by side, tops aligned, on white.
func Beside(imgs ...image.Image) *image.RGBA {
	var w, h int
	for _, m := range imgs {
		w += m.Bounds().Dx()
		h = max(h, m.Bounds().Dy())
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	x := 0
	for _, m := range imgs {
		b := m.Bounds()
		draw.Draw(out, image.Rect(x, 0, x+b.Dx(), b.Dy()), m, b.Min, draw.Src)
		x += b.Dx()
	}
	return out
}
