package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/viz"
)

// The discriminative recurrent sparse auto-encoder (Rolfe & LeCun, ICLR 2013) on MNIST.
func init() {
	addKind(&modelKind{
		name:    model.DrSAEKind,
		summary: "discriminative recurrent sparse auto-encoder (Rolfe & LeCun 2013) on MNIST",
		train:   drsaeTrain,
		encode:  drsaeEncode,
		eval:    drsaeEval,
		show:    drsaeShow,
	})
}

const drsaeTrainHelp = `Train a DrSAE on MNIST: z⁰ = 0, z^{t+1} = max(0, E·x + S·z^t − b) for T steps, x̂ = D·z^T,
classes = softmax(C·z^T/‖z^T‖); first on recon·½‖x − x̂‖² + λ‖z‖₁ (unsupervised), then on that plus
the cross-entropy (discriminative), by SGD through the T steps. Inputs are scaled to unit L2 norm;
the first 50,000 training digits train, the last 10,000 validate (early stopping), the 10,000 test
digits are scored at the end.

Files: --out (default runs/drsae.safetensors, + .json) holds the model of the best validation
error so far, which eval, encode and show read; beside it NAME.checkpoint.safetensors (+ .json),
written atomically after every epoch, holds everything to --resume from.

Defaults: the paper's net, 784-400-10 with T = 11, its loss weights and constraints, with a short
schedule (1 + up to 60 epochs). make run trains a smaller net in under 15 minutes on 2 CPU cores
(--units 200 --T 5: about 2% test error); make reproduce runs the recipe that reaches 1.33%
(see docs/drsae.md).`

