package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/drsae"
)

// TestTrainBadFlags: a value out of range is one line naming its flag, exit 2, before any data
// are read or device opened.
func TestTrainBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"drsae", "--units", "0"}, "--units"},
		{[]string{"drsae", "--T", "0"}, "--T"},
		{[]string{"drsae", "--lr", "-1"}, "--lr"},
		{[]string{"drsae", "--momentum", "1"}, "--momentum"},
		{[]string{"drsae", "--batch", "0"}, "--batch"},
		{[]string{"drsae", "--train-size", "70000"}, "--train-size"},
		{[]string{"drsae", "--valid-size", "-1"}, "--valid-size"},
		{[]string{"drsae", "--average", "1"}, "--average"},
		{[]string{"drsae", "--average", "-0.5"}, "--average"},
		{[]string{"drsae", "--optimizer", "lbfgs"}, "--optimizer"},
		{[]string{"drsae", "--data", "cifar"}, "--data"},
		{[]string{"drsae", "--lambda", "NaN"}, "--lambda"},
		{[]string{"drsae", "--units", "ten"}, "-units"},
		{[]string{"drsae", "--out", "runs/x"}, "--out"},
		{[]string{"dict", "--units", "0"}, "--units"},
		{[]string{"dict", "--iterations", "0"}, "--iterations"},
		{[]string{"dict", "--algorithm", "omp"}, "--algorithm"},
		{[]string{"dict", "--preprocess", "pca"}, "--preprocess"},
		{[]string{"dict", "--data", "patches", "--patch", "1"}, "--patch"},
		{[]string{"dict", "--pretrain-epochs", "1"}, "pretrain-epochs"},
		{[]string{"lista"}, "--dict"},
		{[]string{"topo", "--pools", "hexagonal"}, "--pools"},
		{[]string{"topo", "--map-h", "0"}, "--map-h"},
		{[]string{"topo", "--decoder-lr-scale", "0"}, "--decoder-lr-scale"},
		{[]string{"drsae", "--T", "1000000000"}, "--T 1000000000, beyond drsae's limit"},
		{[]string{"drsae", "--units", "100000000"}, "--units 100000000, beyond drsae's limit"},
		{[]string{"topo", "--map-h", "100000", "--map-w", "100000"}, "beyond drsae's limit of 1048576 units"},
	} {
		code, _, errs := drsaeRun(t, append([]string{"train"}, tc.args...)...)
		first, _, _ := strings.Cut(errs, "\n")
		if code != 2 || !strings.Contains(first, tc.flag) {
			t.Errorf("%v: exit %d, first line %q; want 2 and a line naming %s", tc.args, code, first, tc.flag)
		}
	}
}

// TestTrainHelp: drsae train KIND -h lists every key of the kind's config, schedule and data
// that has a flag, with its meaning.
func TestTrainHelp(t *testing.T) {
	for _, name := range model.Kinds() {
		k, _ := model.LookupKind(name)
		code, _, errs := drsaeRun(t, "train", name, "-h")
		if code != 0 {
			t.Fatalf("train %s -h: exit %d", name, code)
		}
		tc, spec := k.NewTrain(), k.Data
		for _, cfg := range []any{k.NewConfig(), &tc, &spec} {
			for _, f := range model.Fields(cfg) {
				if f.NoFlag || (f.Key == "pretrain_epochs" && len(k.Phases) == 1) {
					continue
				}
				if !strings.Contains(errs, "--"+f.Flag+" ") || !strings.Contains(errs, f.Help) || f.Help == "" {
					t.Errorf("train %s -h does not list --%s with its meaning %q", name, f.Flag, f.Help)
				}
			}
		}
	}
}

func TestTrainMissingData(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := drsaeRun(t, "train", "drsae", "--data-dir", dir, "--out", filepath.Join(dir, "out.safetensors"))
	if code != 1 || !strings.Contains(errs, dir) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("exit %d, stderr %q; want 1 and one line naming %s", code, errs, dir)
	}
	for _, f := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		os.WriteFile(filepath.Join(dir, f), []byte("not an IDX file"), 0o644)
	}
	code, _, errs = drsaeRun(t, "train", "drsae", "--data-dir", dir, "--out", filepath.Join(dir, "out.safetensors"))
	if code != 1 || !strings.Contains(errs, "-idx") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("corrupt file: exit %d, stderr %q", code, errs)
	}
}

