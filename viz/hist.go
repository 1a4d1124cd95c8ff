package viz

import (
	"fmt"
	"image"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// HistogramOptions label a histogram.
type HistogramOptions struct {
	Title, XLabel, YLabel string
	Bins                  int     // 0: 30
	Min, Max              float64 // the range of the bins; both 0: the data's range
	Width, Height         float64 // in points (1/72 inch); 0: 480 × 320
}

// Histogram draws a histogram of values (drawn with gonum.org/v1/plot) as an image.
func Histogram(values []float64, opt HistogramOptions) (image.Image, error) {
	if len(values) == 0 {
		return nil, fmt.Errorf("viz: histogram %q: no values", opt.Title)
	}
	if opt.Bins <= 0 {
		opt.Bins = 30
	}
	if opt.Width <= 0 || opt.Height <= 0 {
		opt.Width, opt.Height = 480, 320
	}
	vs := plotter.Values(values)
	var xy plotter.XYs
	if opt.Min != 0 || opt.Max != 0 {
		// Pin the range: NewHistogram takes the bins from the data's extent, so add the ends as
		// zero-weight points.
		xy = make(plotter.XYs, 0, len(values)+2)
		for _, v := range values {
			xy = append(xy, plotter.XY{X: min(opt.Max, max(opt.Min, v)), Y: 1})
		}
		xy = append(xy, plotter.XY{X: opt.Min, Y: 0}, plotter.XY{X: opt.Max, Y: 0})
	}
	var h *plotter.Histogram
	var err error
	if xy != nil {
		h, err = plotter.NewHistogram(xy, opt.Bins)
	} else {
		h, err = plotter.NewHist(vs, opt.Bins)
	}
	if err != nil {
		return nil, fmt.Errorf("viz: histogram %q: %v", opt.Title, err)
	}
	p := plot.New()
	p.Title.Text = opt.Title
	p.X.Label.Text = opt.XLabel
	p.Y.Label.Text = opt.YLabel
	if p.Y.Label.Text == "" {
		p.Y.Label.Text = "count"
	}
	p.Add(h)
	return render(p, opt.Width, opt.Height), nil
}

func sortFloats(a []float64) { sort.Float64s(a) }
