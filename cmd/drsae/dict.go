package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/viz"
)

// Dictionary learning: D [n, m] with sparse codes by FISTA (Beck & Teboulle 2009), learned by
// minibatch alternation as in scikit-learn's MiniBatchDictionaryLearning or SPAMS' trainDL.
func init() {
	addKind(&modelKind{
		name:    model.DictKind,
		summary: "sparse coding dictionary D: min ½‖x − Dz‖² + λ‖z‖₁ by FISTA, learned on minibatches",
		train:   dictTrain,
		encode:  dictEncode,
		eval:    dictEval,
		show:    dictShow,
	})
}

const dictTrainHelp = `Learn a dictionary D [n, m] (a unit-norm column per atom) so that samples x have sparse codes
z = argmin ½‖x − D z‖² + λ‖z‖₁ (z ≥ 0 with --nonneg). Each minibatch: FISTA codes, then a gradient
step on D of --lr/λ_max(ZᵀZ), then every atom projected onto the unit ball; atoms unused for
--dead-after samples are replaced by badly reconstructed samples. Writes OUT (safetensors, tensor
"D") and its JSON config beside it (OUT with .json), then prints held-out statistics.`

func dictTrain(args []string) error {
	fs := newFlags("train dict", "[flags]", dictTrainHelp)
	backend := backendFlag(fs)
	var df dataFlags
	df.add(fs, "train", 0)
	cfg := model.DefaultDictConfig(0, 400)
	fs.IntVar(&cfg.Atoms, "atoms", cfg.Atoms, "number of atoms m")
	fs.Float64Var(&cfg.Lambda, "lambda", cfg.Lambda, "weight λ of the L1 penalty")
	fs.BoolVar(&cfg.NonNegative, "nonneg", false, "non-negative codes z ≥ 0")
	fs.BoolVar(&cfg.NonNegativeDict, "nonneg-dict", false, "non-negative atoms D ≥ 0")
	fs.StringVar(&cfg.Algorithm, "algorithm", cfg.Algorithm, "sparse inference: fista or ista")
	fs.IntVar(&cfg.Iterations, "iterations", cfg.Iterations, "inference iterations per minibatch")
	fs.Float64Var(&cfg.Tol, "tol", 0, "stop inference once the relative change of the codes is below this (0: run all iterations)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "minibatch size")
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "passes over the data")
	fs.Float64Var(&cfg.LearningRate, "lr", cfg.LearningRate, "step on D in units of 1/λ_max(ZᵀZ), in (0, 2]")
	fs.IntVar(&cfg.DeadAfter, "dead-after", cfg.DeadAfter, "replace an atom unused for this many samples (negative: never)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the initial atoms and the minibatch order")
	out := fs.String("out", "runs/dict.safetensors", "where to save the dictionary (the config goes beside it, .json)")
	evalN := fs.Int("eval-n", 1000, "held-out samples (the test split) to report statistics on at the end; 0: none")
	quiet := fs.Bool("quiet", false, "no progress bar: one line per epoch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := df.check(); err != nil {
		return err
	}
	switch {
	case cfg.Atoms <= 0:
		return usagef("--atoms %d: want > 0", cfg.Atoms)
	case !(cfg.Lambda >= 0) || math.IsInf(cfg.Lambda, 0):
		return usagef("--lambda %g: want a finite λ ≥ 0", cfg.Lambda)
	case cfg.Algorithm != "fista" && cfg.Algorithm != "ista":
		return usagef("--algorithm %q: want fista or ista", cfg.Algorithm)
	case cfg.Iterations <= 0:
		return usagef("--iterations %d: want > 0", cfg.Iterations)
	case !(cfg.Tol >= 0 && cfg.Tol < 1):
		return usagef("--tol %g: want 0 ≤ tol < 1", cfg.Tol)
	case cfg.Batch <= 0:
		return usagef("--batch %d: want > 0", cfg.Batch)
	case cfg.Epochs < 0:
		return usagef("--epochs %d: want ≥ 0", cfg.Epochs)
	case !(cfg.LearningRate > 0 && cfg.LearningRate <= 2):
		return usagef("--lr %g: want 0 < lr ≤ 2", cfg.LearningRate)
	case *evalN < 0:
		return usagef("--eval-n %d: want ≥ 0", *evalN)
	case *out == "":
		return usagef("--out: want a file name")
	}

	x, dim, _, err := df.load()
	if err != nil {
		return err
	}
	cfg.Inputs, cfg.Data, cfg.Preprocess = dim, df.source, df.preprocess
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	be, err := openBackend(*backend)
	if err != nil {
		return err
	}
	defer be.Close()
	fmt.Fprintf(stderr, "dict: %d atoms on %d %s samples of dimension %d (%s), λ = %g, %s %d iterations, backend %s\n",
		cfg.Atoms, len(x)/dim, df.describe(), dim, df.preprocess, cfg.Lambda, cfg.Algorithm, cfg.Iterations, be.Info().Name)

	d, err := model.NewDictionary(be, cfg, x)
	if err != nil {
		return err
	}
	defer d.Free()
	pp := newProgressPrinter(*quiet)
	_, err = d.Train(x, pp.report)
	pp.finish()
	if err != nil {
		return err
	}
	if err := d.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved %s and %s (L = %.4g)\n", *out, model.ConfigPath(*out), d.Config.Lipschitz)
	if *evalN > 0 {
		held := df
		held.split, held.n, held.skip = "test", *evalN, 0
		xt, _, _, err := held.load()
		if err != nil {
			return err
		}
		_, st, err := d.Encode(xt, 256)
		if err != nil {
			return err
		}
		printStats(fmt.Sprintf("held-out (%d %s test samples)", st.Samples, df.source), st)
	}
	return nil
}

