package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLateralCommands: train, eval, encode and show a small lateral-inhibition model.
func TestLateralCommands(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "lateral.safetensors")
	out := mustRun(t, "train", "lateral", "--units", "15", "--branch", "2", "--infer-iters", "20", "--train-size", "1000",
		"--test-size", "200", "--epochs", "2", "--quiet", "--out", m)
	expect(t, "train lateral", out, "lateral train epoch 2/2", "energy", "along a branch")
	expect(t, "eval lateral", mustRun(t, "eval", "--model", m), "ratio", "S: ")
	mustRun(t, "encode", "--model", m, "--out", filepath.Join(dir, "codes.safetensors"))
	mustRun(t, "show", "--model", m)
	for _, p := range []string{"tree.png", "inhibition.png"} {
		if fi, err := os.Stat(filepath.Join(dir, "lateral-"+p)); err != nil || fi.Size() == 0 {
			t.Errorf("show did not write %s: %v", p, err)
		}
	}
}
