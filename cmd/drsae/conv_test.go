package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/data"
)

// TestConvPipeline runs the documented pipeline on a few digits: a first layer, a second stacked
// on it, the classifier fine-tuned on both, then eval, encode and show of each; and the bad
// inputs of the stacking flags give one line naming the flag.
func TestConvPipeline(t *testing.T) {
	if _, err := data.FindMNIST(); err != nil {
		t.Skipf("MNIST: %v", err)
	}
	dir := t.TempDir()
	l1, l2, net := filepath.Join(dir, "l1.safetensors"), filepath.Join(dir, "l2.safetensors"), filepath.Join(dir, "net.safetensors")
	small := []string{"--backend", "cpu", "--quiet", "--epochs", "1", "--train-size", "300", "--valid-size", "100", "--test-size", "100"}
	for _, args := range [][]string{
		append([]string{"train", "conv", "--maps", "8", "--out", l1}, small...),
		append([]string{"train", "conv", "--below", l1, "--maps", "8", "--filter", "3", "--out", l2}, small...),
		append([]string{"train", "convnet", "--features", l2, "--out", net}, small...),
	} {
		code, out, errs := drsaeRun(t, args...)
		if code != 0 {
			t.Fatalf("drsae %v: exit %d\n%s%s", args, code, out, errs)
		}
		if args[1] == "convnet" && !strings.Contains(out, "error ") {
			t.Errorf("convnet training printed no test error:\n%s", out)
		}
	}
	for _, m := range []string{l1, l2, net} {
		for _, args := range [][]string{
			{"eval", "--model", m, "--backend", "cpu"},
			{"encode", "--model", m, "--backend", "cpu", "--out", filepath.Join(dir, "codes-"+filepath.Base(m))},
			{"show", "--model", m, "--backend", "cpu"},
		} {
			code, out, errs := drsaeRun(t, args...)
			if code != 0 {
				t.Fatalf("drsae %v: exit %d\n%s%s", args, code, out, errs)
			}
			if args[0] == "eval" && m == l2 && (!strings.Contains(out, "layer 1: ") || !strings.Contains(out, "layer 2: ")) {
				t.Errorf("eval of a stack does not report each layer:\n%s", out)
			}
		}
	}
	for _, f := range []string{"l2-pooled.png", "l2-layer1-encoder.png", "l2-layer2-decoder.png", "net-layer2-encoder.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("show: %v", err)
		}
	}
	bad := filepath.Join(dir, "missing.safetensors")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "conv", "--below", bad}, "--below"},
		{[]string{"train", "conv", "--below", net}, "not a conv one"},
		{[]string{"train", "convnet"}, "--features FILE is required"},
		{[]string{"train", "convnet", "--features", net}, "not a conv one"},
		{[]string{"train", "convnet", "--features", l2, "--init", "bogus"}, "--init"},
	} {
		code, _, errs := drsaeRun(t, append(tc.args, "--out", filepath.Join(dir, "x.safetensors"))...)
		first, _, _ := strings.Cut(errs, "\n")
		if code == 0 || !strings.Contains(first, tc.want) {
			t.Errorf("drsae %v: exit %d, first line %q; want an error naming %s", tc.args, code, first, tc.want)
		}
	}
}

// TestConvContrastSigma: a first layer trained with --contrast-sigma keeps it in its file; eval
// reports the normalized images, show draws them, encode runs, a stack and a net on it train and
// evaluate, and a stacked layer refuses the flag.
func TestConvContrastSigma(t *testing.T) {
	if _, err := data.FindMNIST(); err != nil {
		t.Skipf("MNIST: %v", err)
	}
	dir := t.TempDir()
	l1, l2, net := filepath.Join(dir, "l1.safetensors"), filepath.Join(dir, "l2.safetensors"), filepath.Join(dir, "net.safetensors")
	small := []string{"--backend", "cpu", "--quiet", "--epochs", "1", "--train-size", "200", "--valid-size", "50", "--test-size", "50"}
	for _, args := range [][]string{
		append([]string{"train", "conv", "--maps", "4", "--contrast-sigma", "2", "--out", l1}, small...),
		append([]string{"train", "conv", "--below", l1, "--maps", "4", "--filter", "3", "--out", l2}, small...),
		append([]string{"train", "convnet", "--features", l2, "--out", net}, small...),
	} {
		if code, out, errs := drsaeRun(t, args...); code != 0 {
			t.Fatalf("drsae %v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	raw, err := os.ReadFile(strings.TrimSuffix(l2, ".safetensors") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"contrast_sigma": 2`) {
		t.Errorf("the stack's config does not keep its first layer's contrast_sigma:\n%s", raw)
	}
	code, out, errs := drsaeRun(t, "eval", "--model", l2, "--backend", "cpu")
	if code != 0 || !strings.Contains(out, "layer 1: ") || !strings.Contains(out, "contrast normalized with σ 2") {
		t.Errorf("eval: exit %d, want layer 1 on the normalized images:\n%s%s", code, out, errs)
	}
	for _, args := range [][]string{
		{"show", "--model", l1, "--backend", "cpu"},
		{"encode", "--model", l1, "--backend", "cpu", "--out", filepath.Join(dir, "codes.safetensors")},
		{"eval", "--model", net, "--backend", "cpu"},
	} {
		if code, out, errs := drsaeRun(t, args...); code != 0 {
			t.Fatalf("drsae %v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "l1-normalized.png")); err != nil {
		t.Errorf("show: %v", err)
	}
	code, _, errs = drsaeRun(t, "train", "conv", "--below", l1, "--contrast-sigma", "2", "--out", filepath.Join(dir, "x.safetensors"))
	if first, _, _ := strings.Cut(errs, "\n"); code == 0 || !strings.Contains(first, "--contrast-sigma 2") || !strings.Contains(first, "first layer only") {
		t.Errorf("--contrast-sigma on a stacked layer: exit %d, first line %q", code, first)
	}
}
