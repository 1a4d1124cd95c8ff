package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/drsae/drsae/model"
)

// A cliKind is what the command line adds to a registered model kind: its help, its reports
// and its pictures. Flags, data, training, checkpoints and files are the same for every kind.
type cliKind struct {
	help string
	// defaults, when set, completes the config and the data after the flags are parsed, leaving
	// alone what the flags given (set) chose: LISTA takes its shape and data from its dictionary.
	defaults func(cfg model.Config, spec *model.DataSpec, set map[string]bool) error
	// report prints an evaluation of m on s (the test set after training; eval's --set).
	report func(c *useContext, m model.Module, s *model.Samples) error
	// show draws m's pictures into files named prefix+"…png" and returns their names.
	show func(c *useContext, m model.Module, prefix string) ([]string, error)
	// inputs, when set, names the files a config reads (LISTA: its dictionary), which training
	// must not write over.
	inputs func(cfg model.Config) []pathUse
}

var cliKinds = map[string]*cliKind{}

func init() {
	addCommand(&command{name: "train", args: "KIND [flags]", summary: "train a model: drsae train -h lists the kinds", run: runTrain})
}

func runTrain(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintln(stderr, "usage: drsae train KIND [flags]\n\nkinds:")
		for _, n := range model.Kinds() {
			k, _ := model.LookupKind(n)
			fmt.Fprintf(stderr, "  %-10s %s\n", n, k.Summary)
		}
		fmt.Fprintln(stderr, "\nrun 'drsae train KIND -h' for the flags of a kind")
		if len(args) == 0 {
			return usagef("missing KIND")
		}
		return nil
	}
	k, err := model.LookupKind(args[0])
	if err != nil {
		return usageError{msg: err.Error()}
	}
	return train(k, kindCLI(k.Name), args[1:])
}

// kindCLI returns what the command line adds to a kind: the kind's own, or a generic report of
// its loss terms and no pictures.
func kindCLI(name string) *cliKind {
	if ck, ok := cliKinds[name]; ok {
		return ck
	}
	k, _ := model.LookupKind(name)
	return &cliKind{help: k.Summary + ".", report: lossReport}
}

// lossReport prints the mean loss terms of m on s.
func lossReport(c *useContext, m model.Module, s *model.Samples) error {
	works := model.NewWorks(m)
	defer works.Free()
	sums, err := model.Evaluate(m, works, s, c.batch, len(m.Phases())-1)
	for _, mt := range sums.Metrics("") {
		fmt.Fprintf(stdout, "%-12s %.6g\n", mt.Name, mt.Value)
	}
	return err
}

const trainHelp = `

Files: --out (a .safetensors file; its JSON config beside it, .json) holds the model of the best
validation epoch so far, which eval, encode and show read; beside it NAME.checkpoint.safetensors,
written as one file after every epoch, holds everything to --resume from. A resumed run takes the
model, the schedule and the data from the checkpoint: a flag may only repeat its value there,
except --epochs, --patience and --max-time; a run that has ended goes on from its last epoch when
they allow more. Ctrl-C or SIGTERM stops after the current minibatch.`

// trainArgs are a train command line, parsed and checked as far as it can be before the data load.
type trainArgs struct {
	out, resume string
	run         runOptions
	cfg         model.Config
	tc          model.TrainConfig
	spec        model.DataSpec
	set         map[string]bool
	keys        map[string]model.Field
}

