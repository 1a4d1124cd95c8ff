package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/drsae/drsae/kernels"
)

// A Config is a model kind's configuration: a struct whose fields are its JSON keys. Field tags
// say what the key means and how it is used:
//
//	json:"units"        the key (and, with _ as -, the command-line flag --units)
//	help:"hidden units" what it means, for -h and the key listing
//	cfg:"required"      a saved config must have it (otherwise a missing key takes the default)
//	cfg:"noflag"        no command-line flag: the value comes from the data or from training
//	cfg:"resume"        may change when training resumes (epochs, patience)
//	flag:"data"         the flag's name, where it differs from the key's
//
// Validate is the only check of the values; its errors name the key.
type Config interface {
	Validate() error
}

// FormatVersion is the version of drsae's files (model configs, checkpoints). A file of a newer
// version is refused; version 0 (no "format" key) is read as version 1.
const FormatVersion = 1

// A Field is one key of a Config, with a settable view of its value.
type Field struct {
	Key, Flag, Help          string
	Required, NoFlag, Resume bool
	Value                    reflect.Value
}

// Fields lists the keys of cfg (a pointer to a struct, embedded structs flattened) in order.
func Fields(cfg any) []Field {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("model: Fields: %T is not a pointer to a struct", cfg))
	}
	return fields(v.Elem())
}

func fields(v reflect.Value) []Field {
	var out []Field
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			out = append(out, fields(v.Field(i))...)
			continue
		}
		key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if key == "" || key == "-" || !sf.IsExported() {
			continue
		}
		f := Field{Key: key, Flag: strings.ReplaceAll(key, "_", "-"), Help: sf.Tag.Get("help"), Value: v.Field(i)}
		if fl := sf.Tag.Get("flag"); fl != "" {
			f.Flag = fl
		}
		for _, o := range strings.Split(sf.Tag.Get("cfg"), ",") {
			switch o {
			case "required":
				f.Required = true
			case "noflag":
				f.NoFlag = true
			case "resume":
				f.Resume = true
			}
		}
		out = append(out, f)
	}
	return out
}

// decodeObject fills cfg (holding its defaults) from the JSON object obj: a missing key keeps its
// default unless it is required; an unknown key is an error, as is a value of the wrong type.
// Errors name the key; the caller adds the file.
func decodeObject(obj map[string]json.RawMessage, cfg any) error {
	known := map[string]bool{}
	for _, f := range Fields(cfg) {
		known[f.Key] = true
		raw, ok := obj[f.Key]
		if !ok {
			if f.Required {
				return fmt.Errorf("missing required key %q", f.Key)
			}
			continue
		}
		if err := json.Unmarshal(raw, f.Value.Addr().Interface()); err != nil {
			return fmt.Errorf("key %q: %s is not a %s", f.Key, raw, f.Value.Type())
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] {
			return fmt.Errorf("unknown key %q", k)
		}
	}
	return nil
}

// parseObject parses js as one JSON object.
func parseObject(js []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if obj == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return obj, nil
}

// takeHeader removes "model" and "format" from obj, checks them and returns the kind.
func takeHeader(obj map[string]json.RawMessage) (string, error) {
	var kind string
	if raw, ok := obj["model"]; !ok || json.Unmarshal(raw, &kind) != nil || kind == "" {
		return "", fmt.Errorf("no \"model\" key naming the kind of model (one of %s)", strings.Join(Kinds(), ", "))
	}
	version := 0
	if raw, ok := obj["format"]; ok && json.Unmarshal(raw, &version) != nil {
		return "", fmt.Errorf("key \"format\": %s is not a version number", raw)
	}
	if version > FormatVersion {
		return "", fmt.Errorf("format version %d is newer than this drsae reads (%d)", version, FormatVersion)
	}
	delete(obj, "model")
	delete(obj, "format")
	return kind, nil
}