// printStats prints code statistics on one line.
func printStats(what string, st model.CodeStats) {
	fmt.Fprintf(stdout, "%s: objective %.4g, reconstruction error %.4g, FVU %.4f, L0 %.2f, dead atoms %.1f%%\n",
		what, st.Objective, st.SquaredError, st.FVU, st.L0, 100*st.Dead)
}

// modelFlags are the flags of encode, eval and show on a saved model.
type modelFlags struct {
	fs      *flag.FlagSet
	path    string
	backend *string
	data    dataFlags
	batch   int
	out     string
	set     map[string]bool
}

func newModelFlags(cmd, summary, outDefault string, withData bool) *modelFlags {
	f := &modelFlags{fs: newFlags(cmd, "--model FILE [flags]", summary)}
	f.fs.StringVar(&f.path, "model", "", "the saved model (.safetensors; its .json config beside it)")
	f.backend = backendFlag(f.fs)
	if withData {
		f.data.add(f.fs, "test", 0)
		f.fs.IntVar(&f.batch, "batch", 256, "samples per minibatch")
	}
	if outDefault != "" {
		f.fs.StringVar(&f.out, "out", outDefault, "output file")
	}
	return f
}

// parse parses args; --model is required.
func (f *modelFlags) parse(args []string) error {
	if err := parseFlags(f.fs, args); err != nil {
		return err
	}
	if f.path == "" {
		return usagef("--model FILE is required")
	}
	f.set = map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.fs.Lookup("batch") != nil && f.batch <= 0 {
		return usagef("--batch %d: want > 0", f.batch)
	}
	return nil
}

// dataDefaults takes, for the data flags the user did not set, the model's training data
// (source), its preprocessing and, for patches, the patch size from the model's input size n;
// then it checks the data flags.
func (f *modelFlags) dataDefaults(source, preprocess string, n int) error {
	if !f.set["data"] && source != "" {
		f.data.source = source
	}
	// The model's preprocessing goes with its data; other data get their own default.
	if !f.set["preprocess"] && f.data.source == source {
		f.data.preprocess = preprocess
	}
	if f.data.source == "patches" && !f.set["patch"] {
		if side := int(math.Round(math.Sqrt(float64(n)))); side*side == n {
			f.data.patch = side
		}
	}
	return f.data.check()
}

// loadData loads the data and checks its dimension against the model's n.
func (f *modelFlags) loadData(n int) ([]float32, []float32, error) {
	x, dim, labels, err := f.data.load()
	if err != nil {
		return nil, nil, err
	}
	if dim != n {
		return nil, nil, usagef("--data %s gives samples of dimension %d; the model %s takes %d", f.data.describe(), dim, f.path, n)
	}
	return x, labels, nil
}

// writeCodes saves codes Z [N, m] (and the labels [N], when there are some) as safetensors
// with the statistics in the metadata.
func writeCodes(path, modelPath string, df dataFlags, z []float32, m int, labels []float32, st model.CodeStats) error {
	ts := []model.NamedTensor{{Name: "Z", Shape: []int{len(z) / m, m}, Data: z}}
	if labels != nil {
		ts = append(ts, model.NamedTensor{Name: "labels", Shape: []int{len(labels)}, Data: labels})
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	meta := map[string]string{
		"model": modelPath, "data": df.describe(), "split": df.split, "preprocess": df.preprocess,
		"objective": f(st.Objective), "recon": f(st.SquaredError), "fvu": f(st.FVU), "L0": f(st.L0),
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--out: %v", err)
		}
	}
	return model.SaveTensors(path, ts, meta)
}

