package lista

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/dict"
	"github.com/drsae/drsae/model/internal/modeltest"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The measured curve of docs/lista.md: run
//
//	go test ./model/lista -run TestLISTACurve -lista.curve ../../docs -timeout 2h
//
// to regenerate docs/lista.md and docs/lista.png (about 15-30 minutes on 2 CPU cores).
var listaCurveDir = flag.String("lista.curve", "", "measure LISTA/ISTA/FISTA code error curves on MNIST and write lista.md and lista.png into this folder")

var listaCurveQuick = flag.Bool("lista.curve.quick", false, "with -lista.curve: a small, fast version of the measurement (to check the machinery)")

// The setup of the curve: a dictionary learned on MNIST, then LISTA encoders for several T
// trained on the same digits, all measured on held-out test digits.
var (
	curveAtoms     = 400
	curveLambda    = 0.5
	curveTrain     = 10000 // training digits (dictionary and LISTA)
	curveHeldOut   = 1000  // test digits
	curveDictEpoch = 10
	curveEpochs    = 50 // LISTA epochs per T
	curveTargetIt  = 2000
	curveTargetTol = 1e-7
	curveMaxIter   = 1000 // ISTA/FISTA iterations measured
)

var curveT = []int{1, 2, 3, 5, 7, 10}

