package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// useContext is what a kind's report or pictures may need beyond the model: the data it was
// trained on and where the data are on this machine.
type useContext struct {
	spec  model.DataSpec
	df    dataFlags
	path  string
	batch int
}

func init() {
	addCommand(&command{name: "eval", args: "--model FILE [flags]", summary: "evaluate a saved model (or checkpoint) on its data", run: runEval})
	addCommand(&command{name: "encode", args: "--model FILE --out FILE [flags]", summary: "write the codes of a data set", run: runEncode})
	addCommand(&command{name: "show", args: "--model FILE [flags]", summary: "draw a saved model's filters as PNG", run: runShow})
}

// useFlags are the flags of eval, encode and show.
type useFlags struct {
	fs      *flag.FlagSet
	path    string
	backend *string
	set     string
	batch   int
	df      dataFlags
}

// newUseFlags declares the shared flags; withData adds the choice of samples.
func newUseFlags(cmd, args, summary string, withData bool) *useFlags {
	f := &useFlags{fs: newFlags(cmd, args, summary)}
	f.fs.StringVar(&f.path, "model", "", "the saved model (.safetensors, its .json config beside it) or a checkpoint")
	f.backend = backendFlag(f.fs)
	f.df.add(f.fs)
	if withData {
		f.fs.StringVar(&f.set, "set", "test", "which samples of the model's data: test, valid or train")
		f.fs.IntVar(&f.batch, "batch", 500, "samples per pass")
	}
	return f
}

// open parses the flags, reads what the model is, loads its samples (before the device opens, so
// that bad data fail first), then the model.
func (f *useFlags) open(args []string) (*model.Saved, *model.Samples, kernels.Backend, model.Module, error) {
	if err := parseFlags(f.fs, args); err != nil {
		return nil, nil, nil, nil, err
	}
	if f.path == "" {
		return nil, nil, nil, nil, usagef("--model FILE is required")
	}
	var s *model.Samples
	saved, err := model.ReadSaved(f.path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if f.set != "" {
		if f.batch <= 0 {
			return nil, nil, nil, nil, usagef("--batch %d: want > 0", f.batch)
		}
		spec := saved.Data
		if spec.Source == "" {
			k, _ := model.LookupKind(saved.Kind)
			spec = k.Data
		}
		d, err := loadData(spec, f.df)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		switch f.set {
		case "test":
			s = d.test
		case "valid":
			s = d.valid
		case "train":
			s = d.train
		default:
			return nil, nil, nil, nil, usagef("--set %q: want test, valid or train", f.set)
		}
		if s.N() == 0 {
			return nil, nil, nil, nil, fmt.Errorf("--set %s: the model's data have no %s samples", f.set, f.set)
		}
	}
	be, err := openBackend(*f.backend)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	m, _, err := model.LoadModel(be, f.path)
	if err != nil {
		be.Close()
		return nil, nil, nil, nil, err
	}
	if s != nil && s.Dim != inputsOf(m) {
		m.Free()
		be.Close()
		return nil, nil, nil, nil, fmt.Errorf("%s: the model takes %d inputs, %s has %d", f.path, inputsOf(m), s.Name, s.Dim)
	}
	return saved, s, be, m, nil
}

func inputsOf(m model.Module) int {
	v, _ := valueOf(m.Config(), "inputs")
	return int(v.Int())
}

func (f *useFlags) context(saved *model.Saved) *useContext {
	spec := saved.Data
	if spec.Source == "" {
		k, _ := model.LookupKind(saved.Kind)
		spec = k.Data
	}
	return &useContext{spec: spec, df: f.df, path: f.path, batch: max(f.batch, 1)}
}

func runEval(args []string) error {
	f := newUseFlags("eval", "--model FILE [flags]", "Evaluate a saved model on samples of the data it was trained on (default: the test set): its loss terms and\nthe measures of its kind (DrSAE: error rate and confusion matrix; dict, lista: code statistics; topo: map measures).", true)
	saved, s, be, m, err := f.open(args)
	if err != nil {
		return err
	}
	defer be.Close()
	defer m.Free()
	fmt.Fprintf(stdout, "model %s: %s on %s, %d samples of %s\n", f.path, m.Kind(), be.Info().Name, s.N(), s.Name)
	return kindCLI(m.Kind()).report(f.context(saved), m, s)
}

func runEncode(args []string) error {
	f := newUseFlags("encode", "--model FILE --out FILE [flags]", `Write the codes of samples of the model's data (default: the test set) to a safetensors file:
"codes" [N, units] (the code z of the model's last training phase) and, for labelled data, "labels" [N].`, true)
	out := f.fs.String("out", "", "output file (.safetensors); required")
	saved, s, be, m, err := f.open(args)
	if err != nil {
		return err
	}
	defer be.Close()
	defer m.Free()
	if *out == "" {
		return usagef("--out FILE is required")
	}
	inputs := append(modelFiles("--model", f.path), dataFiles(f.df)...)
	if err := checkOutputs(inputs, []pathUse{{what: "--out", path: *out}}); err != nil {
		return err
	}
	works := model.NewWorks(m)
	defer works.Free()
	codes, err := model.Encode(m, works, s, f.batch)
	if err != nil {
		return err
	}
	units := len(codes) / s.N()
	ts := []model.NamedTensor{{Name: "codes", Shape: []int{s.N(), units}, Data: codes}}
	if s.Y != nil && s.YDim == 1 {
		ts = append(ts, model.NamedTensor{Name: "labels", Shape: []int{s.N()}, Data: s.Y})
	}
	meta := map[string]string{"model": f.path, "kind": saved.Kind, "set": s.Name}
	if err := model.SaveTensors(*out, ts, meta); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: codes [%d,%d]%s\n", *out, s.N(), units, map[bool]string{true: fmt.Sprintf(", labels [%d]", s.N())}[len(ts) == 2])
	return nil
}

func runShow(args []string) error {
	f := newUseFlags("show", "--model FILE [flags]", `Draw a saved model as PNG files NAME-….png beside it (or in --out), where NAME is the model's file name
without .safetensors: its filters, and what its kind adds (DrSAE: S and the encoder–decoder angle
histogram; topo: the map and the responses of pools to shifted patches).`, false)
	outDir := f.fs.String("out", "", "folder for the pictures (default: the model's folder)")
	saved, _, be, m, err := f.open(args)
	if err != nil {
		return err
	}
	defer be.Close()
	defer m.Free()
	dir := *outDir
	if dir == "" {
		dir = filepath.Dir(f.path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	prefix := filepath.Join(dir, strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f.path), ".safetensors"), ".checkpoint")+"-")
	show := kindCLI(m.Kind()).show
	if show == nil {
		return fmt.Errorf("%s: drsae has no pictures of a %s model", f.path, m.Kind())
	}
	written, err := show(f.context(saved), m, prefix)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", strings.Join(written, ", "))
	return nil
}