// TestTrainBadData: data sets that are empty, of 0×0 images, of two shapes, or too small for the
// split asked for give one line naming the data and, where a flag chose it, the flag.
func TestTrainBadData(t *testing.T) {
	for _, tc := range []struct {
		name          string
		n, rows, cols int
		testRows      int
		args          []string
		want          string
	}{
		{"none", 0, 28, 28, 28, nil, "0 training and 0 test images"},
		{"empty", 50, 0, 0, 0, nil, "0×0 pixels"},
		{"shapes", 200, 28, 28, 20, nil, "test images 20×20"},
		{"few", 100, 28, 28, 28, []string{"--valid-size", "10000"}, "--valid-size 10000"},
		{"split", 100, 28, 28, 28, []string{"--valid-size", "20"}, "--train-size 50000"},
	} {
		dir := t.TempDir()
		writeIDXSet(t, dir, tc.n, tc.rows, tc.cols, tc.testRows)
		for _, kind := range []string{"drsae", "dict"} {
			args := append([]string{"train", kind, "--data-dir", dir, "--backend", "cpu", "--out", filepath.Join(dir, "o.safetensors")}, tc.args...)
			if kind == "dict" && tc.name == "split" {
				args = append(args, "--train-size", "50000")
			}
			code, _, errs := drsaeRun(t, args...)
			if first, _, _ := strings.Cut(errs, "\n"); code == 0 || !strings.Contains(first, tc.want) || strings.Contains(errs, "internal error") {
				t.Errorf("%s, %s: exit %d, %q; want a line with %q", tc.name, kind, code, errs, tc.want)
			}
		}
	}
}

