package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/viz"
)

// LISTA, the learned ISTA encoder of Gregor & LeCun (ICML 2010).
func init() {
	addKind(&modelKind{
		name:    model.LISTAKind,
		summary: "learned ISTA encoder (Gregor & LeCun 2010): T steps z ← h_θ(W_e x + S z) that regress a dictionary's FISTA codes",
		train:   listaTrain,
		encode:  listaEncode,
		eval:    listaEval,
		show:    listaShow,
	})
}

const listaTrainHelp = `Train a LISTA encoder for a saved dictionary (drsae train dict): z_0 = 0,
z_{t+1} = h_θ(W_e x + S z_t) for T steps, started at ISTA's values W_e = Dᵀ/L, S = I − DᵀD/L,
θ = λ/L and trained by backpropagation through the T steps (SGD with momentum) to regress the
codes z* that FISTA finds for the dictionary. The data default to the dictionary's training data
and preprocessing. Writes OUT (safetensors: We, S, theta and the dictionary D) and its JSON config
beside it, then compares held-out code errors ‖z − z*‖² with FISTA's at T and 5·T iterations.`

func listaTrain(args []string) error {
	fs := newFlags("train lista", "--dict FILE [flags]", listaTrainHelp)
	backend := backendFlag(fs)
	dictPath := fs.String("dict", "", "the dictionary (.safetensors from drsae train dict)")
	var df dataFlags
	df.add(fs, "train", 10000)
	cfg := model.DefaultLISTAConfig(0, 0)
	fs.IntVar(&cfg.Steps, "T", cfg.Steps, "number of shrinkage steps")
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "passes over the data")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "minibatch size")
	fs.Float64Var(&cfg.LearningRate, "lr", cfg.LearningRate, "learning rate (scaled per parameter by the data's scale and by T)")
	fs.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "SGD momentum, 0 ≤ μ < 1")
	fs.IntVar(&cfg.TargetIterations, "target-iterations", cfg.TargetIterations, "FISTA iterations for the target codes z*")
	fs.Float64Var(&cfg.TargetTol, "target-tol", cfg.TargetTol, "stop FISTA for z* once the relative change is below this")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the minibatch order")
	out := fs.String("out", "runs/lista.safetensors", "where to save the encoder (the config goes beside it, .json)")
	evalN := fs.Int("eval-n", 1000, "held-out samples (the test split) to compare with FISTA at the end; 0: none")
	quiet := fs.Bool("quiet", false, "no progress bar: one line per epoch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *dictPath == "":
		return usagef("--dict FILE is required (train one with drsae train dict)")
	case cfg.Steps < 1:
		return usagef("--T %d: want ≥ 1", cfg.Steps)
	case cfg.Epochs < 0:
		return usagef("--epochs %d: want ≥ 0", cfg.Epochs)
	case cfg.Batch <= 0:
		return usagef("--batch %d: want > 0", cfg.Batch)
	case !(cfg.LearningRate > 0) || math.IsInf(cfg.LearningRate, 0):
		return usagef("--lr %g: want > 0", cfg.LearningRate)
	case !(cfg.Momentum >= 0 && cfg.Momentum < 1):
		return usagef("--momentum %g: want 0 ≤ μ < 1", cfg.Momentum)
	case cfg.TargetIterations <= 0:
		return usagef("--target-iterations %d: want > 0", cfg.TargetIterations)
	case !(cfg.TargetTol >= 0 && cfg.TargetTol < 1):
		return usagef("--target-tol %g: want 0 ≤ tol < 1", cfg.TargetTol)
	case *evalN < 0:
		return usagef("--eval-n %d: want ≥ 0", *evalN)
	case *out == "":
		return usagef("--out: want a file name")
	}
	dcfg, err := dictConfig(*dictPath)
	if err != nil {
		return fmt.Errorf("--dict: %v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	mf := &modelFlags{path: *dictPath, data: df, set: set}
	if err := mf.dataDefaults(dcfg.Data, dcfg.Preprocess, dcfg.Inputs); err != nil {
		return err
	}
	df = mf.data
	x, _, err := mf.loadData(dcfg.Inputs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	be, err := openBackend(*backend)
	if err != nil {
		return err
	}
	defer be.Close()
	d, err := model.LoadDictionary(be, *dictPath)
	if err != nil {
		return err
	}
	defer d.Free()
	cfg.Inputs, cfg.Atoms = dcfg.Inputs, dcfg.Atoms
	cfg.Lambda, cfg.NonNegative = dcfg.Lambda, dcfg.NonNegative
	cfg.Dictionary, cfg.Data, cfg.Preprocess = *dictPath, df.source, df.preprocess
	num := len(x) / cfg.Inputs
	fmt.Fprintf(stderr, "lista: T = %d on %d %s samples (%s), dictionary %s (%d atoms, λ = %g), backend %s\n",
		cfg.Steps, num, df.describe(), df.preprocess, *dictPath, cfg.Atoms, cfg.Lambda, be.Info().Name)

	pp := newProgressPrinter(*quiet)
	defer pp.finish()
	zstar, err := model.Targets(be, d.D, x, cfg.Lambda, cfg.NonNegative, cfg.TargetIterations, cfg.TargetTol, 256, pp.report)
	if err != nil {
		return err
	}
	l, err := model.NewLISTA(be, d.D, cfg)
	if err != nil {
		return err
	}
	defer l.Free()
	if _, err := l.Train(x, zstar, pp.report); err != nil {
		return err
	}
	pp.finish()
	if err := l.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved %s and %s\n", *out, model.ConfigPath(*out))
	if *evalN > 0 {
		held := df
		held.split, held.n, held.skip = "test", *evalN, 0
		xt, _, _, err := held.load()
		if err != nil {
			return err
		}
		return compareWithFISTA(be, l, d.D, xt, pp)
	}
	return nil
}

// compareWithFISTA prints the mean code error ‖z − z*‖² of the encoder and of FISTA with T and
// 5·T iterations on x, z* from FISTA run to convergence as for training.
func compareWithFISTA(be kernels.Backend, l *model.LISTA, d kernels.Tensor, x []float32, pp *progressPrinter) error {
	cfg := l.Config
	zstar, err := model.Targets(be, d, x, cfg.Lambda, cfg.NonNegative, cfg.TargetIterations, cfg.TargetTol, 256, pp.report)
	if err != nil {
		return err
	}
	pp.finish()
	zl, st, err := l.EncodeAll(x, 256)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "held-out (%d samples) code error ‖z − z*‖²: LISTA T=%d %.4g", st.Samples, cfg.Steps, meanSqDist(zl, zstar, cfg.Atoms))
	for _, k := range []int{cfg.Steps, 5 * cfg.Steps} {
		zf, err := model.Targets(be, d, x, cfg.Lambda, cfg.NonNegative, k, 0, 256, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, ", FISTA %d iterations %.4g", k, meanSqDist(zf, zstar, cfg.Atoms))
	}
	fmt.Fprintln(stdout)
	printStats("held-out LISTA codes", st)
	return nil
}

func meanSqDist(a, b []float32, m int) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s / float64(len(a)/m)
}

