package bench

import (
	"errors"
	"image"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart draws rows as horizontal bars (gonum.org/v1/plot): one group per case, labelled with its
// unit, one bar per backend, named in the legend by labels[j] (one per backend, in the order of
// the Measures). The rate axis is logarithmic where the figures span more than a factor of 100,
// as they do whenever kernels and model steps share a chart. A missing figure draws no bar.
func Chart(rows []Row, labels []string) (image.Image, error) {
	lo, hi := math.Inf(1), 0.0
	for _, r := range rows {
		for _, m := range r.Measures {
			if m.Err == "" && m.Value > 0 {
				lo, hi = min(lo, m.Value), max(hi, m.Value)
			}
		}
	}
	if hi == 0 {
		return nil, errors.New("bench: chart: no figures to draw")
	}
	logScale := hi/lo > 100
	// On a log axis a bar cannot start at 0: every bar stands on an invisible one reaching floor.
	floor := 0.0
	if logScale {
		floor = math.Pow(10, math.Floor(math.Log10(lo/2)))
	}

	const groupPt, gapPt = 10.0, 6.0 // points per bar, points between groups
	nb := len(labels)
	barW := vg.Points(groupPt)
	p := plot.New()
	p.Title.Text = "drsae bench (higher is faster)"
	p.X.Label.Text = "rate, in each case's unit"
	grid := plotter.NewGrid()
	grid.Horizontal.Color = nil // lines between groups would cross the bars
	p.Add(grid)
	names := make([]string, len(rows))
	for i, r := range rows {
		// NominalY counts from the bottom; the first case goes on top, as in the table.
		names[len(rows)-1-i] = r.Case.Name + " (" + r.Case.Unit + ")"
	}
	for j := range nb {
		vals := make(plotter.Values, len(rows))
		base := make(plotter.Values, len(rows))
		for i, r := range rows {
			if m := r.Measures[j]; m.Err == "" && m.Value > floor {
				vals[len(rows)-1-i] = m.Value - floor
			}
			base[len(rows)-1-i] = floor
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return nil, err
		}
		under, err := plotter.NewBarChart(base, barW)
		if err != nil {
			return nil, err
		}
		under.Horizontal, bars.Horizontal = true, true
		// The first backend's bar on top of its group.
		under.Offset = vg.Length(float64(nb-1)/2-float64(j)) * barW
		bars.StackOn(under)
		bars.Color = plotutil.Color(j)
		bars.LineStyle.Width = 0
		p.Add(bars)
		p.Legend.Add(labels[j], bars)
	}
	p.NominalY(names...)
	p.Legend.Top = true
	p.X.Min = floor
	if logScale {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.X.Max = hi * 30 // room for the legend
	} else {
		p.X.Max = hi * 1.4
	}
	height := 90 + float64(len(rows))*(float64(nb)*groupPt+gapPt)
	c := vgimg.New(vg.Points(900), vg.Points(height))
	p.Draw(draw.New(c))
	return c.Image(), nil
}