// loadDictFor opens the backend and the dictionary named by --model.
func loadDictFor(f *modelFlags) (kernels.Backend, *model.Dictionary, error) {
	be, err := openBackend(*f.backend)
	if err != nil {
		return nil, nil, err
	}
	d, err := model.LoadDictionary(be, f.path)
	if err != nil {
		be.Close()
		return nil, nil, err
	}
	return be, d, nil
}

// dictConfig reads a dictionary's config before any device work, for the data defaults.
func dictConfig(path string) (model.DictConfig, error) {
	var cfg model.DictConfig
	err := model.LoadConfig(model.ConfigPath(path), model.DictKind, &cfg)
	return cfg, err
}

func dictEncode(args []string) error {
	f := newModelFlags("encode", "Write the sparse codes of a data set (default: the test split of the data the dictionary was trained on) to a safetensors file: \"Z\" [N, m] and, for digits, \"labels\" [N].", "codes.safetensors", true)
	iters := f.fs.Int("iterations", 0, "FISTA iterations (0: the dictionary's)")
	tol := f.fs.Float64("tol", 0, "stop FISTA once the relative change of the codes is below this (0: run all iterations)")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg, err := dictConfig(f.path)
	if err != nil {
		return err
	}
	if err := f.dataDefaults(cfg.Data, cfg.Preprocess, cfg.Inputs); err != nil {
		return err
	}
	if *iters < 0 || *tol < 0 {
		return usagef("--iterations %d / --tol %g: want ≥ 0", *iters, *tol)
	}
	x, labels, err := f.loadData(cfg.Inputs)
	if err != nil {
		return err
	}
	be, d, err := loadDictFor(f)
	if err != nil {
		return err
	}
	defer be.Close()
	defer d.Free()
	if *iters > 0 {
		d.Config.Iterations = *iters
	}
	d.Config.Tol = *tol
	z, st, err := d.Encode(x, f.batch)
	if err != nil {
		return err
	}
	if err := writeCodes(f.out, f.path, f.data, z, cfg.Atoms, labels, st); err != nil {
		return err
	}
	printStats(fmt.Sprintf("%d %s %s samples", st.Samples, f.data.describe(), f.data.split), st)
	fmt.Fprintf(stdout, "saved %s\n", f.out)
	return nil
}

func dictEval(args []string) error {
	f := newModelFlags("eval", "Print the code statistics of a dictionary on a data set (default: the test split of its training data): objective, reconstruction error, fraction of variance unexplained, L0, dead atoms.", "", true)
	if err := f.parse(args); err != nil {
		return err
	}
	cfg, err := dictConfig(f.path)
	if err != nil {
		return err
	}
	if err := f.dataDefaults(cfg.Data, cfg.Preprocess, cfg.Inputs); err != nil {
		return err
	}
	x, _, err := f.loadData(cfg.Inputs)
	if err != nil {
		return err
	}
	be, d, err := loadDictFor(f)
	if err != nil {
		return err
	}
	defer be.Close()
	defer d.Free()
	_, st, err := d.Encode(x, f.batch)
	if err != nil {
		return err
	}
	printStats(fmt.Sprintf("%s: %d %s %s samples, λ = %g, %s %d iterations", f.path, st.Samples, f.data.describe(), f.data.split, cfg.Lambda, cfg.Algorithm, cfg.Iterations), st)
	return nil
}

func dictShow(args []string) error {
	f := newModelFlags("show", "Draw the atoms of a dictionary (columns of D) as a grid of images.", "atoms.png", false)
	if err := f.parse(args); err != nil {
		return err
	}
	be, d, err := loadDictFor(f)
	if err != nil {
		return err
	}
	defer be.Close()
	defer d.Free()
	host, err := d.Host()
	if err != nil {
		return err
	}
	return saveFilterGrid(f.out, viz.Cols(host, d.Config.Inputs, d.Config.Atoms), d.Config.Inputs)
}

// saveFilterGrid draws square filters of n values each as a PNG grid.
func saveFilterGrid(path string, tiles [][]float32, n int) error {
	side := int(math.Round(math.Sqrt(float64(n))))
	if side*side != n {
		return fmt.Errorf("filters of %d values are not square images; nothing to draw", n)
	}
	if err := viz.SavePNG(path, viz.Grid(tiles, side, side, 0, viz.GridOptions{})); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved %s (%d filters of %d×%d)\n", path, len(tiles), side, side)
	return nil
}