func listaConfig(path string) (model.LISTAConfig, error) {
	var cfg model.LISTAConfig
	err := model.LoadConfig(model.ConfigPath(path), model.LISTAKind, &cfg)
	return cfg, err
}

// loadLISTAFor parses the flags of encode/eval on a LISTA and loads data, backend and model.
func loadLISTAFor(f *modelFlags, args []string) (kernels.Backend, *model.LISTA, []float32, []float32, error) {
	if err := f.parse(args); err != nil {
		return nil, nil, nil, nil, err
	}
	cfg, err := listaConfig(f.path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := f.dataDefaults(cfg.Data, cfg.Preprocess, cfg.Inputs); err != nil {
		return nil, nil, nil, nil, err
	}
	x, labels, err := f.loadData(cfg.Inputs)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	be, err := openBackend(*f.backend)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	l, err := model.LoadLISTA(be, f.path)
	if err != nil {
		be.Close()
		return nil, nil, nil, nil, err
	}
	return be, l, x, labels, nil
}

func listaEncode(args []string) error {
	f := newModelFlags("encode", "Write the LISTA codes z_T of a data set (default: the test split of the data the encoder was trained on) to a safetensors file: \"Z\" [N, m] and, for digits, \"labels\" [N].", "codes.safetensors", true)
	be, l, x, labels, err := loadLISTAFor(f, args)
	if err != nil {
		return err
	}
	defer be.Close()
	defer l.Free()
	z, st, err := l.EncodeAll(x, f.batch)
	if err != nil {
		return err
	}
	if err := writeCodes(f.out, f.path, f.data, z, l.Config.Atoms, labels, st); err != nil {
		return err
	}
	printStats(fmt.Sprintf("%d %s %s samples", st.Samples, f.data.describe(), f.data.split), st)
	fmt.Fprintf(stdout, "saved %s\n", f.out)
	return nil
}

func listaEval(args []string) error {
	f := newModelFlags("eval", "Compare a LISTA encoder's codes with the optimal codes z* (FISTA to convergence) and with FISTA at T and 5·T iterations on a data set (default: 1000 test samples of its training data).", "", true)
	be, l, x, _, err := loadLISTAFor(f, args)
	if err != nil {
		return err
	}
	defer be.Close()
	defer l.Free()
	if !f.set["n"] && len(x) > 1000*l.Config.Inputs {
		x = x[:1000*l.Config.Inputs]
	}
	return compareWithFISTA(be, l, l.D, x, newProgressPrinter(false))
}

func listaShow(args []string) error {
	f := newModelFlags("show", "Draw the encoder filters of a LISTA (rows of W_e) as a grid of images.", "filters.png", false)
	if err := f.parse(args); err != nil {
		return err
	}
	be, err := openBackend(*f.backend)
	if err != nil {
		return err
	}
	defer be.Close()
	l, err := model.LoadLISTA(be, f.path)
	if err != nil {
		return err
	}
	defer l.Free()
	n, m := l.Config.Inputs, l.Config.Atoms
	host := make([]float32, m*n)
	if err := be.Download(host, l.We); err != nil {
		return err
	}
	return saveFilterGrid(f.out, viz.Rows(host, m, n), n)
}