func drsaeTrain(args []string) error {
	fs := newFlags("train drsae", "[flags]", drsaeTrainHelp)
	backend := backendFlag(fs)
	dataName := fs.String("data", "mnist", "data set: mnist or fashion (Fashion-MNIST)")
	dataDir := fs.String("data-dir", "", "folder with the four IDX files (default: $DRSAE_MNIST / $DRSAE_FASHION_MNIST, else where they are installed)")
	out := fs.String("out", "runs/drsae.safetensors", "where to save the model (config beside it, .json; checkpoint beside it, .checkpoint.safetensors)")
	resume := fs.String("resume", "", "continue from this checkpoint, NAME.checkpoint.safetensors (--out then defaults to NAME.safetensors; the shape, data and schedule are taken from it; --sup-epochs, --patience and --max-time may change)")
	mc := model.DefaultDrSAEConfig()
	tc := model.DefaultDrSAETrainConfig()
	fs.IntVar(&mc.Units, "units", mc.Units, "hidden units m (the paper's net: 400; make run: 200)")
	fs.IntVar(&mc.T, "T", mc.T, "encoder steps (the paper's net: 11; make run: 5)")
	fs.Float64Var(&mc.Lambda, "lambda", mc.Lambda, "weight λ of the L1 sparsity term ‖z‖₁")
	fs.Float64Var(&mc.ReconWeight, "recon-weight", mc.ReconWeight, "weight of the reconstruction term ½‖x − Dz‖²")
	fs.Float64Var(&mc.ClassWeight, "class-weight", mc.ClassWeight, "weight of the cross-entropy term")
	eRadius := fs.Float64("e-radius", 0, "bound on the norm of the rows of E (0: 1.25/(T−1), the paper's)")
	fs.IntVar(&tc.Batch, "batch", tc.Batch, "minibatch size")
	fs.IntVar(&tc.UnsupEpochs, "unsup-epochs", tc.UnsupEpochs, "epochs of the unsupervised phase")
	fs.IntVar(&tc.SupEpochs, "sup-epochs", tc.SupEpochs, "at most this many epochs of the discriminative phase")
	fs.Float64Var(&tc.LR, "lr", tc.LR, "learning rate (of the minibatch-mean loss)")
	fs.Float64Var(&tc.LRDecay, "lr-decay", tc.LRDecay, "learning rate decay: lr/(1 + decay·samples seen)")
	fs.Float64Var(&tc.Momentum, "momentum", tc.Momentum, "SGD momentum (0: plain SGD)")
	fs.Float64Var(&tc.ClassLRDivisor, "class-lr-divisor", tc.ClassLRDivisor, "C's learning rate is further divided by this (the authors' code: 5)")
	fs.IntVar(&tc.RepairEvery, "repair-every", tc.RepairEvery, "minibatches between projections onto the norm constraints")
	fs.Float64Var(&tc.Average, "average", tc.Average, "keep a moving average of the parameters over the discriminative steps, with this decay per step (e.g. 0.9995; 0: off); validation, early stopping and the saved model use it")
	fs.IntVar(&tc.Patience, "patience", tc.Patience, "stop after this many discriminative epochs without a better validation error (0: never)")
	seed := fs.Uint64("seed", tc.Seed, "random seed (initialization and minibatch order)")
	trainSize := fs.Int("train-size", 50000, "training digits (the first of the 60,000); the rest, up to --valid-size, validate")
	validSize := fs.Int("valid-size", 10000, "validation digits, taken after the training digits (0: none — no early stopping; the model is the last epoch's, for a final fit on all 60,000 digits with a schedule chosen on a split)")
	maxTime := fs.Duration("max-time", 0, "wall-clock budget: stop (keeping the best model) when another epoch would not end within it; 0: none")
	quiet := fs.Bool("quiet", false, "no progress bar: one line per epoch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tc.Seed = *seed
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// Flags out of range: one line naming the flag.
	switch {
	case mc.Units <= 0:
		return usagef("--units %d: want > 0", mc.Units)
	case mc.T < 1:
		return usagef("--T %d: want ≥ 1", mc.T)
	case !(mc.Lambda > 0) || math.IsInf(mc.Lambda, 0):
		return usagef("--lambda %g: want > 0", mc.Lambda)
	case !(mc.ReconWeight > 0) || math.IsInf(mc.ReconWeight, 0):
		return usagef("--recon-weight %g: want > 0", mc.ReconWeight)
	case !(mc.ClassWeight > 0) || math.IsInf(mc.ClassWeight, 0):
		return usagef("--class-weight %g: want > 0", mc.ClassWeight)
	case *eRadius < 0 || math.IsNaN(*eRadius) || math.IsInf(*eRadius, 0):
		return usagef("--e-radius %g: want ≥ 0", *eRadius)
	case tc.Batch <= 0:
		return usagef("--batch %d: want > 0", tc.Batch)
	case tc.UnsupEpochs < 0:
		return usagef("--unsup-epochs %d: want ≥ 0", tc.UnsupEpochs)
	case tc.SupEpochs < 0:
		return usagef("--sup-epochs %d: want ≥ 0", tc.SupEpochs)
	case tc.UnsupEpochs+tc.SupEpochs == 0:
		return usagef("--unsup-epochs and --sup-epochs are both 0: nothing to train")
	case !(tc.LR > 0) || math.IsInf(tc.LR, 0):
		return usagef("--lr %g: want > 0", tc.LR)
	case tc.LRDecay < 0 || math.IsNaN(tc.LRDecay):
		return usagef("--lr-decay %g: want ≥ 0", tc.LRDecay)
	case tc.Momentum < 0 || tc.Momentum >= 1 || math.IsNaN(tc.Momentum):
		return usagef("--momentum %g: want 0 ≤ μ < 1", tc.Momentum)
	case !(tc.ClassLRDivisor > 0) || math.IsInf(tc.ClassLRDivisor, 0):
		return usagef("--class-lr-divisor %g: want > 0", tc.ClassLRDivisor)
	case tc.RepairEvery <= 0:
		return usagef("--repair-every %d: want > 0", tc.RepairEvery)
	case tc.Average < 0 || tc.Average >= 1 || math.IsNaN(tc.Average):
		return usagef("--average %g: want 0 ≤ a < 1", tc.Average)
	case tc.Patience < 0:
		return usagef("--patience %d: want ≥ 0", tc.Patience)
	case *trainSize <= 0 || *trainSize > 60000:
		return usagef("--train-size %d: want 1..60000", *trainSize)
	case *validSize < 0 || *trainSize+*validSize > 60000:
		return usagef("--valid-size %d: want 0..%d (60000 − --train-size)", *validSize, 60000-*trainSize)
	case *maxTime < 0:
		return usagef("--max-time %v: want ≥ 0", *maxTime)
	case tc.Batch > *trainSize:
		return usagef("--batch %d: more than the %d training digits", tc.Batch, *trainSize)
	case !strings.HasSuffix(*out, ".safetensors"):
		return usagef("--out %q: want a file name ending in .safetensors", *out)
	}
	if *resume != "" {
		for _, f := range []string{"units", "T", "lambda", "recon-weight", "class-weight", "e-radius", "batch", "unsup-epochs", "lr", "lr-decay", "momentum", "class-lr-divisor", "average", "repair-every", "seed", "data", "train-size", "valid-size"} {
			if set[f] {
				return usagef("--%s cannot change on --resume: it is taken from the checkpoint", f)
			}
		}
	}

	// Data first: a missing or corrupt file should fail before any device work.
	if *dataName != "mnist" && *dataName != "fashion" {
		return usagef("--data %q: want mnist or fashion", *dataName)
	}
	if *resume != "" && !set["out"] && strings.HasSuffix(*resume, ".checkpoint.safetensors") {
		*out = strings.TrimSuffix(*resume, ".checkpoint.safetensors") + ".safetensors" // keep writing beside it
	}
	if *resume != "" {
		// The checkpoint says which data it was trained on: read its config before the data.
		ck, err := drsaeCheckpointData(*resume)
		if err != nil {
			return err
		}
		if ck.Data != "" {
			*dataName = ck.Data
		}
		if ck.TrainSize > 0 {
			*trainSize, *validSize = ck.TrainSize, ck.ValidSize
		}
	}
	tc.Data, tc.TrainSize, tc.ValidSize = *dataName, *trainSize, *validSize
	trainSet, validSet, testSet, err := drsaeLoadMNIST(*dataName, *dataDir, *trainSize, *validSize)
	if err != nil {
		return err
	}
	be, err := openBackend(*backend)
	if err != nil {
		return err
	}
	defer be.Close()
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	modelPath := *out
	ckPath := drsaeCheckpointPath(modelPath)

	var tr *model.DrSAETrainer
	if *resume != "" {
		if tr, err = model.LoadDrSAECheckpoint(be, *resume); err != nil {
			return err
		}
		if set["sup-epochs"] {
			tr.Config.SupEpochs = tc.SupEpochs
		}
		if set["patience"] {
			tr.Config.Patience = tc.Patience
		}
		if tr.State.Phase == model.PhaseDone && set["sup-epochs"] && tr.State.Epoch < tr.Config.SupEpochs {
			tr.State.Phase = model.PhaseSupervised // more epochs asked for
			tr.State.StopReason = ""
		}
		if tr.Model.Config.Inputs != trainSet.Dim() {
			return fmt.Errorf("%s: the model takes %d inputs, the data have %d", *resume, tr.Model.Config.Inputs, trainSet.Dim())
		}
		fmt.Fprintf(stderr, "resuming %s: %s phase, %d epochs done, best validation error %.2f%%\n",
			*resume, tr.State.Phase, tr.State.Epoch, 100*tr.State.BestValidError)
	} else {
		mc.Inputs, mc.Classes, mc.Rows, mc.Cols, mc.Data = trainSet.Dim(), trainSet.Classes, trainSet.Rows, trainSet.Cols, *dataName
		mc.ERadius = *eRadius
		mc.SetDefaults()
		m, err := model.NewDrSAE(be, mc)
		if err != nil {
			return err
		}
		if err := m.Init(trainSet.Pixels, tc.Seed); err != nil {
			return err
		}
		if tr, err = model.NewDrSAETrainer(m, tc); err != nil {
			return err
		}
	}
	m := tr.Model
	defer m.Free()
	defer tr.Free()
	start := time.Now()
	if *maxTime > 0 {
		tr.Deadline = start.Add(*maxTime)
	}
	info := be.Info()
	c := m.Config
	avg := ""
	if tr.Config.Average > 0 {
		avg = fmt.Sprintf(", parameter average %g", tr.Config.Average)
	}
	fmt.Fprintf(stderr, "drsae %d-%d^%d-%d on %s (%s), λ=%g, batch %d, lr %g, momentum %g%s; %d unsupervised + ≤%d discriminative epochs; train %d, validate %d\n",
		c.Inputs, c.Units, c.T, c.Classes, info.Name, info.Device, c.Lambda, tr.Config.Batch, tr.Config.LR, tr.Config.Momentum, avg,
		tr.Config.UnsupEpochs, tr.Config.SupEpochs, trainSet.N, validSet.N)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pp := newProgressPrinter(*quiet)
	err = tr.Run(ctx, trainSet, validSet, pp.report, func(e model.DrSAEEpoch) error {
		if err := tr.SaveCheckpoint(ckPath); err != nil {
			return err
		}
		if e.Improved || (e.Phase == model.PhaseUnsupervised && tr.Config.SupEpochs == 0) {
			return tr.SaveBest(modelPath, drsaeMeta(tr, e.Valid.ErrorRate(), -1, time.Since(start)))
		}
		return nil
	})
	pp.finish()
	if err != nil {
		if errors.Is(err, model.ErrNotFinite) || errors.Is(err, context.Canceled) {
			if _, serr := os.Stat(ckPath); serr == nil {
				return fmt.Errorf("%v; the last good checkpoint is %s (resume with --resume %s)", err, ckPath, ckPath)
			}
		}
		return err
	}
	elapsed := time.Since(start)
	ev, err := m.Evaluate(testSet, 1000, tr.State.HasBest)
	if err != nil {
		return err
	}
	testErr := -1.0
	if tr.State.HasBest {
		testErr = ev.ErrorRate()
	}
	if err := tr.SaveCheckpoint(ckPath); err != nil {
		return err
	}
	bestValid := tr.State.BestValidError
	if validSet.N == 0 {
		bestValid = math.NaN()
	}
	if err := m.Save(modelPath, drsaeMeta(tr, bestValid, testErr, elapsed)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stopped: %s\n", tr.State.StopReason)
	switch {
	case tr.State.HasBest && validSet.N == 0:
		fmt.Fprintf(stdout, "no validation set: the model is that of discriminative epoch %d; test error %.2f%% (%d of %d)\n",
			tr.State.BestEpoch, 100*testErr, ev.Errors, ev.N)
	case tr.State.HasBest:
		fmt.Fprintf(stdout, "best validation error %.2f%% (discriminative epoch %d); test error %.2f%% (%d of %d)\n",
			100*tr.State.BestValidError, tr.State.BestEpoch, 100*testErr, ev.Errors, ev.N)
	}
	fmt.Fprintf(stdout, "test reconstruction ½‖x−x̂‖² %.4f (relative %.3f), L0 %.1f of %d units\n", ev.Recon, ev.RelRecon, ev.L0, c.Units)
	fmt.Fprintf(stdout, "training took %s (this run; %s in all) on %s\n", elapsed.Round(time.Second),
		(time.Duration(tr.State.Seconds) * time.Second).Round(time.Second), info.Device)
	fmt.Fprintf(stdout, "model: %s (+ %s)\n", modelPath, model.ConfigPath(modelPath))
	return nil
}

func drsaeMeta(tr *model.DrSAETrainer, validErr, testErr float64, elapsed time.Duration) map[string]string {
	m := map[string]string{
		"phase":            tr.State.Phase,
		"epoch":            fmt.Sprint(tr.State.Epoch),
		"training_seconds": fmt.Sprintf("%.0f", tr.State.Seconds),
	}
	if !math.IsNaN(validErr) {
		m["valid_error"] = fmt.Sprintf("%.6f", validErr)
	}
	if testErr >= 0 {
		m["test_error"] = fmt.Sprintf("%.6f", testErr)
	}
	return m
}

// drsaeCheckpointPath is where training keeps its checkpoint: beside the model,
// runs/drsae.safetensors → runs/drsae.checkpoint.safetensors (config runs/drsae.checkpoint.json).
func drsaeCheckpointPath(modelPath string) string {
	return strings.TrimSuffix(modelPath, ".safetensors") + ".checkpoint.safetensors"
}

// drsaeCheckpointData reads the data description recorded in a checkpoint's JSON config.
func drsaeCheckpointData(path string) (model.DrSAETrainConfig, error) {
	cfg := model.ConfigPath(path)
	raw, err := os.ReadFile(cfg)
	if err != nil {
		return model.DrSAETrainConfig{}, fmt.Errorf("--resume: %v", err)
	}
	var head struct {
		Checkpoint *struct {
			Train model.DrSAETrainConfig `json:"train"`
		} `json:"checkpoint"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return model.DrSAETrainConfig{}, fmt.Errorf("--resume: %s: not valid JSON: %v", cfg, err)
	}
	if head.Checkpoint == nil {
		return model.DrSAETrainConfig{}, fmt.Errorf("--resume: %s is a saved model, not a training checkpoint (use the checkpoint.safetensors that training writes)", path)
	}
	return head.Checkpoint.Train, nil
}

// drsaeLoadMNIST loads MNIST (name "mnist") or Fashion-MNIST ("fashion") scaled to unit L2
// norm: the first trainSize training images, the next validSize, and the test set.
func drsaeLoadMNIST(name, dir string, trainSize, validSize int) (train, valid, test *data.Dataset, err error) {
	var all *data.Dataset
	if name == "fashion" {
		all, test, err = data.LoadFashionMNIST(dir)
	} else {
		all, test, err = data.LoadMNIST(dir)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	all.NormalizeL2()
	test.NormalizeL2()
	train, rest := all.Split(trainSize)
	valid, _ = rest.Split(min(validSize, rest.N))
	return train, valid, test, nil
}

// drsaeModelFlags parses the flags common to eval, encode and show and opens the model.
type drsaeModelFlags struct {
	fs       *flag.FlagSet
	modelP   *string
	backend  *string
	dataName *string
	dataDir  *string
	set      *string
	batch    *int
}

func newDrsaeModelFlags(cmd, summary string) *drsaeModelFlags {
	f := &drsaeModelFlags{fs: newFlags(cmd, "--model FILE [flags]", summary)}
	f.modelP = f.fs.String("model", "", "the saved model (drsae.safetensors or a checkpoint)")
	f.backend = backendFlag(f.fs)
	return f
}

func (f *drsaeModelFlags) dataFlags(defaultSet string) {
	f.dataName = f.fs.String("data", "", "data set: mnist or fashion (default: the one the model was trained on, else mnist)")
	f.dataDir = f.fs.String("data-dir", "", "folder with the four IDX files (default: $DRSAE_MNIST / $DRSAE_FASHION_MNIST, else where they are installed)")
	f.set = f.fs.String("set", defaultSet, "which digits: test (10,000), train (the first 50,000), valid (the last 10,000 training digits) or all-train (60,000)")
	f.batch = f.fs.Int("batch", 1000, "samples per pass")
}

func (f *drsaeModelFlags) parse(args []string) error {
	if err := parseFlags(f.fs, args); err != nil {
		return err
	}
	if *f.modelP == "" {
		return usagef("--model FILE is required")
	}
	if f.batch != nil && *f.batch <= 0 {
		return usagef("--batch %d: want > 0", *f.batch)
	}
	if f.dataName != nil && *f.dataName != "" && *f.dataName != "mnist" && *f.dataName != "fashion" {
		return usagef("--data %q: want mnist or fashion", *f.dataName)
	}
	if f.set != nil {
		switch *f.set {
		case "test", "train", "valid", "all-train":
		default:
			return usagef("--set %q: want test, train, valid or all-train", *f.set)
		}
	}
	return nil
}

// load reads the model's config, then the data set named by --set (before the device opens, so
// that bad data fail first), then the model.
func (f *drsaeModelFlags) load() (kernels.Backend, *model.DrSAE, *data.Dataset, error) {
	var ds *data.Dataset
	if f.set != nil {
		name := *f.dataName
		if name == "" {
			name = drsaeSavedData(*f.modelP)
		}
		train, valid, test, err := drsaeLoadMNIST(name, *f.dataDir, 50000, 10000)
		if err != nil {
			return nil, nil, nil, err
		}
		switch *f.set {
		case "test":
			ds = test
		case "train":
			ds = train
		case "valid":
			ds = valid
		case "all-train":
			all, _ := train.Split(train.N)
			all = all.Clone()
			all.N += valid.N
			all.Pixels = append(all.Pixels, valid.Pixels...)
			all.Labels = append(all.Labels, valid.Labels...)
			all.Name = name + "/train"
			ds = all
		}
	}
	be, err := openBackend(*f.backend)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := model.LoadDrSAE(be, *f.modelP)
	if err != nil {
		be.Close()
		return nil, nil, nil, err
	}
	if ds != nil && ds.Dim() != m.Config.Inputs {
		m.Free()
		be.Close()
		return nil, nil, nil, fmt.Errorf("%s: the model takes %d inputs, %s has %d", *f.modelP, m.Config.Inputs, ds.Name, ds.Dim())
	}
	return be, m, ds, nil
}

// drsaeSavedData reads the "data" key of a saved model's config: the data set it was trained on
// ("mnist" when absent or unreadable; loading the model reports a bad config properly).
func drsaeSavedData(path string) string {
	raw, err := os.ReadFile(model.ConfigPath(path))
	if err != nil {
		return "mnist"
	}
	var head struct {
		Data string `json:"data"`
	}
	if json.Unmarshal(raw, &head) != nil || head.Data != "fashion" {
		return "mnist"
	}
	return "fashion"
}

func drsaeEval(args []string) error {
	f := newDrsaeModelFlags("eval", "Evaluate a DrSAE: test error, reconstruction error, L0 sparsity of the code, confusion matrix.")
	f.dataFlags("test")
	if err := f.parse(args); err != nil {
		return err
	}
	be, m, ds, err := f.load()
	if err != nil {
		return err
	}
	defer be.Close()
	defer m.Free()
	start := time.Now()
	ev, err := m.Evaluate(ds, *f.batch, true)
	if err != nil {
		return err
	}
	c := m.Config
	fmt.Fprintf(stdout, "model %s: drsae %d-%d^%d-%d on %s, %d samples of %s (%s)\n", *f.modelP, c.Inputs, c.Units, c.T, c.Classes,
		be.Info().Name, ds.N, ds.Name, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "error            %.2f%% (%d of %d)\n", 100*ev.ErrorRate(), ev.Errors, ev.N)
	fmt.Fprintf(stdout, "reconstruction   ½‖x−x̂‖² = %.5f per sample, relative Σ‖x−x̂‖²/Σ‖x‖² = %.4f\n", ev.Recon, ev.RelRecon)
	fmt.Fprintf(stdout, "sparsity         L0 = %.2f of %d units active, ‖z‖₁ = %.4f\n", ev.L0, c.Units, ev.Sparsity)
	fmt.Fprintf(stdout, "cross-entropy    %.5f;  loss %.5f\n", ev.Class, ev.Total)
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

func drsaeEncode(args []string) error {
	f := newDrsaeModelFlags("encode", "Write the codes z^T of a data set to a safetensors file: \"codes\" [N,m] and \"labels\" [N].")
	f.dataFlags("test")
	out := f.fs.String("out", "", "output file (.safetensors); required")
	if err := f.parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out FILE is required")
	}
	be, m, ds, err := f.load()
	if err != nil {
		return err
	}
	defer be.Close()
	defer m.Free()
	codes, err := m.EncodeSet(ds.Pixels, *f.batch)
	if err != nil {
		return err
	}
	labels := make([]float32, ds.N)
	for i, l := range ds.Labels {
		labels[i] = float32(l)
	}
	ts := []model.NamedTensor{
		{Name: "codes", Shape: []int{ds.N, m.Config.Units}, Data: codes},
		{Name: "labels", Shape: []int{ds.N}, Data: labels},
	}
	meta := map[string]string{"model": *f.modelP, "set": ds.Name, "T": fmt.Sprint(m.Config.T)}
	if err := model.SaveTensors(*out, ts, meta); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: codes [%d,%d], labels [%d]\n", *out, ds.N, m.Config.Units, ds.N)
	return nil
}

func drsaeShow(args []string) error {
	f := newDrsaeModelFlags("show", `Draw a DrSAE as PNG files NAME-encoder.png (rows of E), NAME-decoder.png (columns of D),
NAME-S.png (the recurrent matrix, diagonal included, colours clipped at the 99th percentile of the
off-diagonal), NAME-angles.png (the histogram of the angle between each unit's encoder row and
decoder column: part-units below 0.5 rad, categorical units above 0.7 rad after discriminative
training), where NAME is the model file's name without .safetensors. Filters are sorted by that
angle, part-units first.`)
	out := f.fs.String("out", "", "folder for the pictures (default: the model's folder)")
	if err := f.parse(args); err != nil {
		return err
	}
	be, m, _, err := f.load()
	if err != nil {
		return err
	}
	defer be.Close()
	defer m.Free()
	dir := *out
	if dir == "" {
		dir = filepath.Dir(*f.modelP)
	}
	name := strings.TrimSuffix(filepath.Base(*f.modelP), ".safetensors") + "-"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	p, err := m.HostParams()
	if err != nil {
		return err
	}
	c := m.Config
	n, u := c.Inputs, c.Units
	h, w := c.Rows, c.Cols
	if h*w != n {
		h, w = 1, n
	}
	angles := drsaeAngles(p["E"].Data, p["D"].Data, n, u)
	order := make([]int, u)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return angles[order[a]] < angles[order[b]] })
	enc, dec := viz.Rows(p["E"].Data, u, n), viz.Cols(p["D"].Data, n, u)
	sortedE, sortedD := make([][]float32, u), make([][]float32, u)
	for i, j := range order {
		sortedE[i], sortedD[i] = enc[j], dec[j]
	}
	cols := int(math.Ceil(math.Sqrt(float64(u))))
	written := []string{}
	for _, pic := range []struct {
		name  string
		tiles [][]float32
	}{{"encoder.png", sortedE}, {"decoder.png", sortedD}} {
		path := filepath.Join(dir, name+pic.name)
		if err := viz.SavePNG(path, viz.Grid(pic.tiles, h, w, cols, viz.GridOptions{})); err != nil {
			return err
		}
		written = append(written, path)
	}
	s := p["S"].Data
	clip := viz.Percentile(s, 99, func(i int) bool { return i/u != i%u })
	spath := filepath.Join(dir, name+"S.png")
	if err := viz.SavePNG(spath, viz.HeatMap(s, u, u, viz.HeatMapOptions{Clip: clip})); err != nil {
		return err
	}
	written = append(written, spath)
	hist, err := viz.Histogram(angles, viz.HistogramOptions{
		Title:  fmt.Sprintf("angle between encoder row and decoder column (%d units)", u),
		XLabel: "angle (radians)", Bins: 40, Min: 0, Max: math.Pi / 2,
	})
	if err != nil {
		return err
	}
	apath := filepath.Join(dir, name+"angles.png")
	if err := viz.SavePNG(apath, hist); err != nil {
		return err
	}
	written = append(written, apath)
	part, cat := 0, 0
	for _, a := range angles {
		if a < 0.5 {
			part++
		} else if a > 0.7 {
			cat++
		}
	}
	fmt.Fprintf(stdout, "units: %d part-units (angle < 0.5 rad), %d categorical (> 0.7 rad), %d between\n", part, cat, u-part-cat)
	fmt.Fprintf(stdout, "wrote %s\n", strings.Join(written, ", "))
	return nil
}

// drsaeAngles returns, per unit i, the angle between encoder row E[i,:] and decoder column
// D[:,i] (π/2 when either is zero).
func drsaeAngles(e, d []float32, n, u int) []float64 {
	out := make([]float64, u)
	for i := 0; i < u; i++ {
		var dot, ne, nd float64
		for j := 0; j < n; j++ {
			a, b := float64(e[i*n+j]), float64(d[j*u+i])
			dot += a * b
			ne += a * a
			nd += b * b
		}
		if ne == 0 || nd == 0 {
			out[i] = math.Pi / 2
			continue
		}
		out[i] = math.Acos(math.Max(-1, math.Min(1, dot/math.Sqrt(ne*nd))))
	}
	return out
}
