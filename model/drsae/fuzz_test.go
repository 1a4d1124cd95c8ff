package drsae_test

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/drsae/drsae/model"
	_ "github.com/drsae/drsae/model/drsae"
)

// FuzzReadSaved: no model config beside a model, and no checkpoint JSON in a checkpoint's
// metadata, may panic the readers; what they accept is a registered kind whose config (and
// schedule) validates.
// Run with: go test -run '^$' -fuzz FuzzReadSaved -fuzztime 60s ./model/drsae/
func FuzzReadSaved(f *testing.F) {
	f.Add([]byte(`{"model": "drsae", "format": 1, "inputs": 784, "classes": 10, "units": 16, "T": 2, "data": {"source": "mnist"}}`), false)
	f.Add([]byte(`{"model": "drsae", "format": 1, "inputs": 784, "classes": 10, "units": 16}`), false)
	f.Add([]byte(`{"model": "drsae", "format": 1, "inputs": 784, "classes": 10, "units": 16, "T": 1000000000}`), false)
	f.Add([]byte(`{"format": 1, "config": {"model": "drsae", "format": 1, "inputs": 784, "classes": 10, "units": 16, "T": 2}, "train": {"batch": 50}, "state": {"phase": "unsupervised"}}`), true)
	f.Add([]byte(`[1, 2]`), true)
	dir := f.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := model.SaveTensors(path, nil, nil); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, js []byte, checkpoint bool) {
		p := path
		if checkpoint {
			// A safetensors file of metadata only, written without the fsync of a save.
			p = filepath.Join(dir, "m.checkpoint.safetensors")
			h, _ := json.Marshal(map[string]any{"__metadata__": map[string]string{"drsae_checkpoint": string(js)}})
			if err := os.WriteFile(p, append(binary.LittleEndian.AppendUint64(nil, uint64(len(h))), h...), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(model.ConfigPath(path), js, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := model.ReadSaved(p)
		if err != nil {
			return
		}
		if _, err := model.LookupKind(s.Kind); err != nil || s.Config.Validate() != nil {
			t.Fatalf("accepted kind %q with config %+v", s.Kind, s.Config)
		}
		if s.Checkpoint && s.Train.Validate() != nil {
			t.Fatalf("accepted a checkpoint whose schedule does not validate: %+v", s.Train)
		}
	})
}
