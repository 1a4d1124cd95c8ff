package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/model"
)

func TestDictListaBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"train", "dict", "--atoms", "0"}, "--atoms"},
		{[]string{"train", "dict", "--lambda", "-1"}, "--lambda"},
		{[]string{"train", "dict", "--lambda", "NaN"}, "--lambda"},
		{[]string{"train", "dict", "--lr", "0"}, "--lr"},
		{[]string{"train", "dict", "--iterations", "0"}, "--iterations"},
		{[]string{"train", "dict", "--algorithm", "omp"}, "--algorithm"},
		{[]string{"train", "dict", "--data", "cifar"}, "--data"},
		{[]string{"train", "dict", "--split", "valid"}, "--split"},
		{[]string{"train", "dict", "--preprocess", "pca"}, "--preprocess"},
		{[]string{"train", "dict", "--data", "patches", "--patch", "1"}, "--patch"},
		{[]string{"train", "dict", "--n", "-5"}, "--n"},
		{[]string{"train", "dict", "--bogus"}, "bogus"},
		{[]string{"train", "lista"}, "--dict"},
		{[]string{"train", "lista", "--dict", "x.safetensors", "--T", "0"}, "--T"},
		{[]string{"train", "lista", "--dict", "x.safetensors", "--momentum", "1"}, "--momentum"},
		{[]string{"train", "lista", "--dict", "x.safetensors", "--lr", "-1"}, "--lr"},
		{[]string{"encode", "--model"}, "model"},
	} {
		code, _, errs := drsaeRun(t, tc.args...)
		first, _, _ := strings.Cut(errs, "\n")
		if code != 2 || !strings.Contains(first, tc.flag) {
			t.Errorf("%v: exit %d, first line %q; want 2 and a line naming %s", tc.args, code, first, tc.flag)
		}
	}
}

// TestDictListaCommands trains a tiny dictionary and LISTA on MNIST digits and on image
// patches, then encodes, evaluates and draws them, and feeds the tools broken files.
func TestDictListaCommands(t *testing.T) {
	if _, err := data.FindMNIST(); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	dir := t.TempDir()
	dict := filepath.Join(dir, "dict.safetensors")
	lista := filepath.Join(dir, "lista.safetensors")
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := drsaeRun(t, append(args, "--backend", "cpu")...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		return out + errs
	}
	out := ok("train", "dict", "--n", "600", "--atoms", "32", "--lambda", "0.5", "--epochs", "2", "--iterations", "20",
		"--batch", "100", "--eval-n", "100", "--quiet", "--out", dict)
	for _, want := range []string{"dict epoch 2/2", "fvu=", "held-out (100 mnist test samples)", "saved " + dict} {
		if !strings.Contains(out, want) {
			t.Errorf("train dict output lacks %q:\n%s", want, out)
		}
	}
	out = ok("train", "lista", "--dict", dict, "--n", "600", "--T", "2", "--epochs", "2", "--target-iterations", "100",
		"--eval-n", "100", "--quiet", "--out", lista)
	for _, want := range []string{"lista epoch 2/2", "LISTA T=2", "FISTA 10 iterations", "saved " + lista} {
		if !strings.Contains(out, want) {
			t.Errorf("train lista output lacks %q:\n%s", want, out)
		}
	}
	for _, m := range []string{dict, lista} {
		codes := filepath.Join(dir, "codes.safetensors")
		ok("encode", "--model", m, "--n", "50", "--out", codes)
		ts, meta, err := model.LoadTensors(codes)
		if err != nil {
			t.Fatal(err)
		}
		if z := ts["Z"]; len(z.Shape) != 2 || z.Shape[0] != 50 || z.Shape[1] != 32 {
			t.Errorf("%s: codes %v", m, z.Shape)
		}
		if l := ts["labels"]; len(l.Data) != 50 {
			t.Errorf("%s: %d labels", m, len(l.Data))
		}
		if meta["split"] != "test" || meta["data"] != "mnist" {
			t.Errorf("%s: metadata %v", m, meta)
		}
		if out := ok("eval", "--model", m, "--n", "50"); !strings.Contains(out, "L0") {
			t.Errorf("eval %s: %s", m, out)
		}
		png := filepath.Join(dir, "f.png")
		ok("show", "--model", m, "--out", png)
		if _, err := os.Stat(png); err != nil {
			t.Error(err)
		}
	}

	// Patches: the data flags default to the model's training data.
	pd := filepath.Join(dir, "pdict.safetensors")
	ok("train", "dict", "--data", "patches", "--patch", "8", "--n", "500", "--atoms", "16", "--epochs", "1",
		"--iterations", "10", "--eval-n", "50", "--quiet", "--out", pd)
	out = ok("encode", "--model", pd, "--n", "40", "--out", filepath.Join(dir, "pcodes.safetensors"))
	if !strings.Contains(out, "40 patches 8x8 test samples") {
		t.Errorf("encode patches: %s", out)
	}

	// Broken files: one line naming the file, exit 1.
	bad := filepath.Join(dir, "bad.safetensors")
	raw, _ := os.ReadFile(dict)
	os.WriteFile(bad, raw[:len(raw)/2], 0o644)
	cfg, _ := os.ReadFile(model.ConfigPath(dict))
	os.WriteFile(model.ConfigPath(bad), cfg, 0o644)
	for _, args := range [][]string{
		{"encode", "--model", bad, "--n", "10"},
		{"train", "lista", "--dict", bad, "--n", "10"},
		{"encode", "--model", filepath.Join(dir, "missing.safetensors")},
		{"train", "lista", "--dict", filepath.Join(dir, "missing.safetensors")},
	} {
		code, _, errs := drsaeRun(t, append(args, "--backend", "cpu")...)
		name := args[len(args)-1]
		if args[len(args)-2] == "--n" {
			name = args[len(args)-3]
		}
		name = strings.TrimSuffix(filepath.Base(name), ".safetensors")
		if code != 1 || !strings.Contains(errs, name) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and one line naming %s", args, code, errs, name)
		}
	}
	// A dictionary's data must fit the model.
	code, _, errs := drsaeRun(t, "encode", "--model", dict, "--data", "patches", "--patch", "8", "--backend", "cpu")
	if code != 2 || !strings.Contains(errs, "dimension 64") {
		t.Errorf("wrong dimension: exit %d, %q", code, errs)
	}
}