// parseTrain reads the flags of `drsae train KIND`. With --resume, the checks against the
// checkpoint are resumeTrain's; otherwise every flag has been validated, on the shape the data
// will have.
func parseTrain(k *model.Kind, ck *cliKind, args []string) (*trainArgs, error) {
	fs := newFlags("train "+k.Name, "[flags]", ck.help+trainHelp)
	backend := backendFlag(fs)
	out := fs.String("out", "runs/"+k.Name+".safetensors", "where to save the model (.safetensors; config beside it, .json; checkpoint beside it, .checkpoint.safetensors)")
	resume := fs.String("resume", "", "continue from this checkpoint, NAME.checkpoint.safetensors (--out then defaults to NAME.safetensors)")
	maxTime := fs.Duration("max-time", 0, "wall-clock budget: stop, keeping the best model, when another epoch would not end within it (0: none)")
	quiet := fs.Bool("quiet", false, "no progress bar: one line per epoch")
	var recipe *string
	if len(k.Recipes) > 0 {
		recipe = fs.String("recipe", "", "start from a recipe instead of the defaults (flags given still win): "+recipeList(k))
	}
	a := &trainArgs{cfg: k.NewConfig(), tc: k.NewTrain(), spec: k.Data}
	a.run.df.add(fs)
	noPretrain := func(f model.Field) bool { return f.Key == "pretrain_epochs" && len(k.Phases) == 1 }
	a.keys = configFlags(fs, noPretrain, a.cfg, &a.tc, &a.spec)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	a.set = setFlags(fs)
	if recipe != nil && *recipe != "" {
		if *resume != "" {
			return nil, usagef("--recipe %s with --resume: a resumed run keeps its checkpoint's schedule; leave --recipe out", *recipe)
		}
		if err := a.applyRecipe(k, *recipe, noPretrain); err != nil {
			return nil, err
		}
	}
	a.out, a.resume = *out, *resume
	a.run.backend, a.run.maxTime, a.run.quiet, a.run.outSet = *backend, *maxTime, *quiet, a.set["out"]
	switch {
	case !strings.HasSuffix(*out, ".safetensors"):
		return nil, usagef("--out %q: want a file name ending in .safetensors", *out)
	case *maxTime < 0:
		return nil, usagef("--max-time %v: want ≥ 0", *maxTime)
	}
	if a.resume != "" {
		return a, nil
	}
	if ck.defaults != nil {
		if err := ck.defaults(a.cfg, &a.spec, a.set); err != nil {
			return nil, err
		}
	}
	if err := a.tc.Validate(); err != nil {
		return nil, flagError(err, a.keys)
	}
	if err := a.spec.Validate(); err != nil {
		return nil, flagError(err, a.keys)
	}
	// A bad flag fails before the data load, on the shape the data will have.
	early := cfgCopy(a.cfg)
	fitShape(early, provisional(a.spec))
	if err := early.Validate(); err != nil {
		return nil, flagError(err, a.keys)
	}
	return a, nil
}

// applyRecipe starts a over from k's recipe name, then sets again the flags given.
func (a *trainArgs) applyRecipe(k *model.Kind, name string, skip func(model.Field) bool) error {
	r, ok := k.Recipes[name]
	if !ok {
		return usagef("--recipe %q: want one of %s", name, strings.Join(recipeNames(k), ", "))
	}
	cfg, tc, spec := k.NewConfig(), k.NewTrain(), k.Data
	r.Apply(cfg, &tc, &spec)
	keys := configFlags(nil, skip, cfg, &tc, &spec)
	for name := range a.set {
		if f, ok := keys[name]; ok {
			f.Value.Set(a.keys[name].Value)
		}
	}
	a.cfg, a.tc, a.spec, a.keys = cfg, tc, spec, keys
	return nil
}

func recipeNames(k *model.Kind) []string {
	names := make([]string, 0, len(k.Recipes))
	for n := range k.Recipes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// recipeList names k's recipes with their summaries, for the flag's help.
func recipeList(k *model.Kind) string {
	var b strings.Builder
	for i, n := range recipeNames(k) {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s)", n, k.Recipes[n].Summary)
	}
	return b.String()
}

