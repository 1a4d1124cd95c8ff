package main

import (
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/drsae"
	"github.com/drsae/drsae/viz"
)

func init() {
	cliKinds[drsae.Kind] = &cliKind{help: drsaeHelp, report: drsaeReport, show: drsaeShow}
}

const drsaeHelp = `Train a DrSAE (Rolfe & LeCun 2013) on MNIST: z⁰ = 0, z^{t+1} = max(0, E·x + S·z^t − b) for T steps,
x̂ = D·z^T, classes = softmax(C·z^T/‖z^T‖); first on recon·½‖x − x̂‖² + λ‖z‖₁ (the unsupervised
phase, --pretrain-epochs), then on that plus the cross-entropy (--epochs, with early stopping on the
validation digits), by SGD through the T steps. Inputs are scaled to unit L2 norm; the first
50,000 training digits train, the last 10,000 validate, the 10,000 test digits are scored at the end.

Defaults: the paper's net, 784-400-10 with T = 11, its loss weights and constraints, with a short
schedule (1 + up to 60 epochs). make run trains a smaller net in under 15 minutes on 2 CPU cores
(--units 200 --T 5: about 2% test error); make reproduce runs the recipe that reaches 1.04%
(docs/drsae.md); --recipe paper starts from the authors' own, much longer schedule.`

func drsaeReport(c *useContext, mod model.Module, s *model.Samples) error {
	m := mod.(*drsae.DrSAE)
	works := model.NewWorks(m)
	defer works.Free()
	ev, err := drsae.Evaluate(m, works, s, c.batch)
	if err != nil {
		return err
	}
	cfg := m.Config().(*drsae.Config)
	fmt.Fprintf(stdout, "error            %.2f%% (%d of %d)\n", 100*ev.ErrorRate(), ev.Errors(), ev.N)
	fmt.Fprintf(stdout, "reconstruction   ½‖x−x̂‖² = %.5f per sample, relative Σ‖x−x̂‖²/Σ‖x‖² = %.4f\n", ev.Mean("recon"), ev.RelRecon)
	fmt.Fprintf(stdout, "sparsity         L0 = %.2f of %d units active, ‖z‖₁ = %.4f\n", ev.Mean("L0"), cfg.Units, ev.Mean("l1"))
	fmt.Fprintf(stdout, "cross-entropy    %.5f;  loss %.5f\n", ev.Mean("xent"), ev.Mean("loss"))
	dead := 0
	for _, a := range ev.Active {
		if a == 0 {
			dead++
		}
	}
	fmt.Fprintf(stdout, "units never active: %d\n", dead)
	fmt.Fprintf(stdout, "confusion (rows: true class, columns: predicted)\n      ")
	for j := range ev.Confusion {
		fmt.Fprintf(stdout, "%6d", j)
	}
	fmt.Fprintln(stdout)
	for i, row := range ev.Confusion {
		fmt.Fprintf(stdout, "%6d", i)
		for _, v := range row {
			fmt.Fprintf(stdout, "%6d", v)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// drsaeShow draws the rows of E and the columns of D sorted by their angle, part-units first;
// S (diagonal included, colours clipped at the 99th percentile of the off-diagonal); the
// histogram of the encoder–decoder angles; and the paper's figure of the two populations,
// ‖(S−I)ᵢ‖ and ‖Cᵢ‖ against the angle per unit (part-units below 0.5 rad, categorical units above
// 0.7 after discriminative training).
func drsaeShow(c *useContext, mod model.Module, prefix string) ([]string, error) {
	m := mod.(*drsae.DrSAE)
	cfg := m.Config().(*drsae.Config)
	p, err := model.HostParams(m)
	if err != nil {
		return nil, err
	}
	units, err := drsae.Units(m)
	if err != nil {
		return nil, err
	}
	n, u := cfg.Inputs, cfg.Units
	angles, rec, cls := make([]float64, u), make([]float64, u), make([]float64, u)
	order := make([]int, u)
	for i, x := range units {
		order[i], angles[i], rec[i], cls[i] = i, x.Angle, x.Recurrent, x.Class
	}
	sort.SliceStable(order, func(a, b int) bool { return angles[order[a]] < angles[order[b]] })
	enc, dec := viz.Rows(p["E"].Data, u, n), viz.Cols(p["D"].Data, n, u)
	sortedE, sortedD := make([][]float32, u), make([][]float32, u)
	for i, j := range order {
		sortedE[i], sortedD[i] = enc[j], dec[j]
	}
	h, w := imageShape(cfg.Rows, cfg.Cols, n)
	cols := int(math.Ceil(math.Sqrt(float64(u))))
	pics := map[string]image.Image{
		"encoder.png": viz.Grid(sortedE, h, w, cols, viz.GridOptions{}),
		"decoder.png": viz.Grid(sortedD, h, w, cols, viz.GridOptions{}),
	}
	s := p["S"].Data
	clip := viz.Percentile(s, 99, func(i int) bool { return i/u != i%u })
	pics["S.png"] = viz.HeatMap(s, u, u, viz.HeatMapOptions{Clip: clip})
	if pics["angles.png"], err = viz.Histogram(angles, viz.HistogramOptions{
		Title:  fmt.Sprintf("angle between encoder row and decoder column (%d units)", u),
		XLabel: "angle (radians)", Bins: 40, Min: 0, Max: math.Pi / 2,
	}); err != nil {
		return nil, err
	}
	var panels []image.Image
	for _, y := range []struct {
		v            []float64
		title, label string
	}{{rec, "incoming recurrent connections", "‖row i of S − I‖"}, {cls, "outgoing classification connections", "‖column i of C‖"}} {
		img, err := viz.Scatter(angles, y.v, viz.ScatterOptions{
			Title: fmt.Sprintf("%s (%d units)", y.title, u), XLabel: "angle between encoder row and decoder column (radians)", YLabel: y.label,
			XMin: 0, XMax: math.Pi / 2, Marks: []float64{drsae.PartAngle, drsae.CategoricalAngle},
		})
		if err != nil {
			return nil, err
		}
		panels = append(panels, img)
	}
	pics["units.png"] = viz.Beside(panels...)
	var written []string
	for name, img := range pics {
		if err := viz.SavePNG(prefix+name, img); err != nil {
			return nil, err
		}
		written = append(written, prefix+name)
	}
	sort.Strings(written)
	part, mid, cat := drsae.GroupUnits(units)
	fmt.Fprintf(stdout, "units: %d part-units (angle < %g rad), %d categorical (> %g rad), %d between\n", part.N, drsae.PartAngle, cat.N, drsae.CategoricalAngle, mid.N)
	fmt.Fprintf(stdout, "%-12s %6s %16s %12s %16s\n", "", "units", "median ‖(S−I)ᵢ‖", "median ‖Cᵢ‖", "share of Σ‖Cᵢ‖²")
	for _, g := range []struct {
		name string
		g    drsae.UnitGroup
	}{{"part", part}, {"between", mid}, {"categorical", cat}} {
		fmt.Fprintf(stdout, "%-12s %6d %16.3f %12.3f %15.1f%%\n", g.name, g.g.N, g.g.Recurrent, g.g.Class, 100*g.g.ClassShare)
	}
	return written, nil
}

// imageShape is the picture shape of a filter of n values: rows×cols when known, else a row.
func imageShape(rows, cols, n int) (int, int) {
	if rows*cols == n && n > 0 {
		return rows, cols
	}
	if side := int(math.Round(math.Sqrt(float64(n)))); side*side == n {
		return side, side
	}
	return 1, n
}
