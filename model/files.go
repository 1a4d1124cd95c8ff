package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/drsae/drsae/internal/atomicfile"
	"github.com/drsae/drsae/internal/safetensors"
	"github.com/drsae/drsae/kernels"
)

// A saved model is two files side by side: NAME.safetensors with its parameters by name, and
// NAME.json, its config: {"model": KIND, "format": 1, the kind's keys…, "data": {…}}. A training
// checkpoint is one file, NAME.checkpoint.safetensors, whose metadata holds the config, the
// schedule and the state, so that it is written, and survives a kill, as one unit.

// NamedTensor is a tensor on the host with its name, as a safetensors file holds it.
type NamedTensor = safetensors.Tensor

// HostTensor is a tensor read from a file: its shape and its row-major values.
type HostTensor = safetensors.HostTensor

// SaveTensors writes tensors and string metadata to path as a safetensors file (float32),
// atomically; Python reads it with safetensors.numpy.load_file.
func SaveTensors(path string, ts []NamedTensor, meta map[string]string) error {
	return safetensors.Save(path, ts, meta)
}

// LoadTensors reads a safetensors file of float32 tensors; every corruption is one error naming
// the file and, where there is one, the tensor.
func LoadTensors(path string) (map[string]HostTensor, map[string]string, error) {
	return safetensors.Load(path)
}

// checkpointKey is the safetensors metadata key that holds a checkpoint's JSON.
const checkpointKey = "drsae_checkpoint"

// ConfigPath returns the JSON config beside a saved model: runs/dict.safetensors ↔ runs/dict.json.
func ConfigPath(model string) string {
	return strings.TrimSuffix(strings.TrimSuffix(model, ".json"), ".safetensors") + ".json"
}

// CheckpointPath is where training keeps its checkpoint: beside the model,
// runs/drsae.safetensors → runs/drsae.checkpoint.safetensors.
func CheckpointPath(model string) string {
	return strings.TrimSuffix(model, ".safetensors") + ".checkpoint.safetensors"
}

// Saved describes a saved model or checkpoint.
type Saved struct {
	Kind       string
	Config     Config
	Data       DataSpec          // the data it was trained on (zero when not recorded)
	Meta       map[string]string // the safetensors metadata
	Checkpoint bool
	Train      TrainConfig // a checkpoint's schedule
	State      TrainState  // and where it stands
}