func train(k *model.Kind, ck *cliKind, args []string) error {
	a, err := parseTrain(k, ck, args)
	if err != nil {
		return err
	}
	if a.resume != "" {
		return resumeTrain(k, ck, a.resume, a.out, a.set, a.keys, a.run)
	}
	inputs := dataFiles(a.run.df)
	if ck.inputs != nil {
		inputs = append(inputs, ck.inputs(a.cfg)...)
	}
	if err := checkOutputs(inputs, trainOutputs(a.out, "")); err != nil {
		return err
	}
	d, err := loadData(a.spec, a.run.df)
	if err != nil {
		return err
	}
	fitShape(a.cfg, d.train)
	if err := a.cfg.Validate(); err != nil {
		return flagError(err, a.keys)
	}
	if d.train.N() < a.tc.Batch {
		return usagef("--batch %d: more than the %d training samples", a.tc.Batch, d.train.N())
	}
	a.tc.Data = a.spec
	be, err := openBackend(a.run.backend)
	if err != nil {
		return err
	}
	defer be.Close()
	m, err := model.NewModule(be, k.Name, a.cfg)
	if err != nil {
		return err
	}
	defer m.Free()
	if err := m.Init(d.train, a.tc.Seed); err != nil {
		return err
	}
	tr, err := model.NewTrainer(m, a.tc)
	if err != nil {
		return err
	}
	return runTraining(tr, ck, d, a.out, runOptions{maxTime: a.run.maxTime, quiet: a.run.quiet})
}

// runOptions are the flags of a run that are not saved.
type runOptions struct {
	backend string
	maxTime time.Duration
	quiet   bool
	df      dataFlags
	outSet  bool
}