func TestLISTACurve(t *testing.T) {
	if *listaCurveDir == "" {
		t.Skip("set -lista.curve DIR to measure the curves of docs/lista.md")
	}
	if *listaCurveQuick {
		curveAtoms, curveTrain, curveHeldOut, curveDictEpoch, curveEpochs, curveMaxIter = 100, 2000, 300, 3, 10, 200
		curveT = []int{1, 3}
	}
	start := time.Now()
	train, test := modeltest.MNIST(t)
	be := modeltest.Backend(t)
	n, m := train.Dim(), curveAtoms
	x := &model.Samples{Name: "train", X: modeltest.Rows(train, 0, curveTrain), Dim: n}
	held := &model.Samples{Name: "held-out", X: modeltest.Rows(test, 0, curveHeldOut), Dim: n}

	// 1. The dictionary.
	dcfg := dict.DefaultConfig()
	dcfg.Inputs, dcfg.Units, dcfg.Lambda = n, m, curveLambda
	d, err := dict.New(be, dcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	if err := d.Init(x, 1); err != nil {
		t.Fatal(err)
	}
	dtc := dict.DefaultTrainConfig()
	dtc.Epochs = curveDictEpoch
	dtr, err := model.NewTrainer(d, dtc)
	if err != nil {
		t.Fatal(err)
	}
	dtr.Progress = func(p model.Progress) {
		if p.EndOfEpoch {
			t.Log(p)
		}
	}
	if err := dtr.Run(context.Background(), x, nil); err != nil {
		t.Fatal(err)
	}
	dtr.Free()
	dworks := model.NewWorks(d)
	dstats, err := model.MeasureCodes(d, dworks, x, 256)
	dworks.Free()
	if err != nil {
		t.Fatal(err)
	}

	// 2. Optimal codes z*: FISTA to a relative change of 1e-7 (or 2000 iterations).
	lcfg := DefaultConfig()
	lcfg.Lambda, lcfg.TargetIterations, lcfg.TargetTol = curveLambda, curveTargetIt, curveTargetTol
	targets := withDictionary(t, be, d.D(), lcfg)
	if x, err = model.WithTargets(targets, x, nil); err != nil {
		t.Fatal(err)
	}
	if held, err = model.WithTargets(targets, held, nil); err != nil {
		t.Fatal(err)
	}
	var zNorm float64
	for _, v := range held.Y {
		zNorm += float64(v) * float64(v)
	}
	zNorm /= float64(curveHeldOut)
	xht := modeltest.Upload(t, be, held.X, curveHeldOut, n)
	zht := modeltest.Upload(t, be, held.Y, curveHeldOut, m)
	t.Logf("dictionary and targets after %v", time.Since(start).Round(time.Second))

	// 3. ISTA and FISTA: the code error after every iteration, from one run each.
	ks := make([]int, curveMaxIter)
	for i := range ks {
		ks[i] = i + 1
	}
	iterErr := map[model.Algorithm][]float64{}
	zt, _ := be.New(curveHeldOut, m)
	diff, _ := be.New(curveHeldOut, m)
	sums, _ := model.NewScalars(be, 1)
	for _, alg := range []model.Algorithm{model.ISTA, model.FISTA} {
		c, err := model.NewSparseCoder(be, d.D(), model.CodingOptions{Lambda: curveLambda, Algorithm: alg, MaxIter: curveMaxIter})
		if err != nil {
			t.Fatal(err)
		}
		c.Options.OnIteration = func(k int, z kernels.Tensor) error {
			be.Copy(diff, z)
			be.Axpby(-1, zht, 1, diff)
			sums.Sum(diff, kernels.ReduceSquares)
			v, err := sums.Read()
			if err == nil {
				iterErr[alg] = append(iterErr[alg], v[0]/float64(curveHeldOut))
			}
			return err
		}
		if _, err := c.Encode(zt, xht); err != nil {
			t.Fatal(err)
		}
		c.Free()
	}

	// 4. LISTA for each T.
	var listaErr, listaInit []float64
	for _, T := range curveT {
		lcfg.T = T
		l := withDictionary(t, be, d.D(), lcfg)
		works := model.NewWorks(l)
		codeErr := func() float64 {
			s, err := model.Evaluate(l, works, held, 250, 0)
			if err != nil {
				t.Fatal(err)
			}
			return s.Mean("code_err")
		}
		e0 := codeErr()
		tc := DefaultTrainConfig()
		tc.Epochs = curveEpochs
		tr, err := model.NewTrainer(l, tc)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Run(context.Background(), x, nil); err != nil {
			t.Fatal(err)
		}
		e := codeErr()
		tr.Free()
		works.Free()
		listaErr, listaInit = append(listaErr, e), append(listaInit, e0)
		t.Logf("T=%d: held-out code error %.4g (ISTA init %.4g) after %v", T, e, e0, time.Since(start).Round(time.Second))
		l.Free()
	}

	// 5. How many iterations ISTA and FISTA need to match each LISTA.
	match := func(alg model.Algorithm, target float64) int {
		for i, e := range iterErr[alg] {
			if e <= target {
				return ks[i]
			}
		}
		return -1
	}

	if err := os.MkdirAll(*listaCurveDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	writeCurveDoc(&md, dstats, zNorm, ks, iterErr, listaErr, listaInit, match, time.Since(start), be.Info().Device)
	if err := os.WriteFile(filepath.Join(*listaCurveDir, "lista.md"), []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := plotCurve(filepath.Join(*listaCurveDir, "lista.png"), ks, iterErr, listaErr, zNorm); err != nil {
		t.Fatal(err)
	}
	t.Log(md.String())
}

func writeCurveDoc(md *strings.Builder, ds model.CodeStats, zNorm float64, ks []int, iterErr map[model.Algorithm][]float64,
	listaErr, listaInit []float64, match func(model.Algorithm, float64) int, took time.Duration, device string) {
	errAt := func(alg model.Algorithm, k int) string {
		for i, kk := range ks {
			if kk == k {
				return fmt.Sprintf("%.4g", iterErr[alg][i])
			}
		}
		return "–"
	}
	iters := func(k int) string {
		if k < 0 {
			return fmt.Sprintf("> %d", curveMaxIter)
		}
		return fmt.Sprint(k)
	}
	fmt.Fprintf(md, `# LISTA against ISTA and FISTA on MNIST

Gregor & LeCun ("Learning Fast Approximations of Sparse Coding", ICML 2010) claim that a learned
encoder reaches the approximation error of the iterative algorithms with about 10× less
computation. This page measures it with drsae; everything below is regenerated by

    go test ./model/lista -run TestLISTACurve -lista.curve ../../docs -timeout 2h

## Setup

- Data: MNIST pixels in [0, 1], no other preprocessing; the first %d training digits train the
  dictionary and the encoders, the first %d test digits are held out and measured.
- Dictionary: %d atoms learned with drsae's minibatch dictionary learning (FISTA 50
  iterations per minibatch, λ = %g, %d epochs); on its last epoch: objective %.3g, FVU %.3f,
  %.1f non-zeros per code, %.1f%% dead atoms.
- Optimal codes z*: FISTA until the relative change of the codes falls below %g (at most %d
  iterations), for the training and the held-out digits. Mean ‖z*‖² on the held-out digits: %.3g.
- ISTA and FISTA start from z = 0 with step 1/L, L = λ_max(DᵀD).
- LISTA with T steps starts from the ISTA values (W_e = Dᵀ/L, S = I − DᵀD/L, θ = λ/L), so that
  untrained it is T iterations of ISTA, and is trained for %d epochs (SGD, momentum 0.9,
  minibatch 64, drsae's default learning rate) to regress z*.
- Code error: the mean over held-out digits of ‖z − z*‖².

## Results

![code error against iterations](lista.png)

| steps (T or iterations) | ISTA | FISTA | LISTA (trained) | LISTA before training (= ISTA) | FISTA iterations for LISTA's error | ratio to T | ISTA iterations for LISTA's error |
|---:|---:|---:|---:|---:|---:|---:|---:|
`, curveTrain, curveHeldOut, curveAtoms, curveLambda, curveDictEpoch, ds.Objective, ds.FVU, ds.L0, 100*ds.Dead,
		curveTargetTol, curveTargetIt, zNorm, curveEpochs)
	for i, T := range curveT {
		kf := match(model.FISTA, listaErr[i])
		ratio := "–"
		if kf > 0 {
			ratio = fmt.Sprintf("%.1f×", float64(kf)/float64(T))
		}
		fmt.Fprintf(md, "| %d | %s | %s | %.4g | %.4g | %s | %s | %s |\n", T, errAt(model.ISTA, T), errAt(model.FISTA, T), listaErr[i], listaInit[i],
			iters(kf), ratio, iters(match(model.ISTA, listaErr[i])))
	}
	fmt.Fprintf(md, "\nISTA and FISTA further along:\n\n| iterations | ISTA | FISTA |\n|---:|---:|---:|\n")
	for _, k := range []int{15, 20, 30, 50, 100, 200, 500, 1000} {
		if k <= curveMaxIter {
			fmt.Fprintf(md, "| %d | %s | %s |\n", k, errAtNear(ks, iterErr[model.ISTA], k), errAtNear(ks, iterErr[model.FISTA], k))
		}
	}
	i3 := -1
	for i, T := range curveT {
		if T == 3 {
			i3 = i
		}
	}
	k3 := match(model.FISTA, listaErr[i3])
	fmt.Fprintf(md, "\n## The claim\n\n")
	if k3 > 0 {
		fmt.Fprintf(md, "LISTA with T = 3 reaches a held-out code error of %.4g. FISTA needs %d iterations to do as well, "+
			"%.1f× as many steps as LISTA's 3; ISTA needs %s. ",
			listaErr[i3], k3, float64(k3)/3, iters(match(model.ISTA, listaErr[i3])))
	} else {
		fmt.Fprintf(md, "LISTA with T = 3 reaches a held-out code error of %.4g, which FISTA does not reach within %d iterations. ", listaErr[i3], curveMaxIter)
	}
	last := len(curveT) - 1
	fmt.Fprintf(md, "The advantage is at low accuracy. LISTA's error falls slowly with T (%.3g at T = %d, %.3g at T = %d: "+
		"%.0f%% and %.0f%% of E‖z*‖²) while FISTA's falls geometrically once its momentum takes hold, so the ratio "+
		"shrinks as T grows (%.1f× at T = %d); for codes close to z* (below 1%% relative error), FISTA is the tool. ",
		listaErr[0], curveT[0], listaErr[last], curveT[last], 100*listaErr[0]/zNorm, 100*listaErr[last]/zNorm,
		float64(match(model.FISTA, listaErr[last]))/float64(curveT[last]), curveT[last])
	fmt.Fprintf(md, "A LISTA step costs about as much as an ISTA or FISTA step (one [m, m] product and a "+
		"shrinkage; W_e x is computed once, like FISTA's Dᵀx), so the ratio of steps is the ratio of computation. "+
		"The paper's \"about 10×\" is for its own setups (natural image patches, MNIST with its own sizes); the table gives "+
		"the ratio measured here for every T.\n\n")
	fmt.Fprintf(md, "Measured in %v on %s (times are not the point of this page).\n",
		took.Round(time.Second), device)
	fmt.Fprintf(md, "Go %s.\n", runtime.Version())
}

// errAtNear returns the error at the grid point k, or at the first grid point past k.
func errAtNear(ks []int, errs []float64, k int) string {
	for i, kk := range ks {
		if kk >= k {
			if kk == k {
				return fmt.Sprintf("%.4g", errs[i])
			}
			return fmt.Sprintf("%.4g (at %d)", errs[i], kk)
		}
	}
	return "–"
}

// plotCurve draws the code errors, relative to E‖z*‖², against steps on log-log axes.
func plotCurve(path string, ks []int, iterErr map[model.Algorithm][]float64, listaErr []float64, zNorm float64) error {
	p := plot.New()
	p.Title.Text = "MNIST held-out code error ‖z − z*‖² / E‖z*‖²"
	p.X.Label.Text = "iterations (ISTA, FISTA) or steps T (LISTA)"
	p.Y.Label.Text = "relative code error"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	// LogTicks with Prec −1 prints 1e-05 as 9.999999999999999e-05; relabel with one digit.
	ticks := plot.TickerFunc(func(min, max float64) []plot.Tick {
		ts := plot.LogTicks{}.Ticks(min, max)
		for i := range ts {
			if ts[i].Label != "" {
				if ts[i].Value >= 1 {
					ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', 0, 64)
				} else {
					ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', 1, 64)
				}
			}
		}
		return ts
	})
	p.X.Tick.Marker, p.Y.Tick.Marker = ticks, ticks
	p.Legend.Top = false
	p.Legend.Left = true
	line := func(xs []int, ys []float64) plotter.XYs {
		var pts plotter.XYs
		for i := range xs {
			if ys[i] > 0 {
				pts = append(pts, plotter.XY{X: float64(xs[i]), Y: ys[i] / zNorm})
			}
		}
		return pts
	}
	for i, alg := range []model.Algorithm{model.ISTA, model.FISTA} {
		l, err := plotter.NewLine(line(ks, iterErr[alg]))
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		if i == 0 {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(strings.ToUpper(alg.String()), l)
	}
	pts := line(curveT, listaErr)
	lp, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	lp.Color = plotutil.Color(2)
	sc.Shape = draw.CircleGlyph{}
	sc.Radius = vg.Points(3)
	sc.Color = lp.Color
	lp.Width = vg.Points(1.5)
	p.Add(lp, sc)
	p.Legend.Add("LISTA (trained, T steps)", lp, sc)
	p.Add(plotter.NewGrid())
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
