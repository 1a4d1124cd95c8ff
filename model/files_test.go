package model_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
)

func TestPaths(t *testing.T) {
	for in, want := range map[string]string{"runs/dict.safetensors": "runs/dict.json", "runs/dict": "runs/dict.json"} {
		if got := model.ConfigPath(in); got != want {
			t.Errorf("ConfigPath(%q) = %q, want %q", in, got, want)
		}
	}
	if got := model.CheckpointPath("runs/m.safetensors"); got != "runs/m.checkpoint.safetensors" {
		t.Errorf("CheckpointPath = %q", got)
	}
}

// TestModelFiles: a saved model loads back the same; its config is checked key by key — a
// missing optional key takes its default, a missing required key, an unknown key, a value of the
// wrong type or range and a newer format are each one error naming the key and the file; tensors
// that disagree with the config, or hold a NaN, are one error naming the tensor and the file.
func TestModelFiles(t *testing.T) {
	be := modeltest.Backend(t)
	m := newMean(t, be, meanConfig{Inputs: 3, Phases: 1, Radius: 2})
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	data := &model.DataSpec{Source: "mnist", Preprocess: "l2", TrainSize: 10}
	if err := model.SaveModel(path, m, data, map[string]string{"note": "x"}); err != nil {
		t.Fatal(err)
	}
	back, saved, err := model.LoadModel(be, path)
	if err != nil {
		t.Fatal(err)
	}
	if *back.Config().(*meanConfig) != *m.Config().(*meanConfig) || saved.Data != *data || saved.Meta["note"] != "x" || saved.Meta["model"] != "mean" {
		t.Errorf("loaded config %+v, data %+v, meta %v", back.Config(), saved.Data, saved.Meta)
	}
	if a, b := param(t, m), param(t, back); a[2] != b[2] {
		t.Errorf("parameters %v, loaded %v", a, b)
	}
	js, _ := os.ReadFile(model.ConfigPath(path))
	for _, c := range []struct{ name, from, to, want string }{
		{"optional", `"radius": 2,`, ``, ""},
		{"required", `"inputs": 3,`, ``, `missing required key "inputs"`},
		{"unknown", `"phases": 1`, `"phases": 1, "lambda": 0.5`, `unknown key "lambda"`},
		{"type", `"phases": 1`, `"phases": "one"`, `key "phases"`},
		{"range", `"phases": 1`, `"phases": 7`, "phases = 7"},
		{"format", `"format": 1`, `"format": 99`, "format version 99"},
		{"kind", `"model": "mean"`, `"model": "nope"`, `unknown model kind "nope"`},
		{"json", `{`, `[`, "not valid JSON"},
		{"shape", `"inputs": 3`, `"inputs": 4`, `tensor "w" has shape [3], the config says [4]`},
	} {
		os.WriteFile(model.ConfigPath(path), []byte(strings.Replace(string(js), c.from, c.to, 1)), 0o644)
		got, _, err := model.LoadModel(be, path)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if r := got.Config().(*meanConfig).Radius; r != 0 {
				t.Errorf("%s: a missing radius loads as %g, want the default 0", c.name, r)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: err = %v, want one naming the file and %q", c.name, err, c.want)
		}
	}
	os.WriteFile(model.ConfigPath(path), js, 0o644)
	nan := []float32{1, float32(math.NaN()), 3}
	if err := model.SaveTensors(path, []model.NamedTensor{{Name: "w", Shape: []int{3}, Data: nan}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.LoadModel(be, path); err == nil || !strings.Contains(err.Error(), `"w" holds a NaN`) {
		t.Errorf("NaN: %v", err)
	}
	if err := model.SaveTensors(path, []model.NamedTensor{{Name: "w", Shape: []int{3}, Data: nan[:3:3]}, {Name: "v", Shape: []int{1}, Data: []float32{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.LoadModel(be, path); err == nil || !strings.Contains(err.Error(), `unexpected tensor "v"`) {
		t.Errorf("extra tensor: %v", err)
	}
}

// TestCheckpointFiles: a checkpoint is a model too (eval reads its current parameters), a model
// is not a checkpoint, and a checkpoint whose state is damaged is one error naming the key.
func TestCheckpointFiles(t *testing.T) {
	be := modeltest.Backend(t)
	m := newMean(t, be, meanConfig{Inputs: 2, Phases: 1})
	tr, err := model.NewTrainer(m, meanTrain())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ck := filepath.Join(dir, "m.checkpoint.safetensors")
	tr.Checkpoint = ck
	if err := tr.Run(context.Background(), meanSamples(2, 16, 1), nil); err != nil {
		t.Fatal(err)
	}
	got, saved, err := model.LoadModel(be, ck)
	if err != nil || !saved.Checkpoint || saved.State.Phase != model.PhaseDone {
		t.Fatalf("checkpoint as a model: %v %+v", err, saved)
	}
	if a, b := param(t, m), param(t, got); a[0] != b[0] || a[1] != b[1] {
		t.Errorf("checkpoint parameters %v, model %v", b, a)
	}
	path := filepath.Join(dir, "m.safetensors")
	if err := model.SaveModel(path, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := model.LoadCheckpoint(be, path); err == nil || !strings.Contains(err.Error(), "not a training checkpoint") {
		t.Errorf("a model as a checkpoint: %v", err)
	}
	ts, meta, err := model.LoadTensors(ck)
	if err != nil {
		t.Fatal(err)
	}
	var list []model.NamedTensor
	for name, h := range ts {
		list = append(list, model.NamedTensor{Name: name, Shape: h.Shape, Data: h.Data})
	}
	meta["drsae_checkpoint"] = strings.Replace(meta["drsae_checkpoint"], `"phase":"done"`, `"phase":"done","bogus":1`, 1)
	if err := model.SaveTensors(ck, list, meta); err != nil {
		t.Fatal(err)
	}
	if _, err := model.LoadCheckpoint(be, ck); err == nil || !strings.Contains(err.Error(), "bogus") || !strings.Contains(err.Error(), ck) {
		t.Errorf("a damaged state: %v", err)
	}
}