// writeIDXSet writes the four MNIST files of n training and n test images into dir.
func writeIDXSet(t *testing.T, dir string, n, rows, cols, testRows int) {
	t.Helper()
	for _, f := range []struct {
		name string
		m    *data.IDX
	}{
		{"train-images-idx3-ubyte", &data.IDX{Type: data.TypeUint8, Dims: []int{n, rows, cols}, Data: make([]byte, n*rows*cols)}},
		{"train-labels-idx1-ubyte", &data.IDX{Type: data.TypeUint8, Dims: []int{n}, Data: make([]byte, n)}},
		{"t10k-images-idx3-ubyte", &data.IDX{Type: data.TypeUint8, Dims: []int{n, testRows, testRows}, Data: make([]byte, n*testRows*testRows)}},
		{"t10k-labels-idx1-ubyte", &data.IDX{Type: data.TypeUint8, Dims: []int{n}, Data: make([]byte, n)}},
	} {
		var b bytes.Buffer
		if err := data.WriteIDX(&b, f.m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// mustRun runs the command line on the cpu backend and fails the test on a non-zero exit.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := drsaeRun(t, append(args, "--backend", "cpu")...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
	}
	return out + errs
}

func expect(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// TestDrsaeCommands trains a tiny DrSAE on 1000 digits, then evaluates, encodes, draws and
// resumes it, refuses a resume that changes the model, and feeds the tools broken model files.
func TestDrsaeCommands(t *testing.T) {
	if _, err := data.FindMNIST(); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	dir := t.TempDir()
	m := filepath.Join(dir, "run", "m.safetensors")
	out := mustRun(t, "train", "drsae", "--units", "16", "--T", "2", "--train-size", "1000", "--valid-size", "200",
		"--pretrain-epochs", "1", "--epochs", "1", "--lr", "0.03", "--out", m, "--quiet")
	expect(t, "train", out, "drsae supervised epoch 2/2", "error ", "confusion")
	ck := filepath.Join(dir, "run", "m.checkpoint.safetensors")
	for _, f := range []string{m, model.ConfigPath(m), ck} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, "eval", mustRun(t, "eval", "--model", m, "--set", "valid"), "200 samples of mnist/valid", "error", "confusion", "L0")
	codes := filepath.Join(dir, "codes.safetensors")
	mustRun(t, "encode", "--model", m, "--set", "valid", "--out", codes)
	ts, _, err := model.LoadTensors(codes)
	if err != nil {
		t.Fatal(err)
	}
	if s := ts["codes"].Shape; len(s) != 2 || s[0] != 200 || s[1] != 16 || len(ts["labels"].Data) != 200 {
		t.Errorf("codes %v, labels %d", s, len(ts["labels"].Data))
	}
	pics := filepath.Join(dir, "pics")
	expect(t, "show", mustRun(t, "show", "--model", m, "--out", pics), "part-units (angle < 0.5 rad)", "share of Σ‖Cᵢ‖²", "categorical ")
	for _, p := range []string{"encoder.png", "decoder.png", "S.png", "angles.png", "units.png"} {
		if fi, err := os.Stat(filepath.Join(pics, "m-"+p)); err != nil || fi.Size() == 0 {
			t.Errorf("show did not write %s: %v", p, err)
		}
	}

	// Resume with one more discriminative epoch; a changed model flag is refused.
	out = mustRun(t, "train", "drsae", "--resume", ck, "--epochs", "2", "--quiet")
	expect(t, "resume", out, "resuming", "drsae supervised epoch 3/3")
	if strings.Contains(out, "unsupervised epoch") {
		t.Errorf("resume repeated the unsupervised phase:\n%s", out)
	}
	for _, args := range [][]string{{"--units", "10"}, {"--lr", "0.5"}, {"--train-size", "900"}} {
		code, _, errs := drsaeRun(t, append([]string{"train", "drsae", "--resume", ck}, args...)...)
		if first, _, _ := strings.Cut(errs, "\n"); code != 2 || !strings.Contains(first, args[0]) || !strings.Contains(first, "checkpoint has") {
			t.Errorf("resume %v: exit %d, %q", args, code, errs)
		}
	}
	if code, _, errs := drsaeRun(t, "train", "drsae", "--resume", ck, "--units", "16", "--epochs", "2", "--backend", "cpu", "--quiet"); code != 0 {
		t.Errorf("resume repeating the checkpoint's --units: exit %d, %s", code, errs)
	}

	// A model whose tensors disagree with its config, and a truncated model: one line each,
	// naming the file, exit 1.
	js, _ := os.ReadFile(model.ConfigPath(m))
	os.WriteFile(model.ConfigPath(m), []byte(strings.Replace(string(js), `"units": 16`, `"units": 17`, 1)), 0o644)
	code, _, se := drsaeRun(t, "eval", "--model", m, "--backend", "cpu")
	if code != 1 || !strings.Contains(se, m) || strings.Count(strings.TrimSpace(se), "\n") != 0 {
		t.Errorf("shape mismatch: exit %d, stderr %q", code, se)
	}
	os.WriteFile(model.ConfigPath(m), js, 0o644)
	raw, _ := os.ReadFile(m)
	os.WriteFile(m, raw[:len(raw)/2], 0o644)
	code, _, se = drsaeRun(t, "show", "--model", m, "--backend", "cpu", "--out", pics)
	if code != 1 || !strings.Contains(se, m) {
		t.Errorf("truncated model: exit %d, stderr %q", code, se)
	}
}

// TestDrsaeNotFinite: a loss that blows up stops training with one line naming the phase,
// epoch and step, exit 1; no checkpoint is written for a failed epoch.
func TestDrsaeNotFinite(t *testing.T) {
	if _, err := data.FindMNIST(); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	out := filepath.Join(t.TempDir(), "run.safetensors")
	code, so, se := drsaeRun(t, "train", "drsae", "--backend", "cpu", "--units", "8", "--T", "2", "--train-size", "500",
		"--valid-size", "100", "--pretrain-epochs", "0", "--epochs", "1", "--lr", "1e30", "--momentum", "0", "--out", out, "--quiet")
	if code != 1 || !strings.Contains(se, "not finite") || !strings.Contains(se, "epoch 1, step") {
		t.Errorf("exit %d\n%s%s", code, so, se)
	}
	if _, err := os.Stat(model.CheckpointPath(out)); !os.IsNotExist(err) {
		t.Errorf("a checkpoint was written for a failed epoch: %v", err)
	}
}

// TestDictListaCommands trains a tiny dictionary and LISTA on MNIST digits and a dictionary on
// image patches, then encodes, evaluates, draws and resumes them, and feeds the tools broken files.
func TestDictListaCommands(t *testing.T) {
	if _, err := data.FindMNIST(); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	dir := t.TempDir()
	dict := filepath.Join(dir, "dict.safetensors")
	lista := filepath.Join(dir, "lista.safetensors")
	out := mustRun(t, "train", "dict", "--train-size", "600", "--units", "32", "--lambda", "0.5", "--epochs", "2",
		"--iterations", "20", "--batch", "100", "--test-size", "100", "--quiet", "--out", dict)
	expect(t, "train dict", out, "dict train epoch 2/2", "on 100 test samples", "FVU", "model: "+dict)
	out = mustRun(t, "train", "lista", "--dict", dict, "--train-size", "600", "--T", "2", "--epochs", "2",
		"--target-iterations", "100", "--test-size", "100", "--quiet", "--out", lista)
	expect(t, "train lista", out, "lista train epoch 2/2", "LISTA T=2", "FISTA 10 iterations", "model: "+lista)
	out = mustRun(t, "train", "lista", "--resume", model.CheckpointPath(lista), "--epochs", "3", "--quiet")
	expect(t, "resume lista", out, "lista train epoch 3/3")
	for _, m := range []string{dict, lista} {
		codes := filepath.Join(dir, "codes.safetensors")
		mustRun(t, "encode", "--model", m, "--out", codes)
		ts, meta, err := model.LoadTensors(codes)
		if err != nil {
			t.Fatal(err)
		}
		if z := ts["codes"]; len(z.Shape) != 2 || z.Shape[0] != 100 || z.Shape[1] != 32 || len(ts["labels"].Data) != 100 {
			t.Errorf("%s: codes %v, %d labels", m, z.Shape, len(ts["labels"].Data))
		}
		if meta["set"] != "mnist/test" {
			t.Errorf("%s: metadata %v", m, meta)
		}
		expect(t, "eval "+m, mustRun(t, "eval", "--model", m), "L0")
		expect(t, "show "+m, mustRun(t, "show", "--model", m, "--out", dir), ".png")
	}

	// Patches: the data of eval and encode are the model's.
	pd := filepath.Join(dir, "pdict.safetensors")
	mustRun(t, "train", "dict", "--data", "patches", "--patch", "8", "--preprocess", "contrast", "--train-size", "500",
		"--units", "16", "--epochs", "1", "--iterations", "10", "--test-size", "40", "--quiet", "--out", pd)
	expect(t, "encode patches", mustRun(t, "encode", "--model", pd, "--out", filepath.Join(dir, "pcodes.safetensors")), "codes [40,16]")

	// No command writes over what it reads: one line naming both, exit 2, every file unchanged.
	imgs := filepath.Join(dir, "photos")
	os.Mkdir(imgs, 0o755)
	photo := filepath.Join(imgs, "a.png")
	writePNG(t, photo, 64)
	link := filepath.Join(dir, "link.safetensors")
	os.Symlink(dict, link)
	inputs := []string{dict, model.ConfigPath(dict), lista, model.CheckpointPath(lista), photo}
	before := readFiles(t, inputs)
	for _, args := range [][]string{
		{"encode", "--model", dict, "--out", dict},
		{"encode", "--model", dict, "--out", model.ConfigPath(dict)},
		{"encode", "--model", dict, "--out", link},
		{"encode", "--model", model.CheckpointPath(lista), "--out", model.CheckpointPath(lista)},
		{"encode", "--model", pd, "--images", imgs, "--out", photo},
		{"train", "lista", "--dict", dict, "--out", dict},
		{"train", "lista", "--dict", dict, "--out", link},
		{"train", "lista", "--resume", model.CheckpointPath(lista), "--out", model.CheckpointPath(lista)},
	} {
		code, _, errs := drsaeRun(t, append(args, "--backend", "cpu")...)
		if first, _, _ := strings.Cut(errs, "\n"); code != 2 || !strings.Contains(first, "which this command reads") {
			t.Errorf("%v: exit %d, %q; want 2 and a refusal", args, code, errs)
		}
	}
	for name, raw := range readFiles(t, inputs) {
		if string(raw) != string(before[name]) {
			t.Errorf("%s changed", name)
		}
	}

	// Broken files: one line naming the file, exit 1.
	bad := filepath.Join(dir, "bad.safetensors")
	raw, _ := os.ReadFile(dict)
	os.WriteFile(bad, raw[:len(raw)/2], 0o644)
	cfg, _ := os.ReadFile(model.ConfigPath(dict))
	os.WriteFile(model.ConfigPath(bad), cfg, 0o644)
	for _, args := range [][]string{
		{"encode", "--model", bad, "--out", filepath.Join(dir, "x.safetensors")},
		{"train", "lista", "--dict", bad, "--train-size", "100", "--quiet", "--out", filepath.Join(dir, "l2.safetensors")},
		{"eval", "--model", filepath.Join(dir, "missing.safetensors")},
		{"train", "lista", "--dict", filepath.Join(dir, "missing.safetensors")},
	} {
		code, _, errs := drsaeRun(t, append(args, "--backend", "cpu")...)
		name := "bad"
		if strings.Contains(strings.Join(args, " "), "missing") {
			name = "missing"
		}
		if code != 1 || !strings.Contains(errs, name) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and one line naming %s", args, code, errs, name)
		}
	}
}

