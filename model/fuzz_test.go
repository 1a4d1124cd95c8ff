package model_test

import (
	"testing"

	"github.com/drsae/drsae/model"
	_ "github.com/drsae/drsae/model/conv"
	_ "github.com/drsae/drsae/model/dict"
	_ "github.com/drsae/drsae/model/drsae"
	_ "github.com/drsae/drsae/model/lateral"
	_ "github.com/drsae/drsae/model/lista"
	_ "github.com/drsae/drsae/model/local"
	_ "github.com/drsae/drsae/model/topo"
)

// FuzzReadSaved: no model config beside a model, and no checkpoint JSON in a checkpoint's
// metadata, of any kind, may panic the readers; what they accept is a registered kind whose
// config (and schedule) validates. The seeds are every kind's default config and a checkpoint.
// Run with: go test -run '^$' -fuzz FuzzReadSaved -fuzztime 60s ./model/
func FuzzReadSaved(f *testing.F) {
	for _, name := range model.Kinds() {
		k, _ := model.LookupKind(name)
		js, err := model.ConfigJSON(name, k.NewConfig(), map[string]any{"data": k.Data})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js, false)
	}
	f.Add([]byte(`{"model": "drsae", "format": 1, "inputs": 784, "classes": 10, "units": 16}`), false)
	f.Add([]byte(`{"model": "drsae", "format": 1, "inputs": 784, "classes": 10, "units": 16, "T": 1000000000}`), false)
	f.Add([]byte(`{"format": 1, "config": {"model": "drsae", "format": 1, "inputs": 784, "classes": 10, "units": 16, "T": 2}, "train": {"batch": 50}, "state": {"phase": "unsupervised"}}`), true)
	f.Add([]byte(`[1, 2]`), true)
	f.Fuzz(func(t *testing.T, js []byte, checkpoint bool) {
		meta := map[string]string{"drsae_version": "fuzz"}
		if checkpoint {
			meta["drsae_checkpoint"] = string(js)
		}
		s, err := model.DecodeSaved("m.safetensors", meta, js)
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