// SaveModel writes m's parameters to path (safetensors; meta goes into its metadata and may be
// nil) and its config, with the data it was trained on when data is not nil, to ConfigPath(path),
// each atomically.
func SaveModel(path string, m Module, data *DataSpec, meta map[string]string) error {
	names, vals := Params(m.Params())
	ts, err := downloadParams(m, names, vals, "")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	meta = maps.Clone(meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["model"], meta["format"] = m.Kind(), strconv.Itoa(FormatVersion)
	extra := map[string]any{}
	if data != nil {
		extra["data"] = data
	}
	js, err := configJSON(m.Kind(), m.Config(), extra)
	if err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	if err := SaveTensors(path, ts, meta); err != nil {
		return err
	}
	return writeFile(ConfigPath(path), js)
}

// Params returns the tensors of ps, for downloadParams.
func Params(ps []*Param) ([]string, []kernels.Tensor) {
	names := make([]string, len(ps))
	ts := make([]kernels.Tensor, len(ps))
	for i, p := range ps {
		names[i], ts[i] = p.Name, p.Value
	}
	return names, ts
}

// downloadParams copies tensors to the host, named prefix+names[i].
func downloadParams(m Module, names []string, ts []kernels.Tensor, prefix string) ([]NamedTensor, error) {
	out := make([]NamedTensor, len(ts))
	for i, t := range ts {
		d := make([]float32, t.Len())
		if err := m.Backend().Download(d, t); err != nil {
			return nil, err
		}
		out[i] = NamedTensor{Name: prefix + names[i], Shape: slices.Clone(t.Shape()), Data: d}
	}
	return out, nil
}

// maxConfigBytes bounds a model's JSON config (a few KiB).
const maxConfigBytes = 16 << 20

// ReadSaved reads what a saved model or checkpoint is without its tensors: the config beside a
// model, or the header of a checkpoint. Errors name the file and the key.
func ReadSaved(path string) (*Saved, error) {
	meta, err := safetensors.ReadMetadata(path)
	if err != nil {
		return nil, err
	}
	var js []byte
	if _, ok := meta[checkpointKey]; !ok {
		if js, err = safetensors.ReadFile(ConfigPath(path), 1, maxConfigBytes); err != nil {
			return nil, fmt.Errorf("model config: %w", err)
		}
	}
	return decodeSaved(path, meta, js)
}

// decodeSaved is ReadSaved on what it read: the metadata of path and, for a model, the bytes of
// its config.
func decodeSaved(path string, meta map[string]string, config []byte) (*Saved, error) {
	if js, ok := meta[checkpointKey]; ok {
		s, err := decodeCheckpoint([]byte(js))
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %v", path, err)
		}
		s.Meta = meta
		return s, nil
	}
	s := &Saved{Meta: meta}
	obj, err := parseObject(config)
	if err == nil {
		var rest map[string]json.RawMessage
		s.Kind, s.Config, rest, err = decodeConfig(obj, "data")
		if err == nil && rest["data"] != nil {
			err = decodeData(rest["data"], &s.Data)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("model config %s: %v", ConfigPath(path), err)
	}
	return s, nil
}

func decodeData(raw json.RawMessage, d *DataSpec) error {
	obj, err := parseObject(raw)
	if err == nil {
		err = decodeObject(obj, d)
	}
	if err != nil {
		return fmt.Errorf("key \"data\": %v", err)
	}
	return nil
}

// LoadModel reads a model saved by SaveModel, or the current parameters of a checkpoint, onto
// be. Tensors whose names or shapes disagree with the config, values that are not finite and
// every corruption are one error naming the file.
func LoadModel(be kernels.Backend, path string) (Module, *Saved, error) {
	s, err := ReadSaved(path)
	if err != nil {
		return nil, nil, err
	}
	m, _, err := loadModule(be, path, s, func(name string) bool { return s.Checkpoint && strings.Contains(name, ".") })
	return m, s, err
}

// loadModule makes the module s describes and uploads its parameters from path; extra names the
// other tensors the file may hold. It returns all the file's tensors.
func loadModule(be kernels.Backend, path string, s *Saved, extra func(string) bool) (Module, map[string]HostTensor, error) {
	ts, _, err := LoadTensors(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := NewModule(be, s.Kind, s.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	want := map[string][]int{}
	for _, p := range m.Params() {
		want[p.Name] = p.Shape()
	}
	if err := checkTensors(path, ts, want, extra); err != nil {
		m.Free()
		return nil, nil, err
	}
	for _, p := range m.Params() {
		be.Upload(p.Value, ts[p.Name].Data)
	}
	if err := be.Sync(); err != nil {
		m.Free()
		return nil, nil, err
	}
	return m, ts, nil
}

// checkTensors checks that got holds exactly the tensors of want, with their shapes, and others
// only where extra allows them, all finite. The error names the file and the first tensor that
// differs.
func checkTensors(path string, got map[string]HostTensor, want map[string][]int, extra func(string) bool) error {
	names := slices.Sorted(maps.Keys(want))
	for _, name := range names {
		t, ok := got[name]
		if !ok {
			return fmt.Errorf("%s: no tensor %q", path, name)
		}
		if !slices.Equal(t.Shape, want[name]) {
			return fmt.Errorf("%s: tensor %q has shape %v, the config says %v", path, name, t.Shape, want[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok && (extra == nil || !extra(name)) {
			return fmt.Errorf("%s: unexpected tensor %q", path, name)
		}
		for _, v := range got[name].Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s: tensor %q holds a NaN or infinite value", path, name)
			}
		}
	}
	return nil
}

// checkpointJSON is the JSON a checkpoint keeps in its metadata.
type checkpointJSON struct {
	Format int             `json:"format"`
	Config json.RawMessage `json:"config"` // as in NAME.json
	Train  TrainConfig     `json:"train"`
	State  TrainState      `json:"state"`
}

func decodeCheckpoint(js []byte) (*Saved, error) {
	obj, err := parseObject(js)
	if err != nil {
		return nil, err
	}
	var version int
	if json.Unmarshal(obj["format"], &version) != nil || version > FormatVersion {
		return nil, fmt.Errorf("format %s: not a version this drsae reads (≤ %d)", obj["format"], FormatVersion)
	}
	for _, k := range []string{"config", "train", "state"} {
		if obj[k] == nil {
			return nil, fmt.Errorf("missing required key %q", k)
		}
	}
	cfg, err := parseObject(obj["config"])
	if err != nil {
		return nil, fmt.Errorf("key \"config\": %v", err)
	}
	s := &Saved{Checkpoint: true}
	if s.Kind, s.Config, _, err = decodeConfig(cfg); err != nil {
		return nil, fmt.Errorf("key \"config\": %v", err)
	}
	k, _ := LookupKind(s.Kind)
	s.Train = k.NewTrain()
	train, err := parseObject(obj["train"])
	if err == nil {
		err = decodeObject(train, &s.Train)
	}
	if err == nil {
		err = s.Train.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("key \"train\": %v", err)
	}
	s.Data = s.Train.Data
	dec := json.NewDecoder(bytes.NewReader(obj["state"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s.State); err != nil {
		return nil, fmt.Errorf("key \"state\": %v", err)
	}
	return s, nil
}

// SaveCheckpoint writes the module's parameters, the optimizer's state, the best and average
// parameters (and, once the run has ended, its last epoch's), the module's own state and the
// schedule and state of training to path, as one file written atomically. The file is also a
// model that LoadModel reads.
func (t *Trainer) SaveCheckpoint(path string) error {
	m := t.Module
	names, _ := Params(Trainable(m.Params()))
	all, vals := Params(m.Params())
	ts, err := downloadParams(m, all, vals, "")
	add := func(prefix string, vals []kernels.Tensor) {
		if err == nil && vals != nil {
			var more []NamedTensor
			more, err = downloadParams(m, names, vals, prefix)
			ts = append(ts, more...)
		}
	}
	for i, prefix := range t.opt.SlotNames() {
		add(prefix, t.opt.Slots()[i])
	}
	add("best.", t.best)
	add("average.", t.avg)
	add("last.", t.last)
	if s, ok := m.(Stateful); ok && err == nil {
		var st []NamedTensor
		st, err = s.State()
		for _, x := range st {
			x.Name = "state." + x.Name
			ts = append(ts, x)
		}
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	cfg, err := configJSON(m.Kind(), m.Config(), nil)
	if err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	st := t.State
	st.HasBest, st.HasAverage, st.HasLast = t.best != nil, t.avg != nil, t.last != nil
	js, err := json.Marshal(checkpointJSON{Format: FormatVersion, Config: cfg, Train: t.Config, State: st})
	if err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	meta := map[string]string{checkpointKey: string(js), "model": m.Kind(), "phase": st.Phase, "epoch": strconv.Itoa(st.Epoch)}
	return SaveTensors(path, ts, meta)
}

// LoadCheckpoint restores a trainer — module, optimizer state, best and average parameters, the
// module's state, schedule and position — from a checkpoint written by SaveCheckpoint.
func LoadCheckpoint(be kernels.Backend, path string) (*Trainer, error) {
	s, err := ReadSaved(path)
	if err != nil {
		return nil, err
	}
	if !s.Checkpoint {
		return nil, fmt.Errorf("%s: a saved model, not a training checkpoint (training writes NAME.checkpoint.safetensors)", path)
	}
	fail := func(err error) error { return fmt.Errorf("checkpoint %s: %v", path, err) }
	m, ts, err := loadModule(be, path, s, func(name string) bool {
		prefix, _, ok := strings.Cut(name, ".")
		return ok && slices.Contains([]string{"velocity", "adam_m", "adam_v", "best", "average", "last", "state"}, prefix)
	})
	if err != nil {
		return nil, err
	}
	t, err := restore(m, s.Train, s.State, ts)
	if err != nil {
		m.Free()
		return nil, fail(err)
	}
	return t, nil
}

// restore makes a trainer for m in state st and uploads its tensors from ts.
func restore(m Module, tc TrainConfig, st TrainState, ts map[string]HostTensor) (*Trainer, error) {
	if st.Phase != PhaseDone && !slices.Contains(m.Phases(), st.Phase) {
		return nil, fmt.Errorf("unknown training phase %q (the %s model has %s)", st.Phase, m.Kind(), strings.Join(m.Phases(), ", "))
	}
	t, err := NewTrainer(m, tc)
	if err != nil {
		return nil, err
	}
	t.State, t.opt.Steps = st, st.OptSteps
	be := m.Backend()
	load := func(prefix string, into []kernels.Tensor) error {
		for i, p := range Trainable(m.Params()) {
			h, ok := ts[prefix+p.Name]
			if !ok || !slices.Equal(h.Shape, p.Shape()) {
				return fmt.Errorf("no tensor %q of shape %v", prefix+p.Name, p.Shape())
			}
			be.Upload(into[i], h.Data)
		}
		return nil
	}
	for i, prefix := range t.opt.SlotNames() {
		if err == nil {
			err = load(prefix, t.opt.Slots()[i])
		}
	}
	if err == nil && st.HasBest {
		if t.best, err = t.copies(); err == nil {
			err = load("best.", t.best)
		}
	}
	if err == nil && st.HasAverage {
		if t.avg, err = t.copies(); err == nil {
			err = load("average.", t.avg)
		}
	}
	if err == nil && st.HasLast {
		if t.last, err = t.copies(); err == nil {
			err = load("last.", t.last)
		}
	}
	if sf, ok := m.(Stateful); ok && err == nil {
		state := map[string]HostTensor{}
		for name, h := range ts {
			if rest, ok := strings.CutPrefix(name, "state."); ok {
				state[rest] = h
			}
		}
		err = sf.SetState(state)
	}
	if err == nil {
		err = be.Sync()
	}
	if err != nil {
		t.Free()
		return nil, err
	}
	return t, nil
}

// SaveBest saves the parameters of the best epoch so far (the current ones before there is one)
// as a model file, with the run's data and meta.
func (t *Trainer) SaveBest(path string, meta map[string]string) error {
	ps := Trainable(t.Module.Params())
	if t.best != nil {
		swapValues(ps, t.best)
		defer swapValues(ps, t.best)
	}
	return SaveModel(path, t.Module, &t.Config.Data, meta)
}

// writeFile writes js to path atomically.
func writeFile(path string, js []byte) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(js)
		return err
	})
}