// TestTopoCommands trains a small topographic map briefly, then measures, encodes and draws it.
func TestTopoCommands(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "topo.safetensors")
	out := mustRun(t, "train", "topo", "--map-h", "8", "--map-w", "8", "--window", "3", "--train-size", "2000",
		"--test-size", "300", "--epochs", "2", "--quiet", "--out", m)
	expect(t, "train topo", out, "topo train epoch 2/2", "map neighbours", "1 px: units")
	expect(t, "eval topo", mustRun(t, "eval", "--model", m), "ratio", "shift sensitivity")
	mustRun(t, "encode", "--model", m, "--out", filepath.Join(dir, "codes.safetensors"))
	mustRun(t, "show", "--model", m)
	for _, p := range []string{"map.png", "encoder.png", "responses.png"} {
		if fi, err := os.Stat(filepath.Join(dir, "topo-"+p)); err != nil || fi.Size() == 0 {
			t.Errorf("show did not write %s: %v", p, err)
		}
	}
}

// readFiles returns the contents of files by name.
func readFiles(t *testing.T, files []string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[f] = raw
	}
	return m
}

// writePNG writes a gray n×n PNG of a smooth pattern.
func writePNG(t *testing.T, path string, n int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, n, n))
	for i := range img.Pix {
		img.Pix[i] = uint8((i*7 + i/n*13) % 256)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestRecipe: --recipe paper starts from the authors' schedule, the flags given still win, and an
// unknown recipe is one line naming the ones there are.
func TestRecipe(t *testing.T) {
	k, _ := model.LookupKind("drsae")
	a, err := parseTrain(k, kindCLI(k.Name), []string{"--recipe", "paper", "--batch", "20", "--units", "30", "--T", "4"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := a.cfg.(*drsae.Config)
	want := model.TrainConfig{Batch: 20, Momentum: 0, LR: 0.05, LRDecay: 5e-7, LRRestart: false, PretrainEpochs: 100, Epochs: 1000, Patience: 100, ProjectEvery: 5}
	got := a.tc
	if got.Batch != want.Batch || got.Momentum != want.Momentum || got.LR != want.LR || got.LRDecay != want.LRDecay ||
		got.LRRestart != want.LRRestart || got.PretrainEpochs != want.PretrainEpochs || got.Epochs != want.Epochs ||
		got.Patience != want.Patience || got.ProjectEvery != want.ProjectEvery || got.Average != 0 {
		t.Errorf("schedule %+v, want the paper's with batch 20", got)
	}
	if cfg.ClassLRDivisor != 5 || cfg.Units != 30 || cfg.T != 4 || a.spec.ValidSize != 10000 {
		t.Errorf("config %+v, data %+v: want C's rate ÷5, the units and T given, 10,000 validation digits", cfg, a.spec)
	}
	if !a.set["batch"] || a.keys["batch"].Value.Int() != 20 {
		t.Errorf("the keys do not point at the recipe's schedule: %v", a.keys["batch"].Value)
	}
	_, err = parseTrain(k, kindCLI(k.Name), []string{"--recipe", "fast"})
	if err == nil || !strings.Contains(err.Error(), `--recipe "fast": want one of paper`) {
		t.Errorf("unknown recipe: %v", err)
	}
	if _, err := parseTrain(k, kindCLI(k.Name), []string{"--recipe", "paper", "--units", "30", "--T", "4", "--lr", "-1"}); err == nil {
		t.Error("--recipe paper --lr -1: no error")
	}
	if _, err := parseTrain(k, kindCLI(k.Name), []string{"--recipe", "paper", "--resume", "x.checkpoint.safetensors"}); err == nil ||
		!strings.Contains(err.Error(), "leave --recipe out") {
		t.Errorf("--recipe with --resume: %v", err)
	}
}