// A Kind is a registered model kind: how to make its config and its module.
type Kind struct {
	Name    string
	Summary string
	// Phases names the phases of training of the kind's modules (Module.Phases).
	Phases []string
	// NewConfig returns a config holding the kind's defaults.
	NewConfig func() Config
	// NewTrain returns the kind's default training schedule.
	NewTrain func() TrainConfig
	// Data is the data the kind trains on by default.
	Data DataSpec
	// New allocates a module for cfg on be with zero parameters (Init or loading sets them).
	New func(be kernels.Backend, cfg Config) (Module, error)
	// Recipes are named starting points other than the defaults (a paper's own schedule): each
	// changes a default config, schedule and data; `drsae train KIND --recipe NAME` starts from
	// it, and the flags given still win.
	Recipes map[string]Recipe
}

// A Recipe is a named change of a kind's defaults.
type Recipe struct {
	Summary string
	Apply   func(cfg Config, tc *TrainConfig, data *DataSpec)
}

var kinds = map[string]*Kind{}

// Register adds a model kind; each kind's package calls it from init. A repeated name panics.
func Register(k Kind) {
	if _, dup := kinds[k.Name]; dup {
		panic("model: Register: kind " + k.Name + " registered twice")
	}
	kinds[k.Name] = &k
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupKind returns the registered kind called name.
func LookupKind(name string) (*Kind, error) {
	k, ok := kinds[name]
	if !ok {
		return nil, fmt.Errorf("unknown model kind %q (have %s)", name, strings.Join(Kinds(), ", "))
	}
	return k, nil
}

// NewModule validates cfg and makes a module of its kind.
func NewModule(be kernels.Backend, kind string, cfg Config) (Module, error) {
	k, err := LookupKind(kind)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s config: %w", kind, err)
	}
	return k.New(be, cfg)
}

// configJSON renders a module's config as a flat object: "model", "format", the config's keys,
// then extra keys (e.g. "data").
func configJSON(kind string, cfg Config, extra map[string]any) ([]byte, error) {
	body, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf(`{"model":%q,"format":%d`, kind, FormatVersion)
	if len(body) > 2 {
		head += ","
	}
	js := append([]byte(head), body[1:len(body)-1]...)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := json.Marshal(extra[k])
		if err != nil {
			return nil, err
		}
		js = append(append(js, fmt.Sprintf(",%q:", k)...), v...)
	}
	js = append(js, '}')
	var out bytes.Buffer
	if err := json.Indent(&out, js, "", "  "); err != nil {
		return nil, err
	}
	return append(out.Bytes(), '\n'), nil
}

// decodeConfig reads a flat config object (as configJSON writes it): it returns the kind, the
// config with defaults for missing optional keys, and the raw extra keys named in extra.
func decodeConfig(obj map[string]json.RawMessage, extra ...string) (string, Config, map[string]json.RawMessage, error) {
	kind, err := takeHeader(obj)
	if err != nil {
		return "", nil, nil, err
	}
	k, err := LookupKind(kind)
	if err != nil {
		return "", nil, nil, err
	}
	rest := map[string]json.RawMessage{}
	for _, e := range extra {
		if raw, ok := obj[e]; ok {
			rest[e] = raw
			delete(obj, e)
		}
	}
	cfg := k.NewConfig()
	if err := decodeObject(obj, cfg); err != nil {
		return "", nil, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return "", nil, nil, err
	}
	return kind, cfg, rest, nil
}

// Size limits of every kind's config, checked by its Validate before anything is allocated, so
// that a config file or a flag cannot make the program allocate without bound. Beyond them, the
// tensors of a backend are capped by kernels.MemoryEnv (DRSAE_MAX_MEMORY).
const (
	MaxInputs = 1 << 24 // features of a sample: a 4096×4096 image
	MaxUnits  = 1 << 20 // units of a code (a topographic map's cells)
	MaxT      = 10000   // steps of an unrolled encoder
)

// CheckSizes checks a config's inputs, units and T (0: the kind has none) against the limits.
func CheckSizes(inputs, units, T int) error {
	switch {
	case inputs > MaxInputs:
		return SizeError("inputs", inputs, MaxInputs)
	case units > MaxUnits:
		return SizeError("units", units, MaxUnits)
	case T > MaxT:
		return SizeError("T", T, MaxT)
	}
	return nil
}

// SizeError reports a config key beyond its limit.
func SizeError(key string, v, limit int) error {
	return fmt.Errorf("%s = %d, beyond drsae's limit of %d", key, v, limit)
}