// resumeTrain continues a checkpoint. Every flag given must repeat the checkpoint's value, except
// those marked resumable (epochs, patience), which change the schedule.
func resumeTrain(k *model.Kind, ck *cliKind, path, out string, set map[string]bool, keys map[string]model.Field, opt runOptions) error {
	s, err := model.ReadSaved(path)
	if err != nil {
		return fmt.Errorf("--resume: %v", err)
	}
	if !s.Checkpoint {
		return fmt.Errorf("--resume: %s is a saved model, not a training checkpoint (use the NAME.checkpoint.safetensors that training writes)", path)
	}
	if s.Kind != k.Name {
		return usagef("--resume %s: a checkpoint of a %s model, not %s", path, s.Kind, k.Name)
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	saved := []any{s.Config, &s.Train, &s.Data}
	for _, name := range names {
		f, ok := keys[name]
		if !ok || f.Resume {
			continue
		}
		for _, c := range saved {
			if v, ok := valueOf(c, f.Key); ok && v.Type() == f.Value.Type() && !reflect.DeepEqual(v.Interface(), f.Value.Interface()) {
				return usagef("--%s %v: the checkpoint has %v; a resumed run keeps its model, schedule and data (only --epochs, --patience and --max-time may change)", name, fieldValue{f.Value}, fieldValue{v})
			}
		}
	}
	if !opt.outSet && strings.HasSuffix(path, ".checkpoint.safetensors") {
		out = strings.TrimSuffix(path, ".checkpoint.safetensors") + ".safetensors" // keep writing beside it
	}
	// The run goes on writing its own checkpoint; nothing else may replace it.
	inputs := append(dataFiles(opt.df), pathUse{what: "--resume", path: path})
	if ck.inputs != nil {
		inputs = append(inputs, ck.inputs(s.Config)...)
	}
	if err := checkOutputs(inputs, trainOutputs(out, path)); err != nil {
		return err
	}
	d, err := loadData(s.Data, opt.df)
	if err != nil {
		return err
	}
	be, err := openBackend(opt.backend)
	if err != nil {
		return err
	}
	defer be.Close()
	tr, err := model.LoadCheckpoint(be, path)
	if err != nil {
		return err
	}
	defer tr.Module.Free()
	for _, name := range names {
		if f, ok := keys[name]; ok && f.Resume {
			copyField(&tr.Config, f)
		}
	}
	// A run that ended goes on where the schedule now allows it (more epochs, a longer patience,
	// a new --max-time), from its last epoch.
	if reopened, exact := tr.Continue(); reopened && !exact {
		fmt.Fprintf(stderr, "resuming %s: the run had ended and this checkpoint, written before drsae kept the last epoch's parameters, has only the best epoch's: training goes on from those\n", path)
	}
	fmt.Fprintf(stderr, "resuming %s: %s phase, %d epochs done, best validation %s %.4g\n",
		path, tr.State.Phase, tr.State.Epoch, tr.Module.Criterion(), tr.State.Best)
	return runTraining(tr, ck, d, out, opt)
}

// runTraining runs tr, writing its checkpoint beside out after every epoch and the best model
// so far to out, then evaluates the model on the test set.
func runTraining(tr *model.Trainer, ck *cliKind, d *samples, out string, opt runOptions) error {
	m := tr.Module
	start := time.Now()
	if opt.maxTime > 0 {
		tr.Deadline = start.Add(opt.maxTime)
	}
	tr.Checkpoint = model.CheckpointPath(out)
	checkpointed := false
	tr.OnEpoch = func(e model.Epoch) error {
		checkpointed = true
		phases := m.Phases()
		if e.Improved || e.Phase != phases[len(phases)-1] {
			return tr.SaveBest(out, runMeta(tr, e.Valid, time.Since(start)))
		}
		return nil
	}
	info := m.Backend().Info()
	c := tr.Config
	fmt.Fprintf(stderr, "%s on %s (%s): %d training and %d validation samples (%s), batch %d, %s lr %g; up to %d epochs\n",
		m.Kind(), info.Name, info.Device, d.train.N(), d.valid.N(), c.Data.Source, c.Batch, c.Optimizer, c.LR, c.PretrainEpochs+c.Epochs)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pp := newProgressPrinter(opt.quiet)
	tr.Progress = pp.report
	err := tr.Run(ctx, d.train, d.valid)
	pp.finish()
	if err != nil {
		if checkpointed && (errors.Is(err, model.ErrNotFinite) || errors.Is(err, context.Canceled)) {
			return fmt.Errorf("%v; this run's last checkpoint is %s (continue with --resume %s)", err, tr.Checkpoint, tr.Checkpoint)
		}
		return err
	}
	elapsed := time.Since(start)
	if err := tr.SaveBest(out, runMeta(tr, model.Sums{}, elapsed)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stopped: %s\n", tr.State.StopReason)
	if tr.State.HasBest && d.valid.N() > 0 {
		fmt.Fprintf(stdout, "best validation %s %.4g at %s\n", m.Criterion(), tr.State.Best, tr.LastPhaseEpoch(tr.State.BestEpoch))
	}
	if ck.report != nil && d.test.N() > 0 {
		fmt.Fprintf(stdout, "on %d test samples (%s):\n", d.test.N(), d.test.Name)
		if err := ck.report(&useContext{spec: c.Data, df: opt.df, path: out, batch: c.EvalBatch}, m, d.test); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "training took %s (this run; %s in all) on %s\n", elapsed.Round(time.Second),
		time.Duration(tr.State.Seconds*float64(time.Second)).Round(time.Second), info.Device)
	fmt.Fprintf(stdout, "model: %s (+ %s); checkpoint: %s\n", out, model.ConfigPath(out), tr.Checkpoint)
	return nil
}

// trainOutputs are the files training writes for --out: the model, its config and the
// checkpoint, which continues resume (a resumed run's checkpoint; "" for a new run).
func trainOutputs(out, resume string) []pathUse {
	return []pathUse{{what: "--out", path: out}, {what: "the config beside --out", path: model.ConfigPath(out)},
		{what: "the checkpoint beside --out", path: model.CheckpointPath(out), continues: resume}}
}

// runMeta is the metadata of a saved model: where training stood and its validation measures.
func runMeta(tr *model.Trainer, valid model.Sums, elapsed time.Duration) map[string]string {
	m := map[string]string{
		"phase": tr.State.Phase, "epoch": fmt.Sprint(tr.State.Epoch),
		"training_seconds": fmt.Sprintf("%.0f", math.Max(tr.State.Seconds, elapsed.Seconds())),
	}
	for _, mt := range valid.Metrics("valid_") {
		m[mt.Name] = fmt.Sprintf("%.6g", mt.Value)
	}
	return m
}

// cfgCopy returns a copy of a config (a pointer to a struct).
func cfgCopy(cfg model.Config) model.Config {
	v := reflect.New(reflect.TypeOf(cfg).Elem())
	v.Elem().Set(reflect.ValueOf(cfg).Elem())
	return v.Interface().(model.Config)
}
