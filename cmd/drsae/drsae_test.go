package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/model"
)

func TestDrsaeBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--units", "0"}, "--units"},
		{[]string{"--T", "0"}, "--T"},
		{[]string{"--lr", "-1"}, "--lr"},
		{[]string{"--momentum", "1"}, "--momentum"},
		{[]string{"--batch", "0"}, "--batch"},
		{[]string{"--train-size", "70000"}, "--train-size"},
		{[]string{"--valid-size", "20000"}, "--valid-size"},
		{[]string{"--valid-size", "-1"}, "--valid-size"},
		{[]string{"--average", "1"}, "--average"},
		{[]string{"--average", "-0.5"}, "--average"},
		{[]string{"--resume", "x.safetensors", "--average", "0.9"}, "--average"},
		{[]string{"--data", "cifar"}, "--data"},
		{[]string{"--lambda", "NaN"}, "--lambda"},
		{[]string{"--out", "runs/x"}, "--out"},
		{[]string{"--resume", "x.safetensors", "--units", "10"}, "--units"},
	} {
		code, _, errs := drsaeRun(t, append([]string{"train", "drsae"}, tc.args...)...)
		first, _, _ := strings.Cut(errs, "\n")
		if code != 2 || !strings.Contains(first, tc.flag) {
			t.Errorf("%v: exit %d, first line %q; want 2 and a line naming %s", tc.args, code, first, tc.flag)
		}
	}
}

func TestDrsaeMissingData(t *testing.T) {
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

// TestDrsaeCommands trains a tiny DrSAE on 1000 digits, then evaluates, encodes, draws and
// resumes it, and feeds the tools broken model files.
func TestDrsaeCommands(t *testing.T) {
	if _, err := data.FindMNIST(); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "run", "m.safetensors")
	code, so, se := drsaeRun(t, "train", "drsae", "--backend", "cpu", "--units", "16", "--T", "2", "--train-size", "1000",
		"--valid-size", "200", "--unsup-epochs", "1", "--sup-epochs", "1", "--lr", "0.03", "--out", modelPath, "--quiet")
	if code != 0 {
		t.Fatalf("train: exit %d\n%s%s", code, so, se)
	}
	if !strings.Contains(se, "drsae supervised epoch 2/2") || !strings.Contains(so, "test error") {
		t.Errorf("train output lacks the epoch lines or the test error:\n%s%s", so, se)
	}
	ck := filepath.Join(dir, "run", "m.checkpoint.safetensors")
	for _, f := range []string{modelPath, model.ConfigPath(modelPath), ck, model.ConfigPath(ck)} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}

	code, so, se = drsaeRun(t, "eval", "--model", modelPath, "--backend", "cpu", "--set", "valid")
	if code != 0 || !strings.Contains(so, "error") || !strings.Contains(so, "confusion") || !strings.Contains(so, "L0") {
		t.Errorf("eval: exit %d\n%s%s", code, so, se)
	}

	codes := filepath.Join(dir, "codes.safetensors")
	code, so, se = drsaeRun(t, "encode", "--model", modelPath, "--backend", "cpu", "--set", "valid", "--out", codes)
	if code != 0 {
		t.Fatalf("encode: exit %d\n%s%s", code, so, se)
	}
	ts, _, err := model.LoadTensors(codes)
	if err != nil {
		t.Fatal(err)
	}
	if s := ts["codes"].Shape; len(s) != 2 || s[0] != 10000 || s[1] != 16 {
		t.Errorf("codes have shape %v, want [10000 16]", s)
	}

	pics := filepath.Join(dir, "pics")
	code, so, se = drsaeRun(t, "show", "--model", modelPath, "--backend", "cpu", "--out", pics)
	if code != 0 {
		t.Fatalf("show: exit %d\n%s%s", code, so, se)
	}
	for _, p := range []string{"encoder.png", "decoder.png", "S.png", "angles.png"} {
		if fi, err := os.Stat(filepath.Join(pics, "m-"+p)); err != nil || fi.Size() == 0 {
			t.Errorf("show did not write %s: %v", p, err)
		}
	}

	// Resume with one more discriminative epoch.
	code, so, se = drsaeRun(t, "train", "drsae", "--backend", "cpu", "--resume", ck, "--sup-epochs", "2", "--out", modelPath, "--quiet")
	if code != 0 || !strings.Contains(se, "resuming") || !strings.Contains(se, "drsae supervised epoch 3/3") || strings.Contains(se, "unsupervised epoch") {
		t.Errorf("resume: exit %d\n%s%s", code, so, se)
	}

	// A model whose tensors disagree with its config, and a truncated model: one line each,
	// naming the file, exit 1.
	js, _ := os.ReadFile(model.ConfigPath(modelPath))
	os.WriteFile(model.ConfigPath(modelPath), []byte(strings.Replace(string(js), `"units": 16`, `"units": 17`, 1)), 0o644)
	code, _, se = drsaeRun(t, "eval", "--model", modelPath, "--backend", "cpu")
	if code != 1 || !strings.Contains(se, modelPath) || strings.Count(strings.TrimSpace(se), "\n") != 0 {
		t.Errorf("shape mismatch: exit %d, stderr %q", code, se)
	}
	os.WriteFile(model.ConfigPath(modelPath), js, 0o644)
	raw, _ := os.ReadFile(modelPath)
	os.WriteFile(modelPath, raw[:len(raw)/2], 0o644)
	code, _, se = drsaeRun(t, "show", "--model", modelPath, "--backend", "cpu", "--out", pics)
	if code != 1 || !strings.Contains(se, modelPath) {
		t.Errorf("truncated model: exit %d, stderr %q", code, se)
	}
}

// TestDrsaeNotFinite: a loss that blows up stops training with one line naming the phase,
// epoch and step, exit 1, and the checkpoint of the last good epoch is kept.
func TestDrsaeNotFinite(t *testing.T) {
	if _, err := data.FindMNIST(); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	out := filepath.Join(t.TempDir(), "run.safetensors")
	code, so, se := drsaeRun(t, "train", "drsae", "--backend", "cpu", "--units", "8", "--T", "2", "--train-size", "500",
		"--valid-size", "100", "--unsup-epochs", "0", "--sup-epochs", "1", "--lr", "1e30", "--momentum", "0", "--out", out, "--quiet")
	if code != 1 || !strings.Contains(se, "not finite") || !strings.Contains(se, "epoch 1, step") {
		t.Errorf("exit %d\n%s%s", code, so, se)
	}
	if _, err := os.Stat(drsaeCheckpointPath(out)); !os.IsNotExist(err) {
		t.Errorf("a checkpoint was written for a failed epoch: %v", err)
	}
}
