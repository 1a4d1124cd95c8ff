package main

import (
	"flag"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/drsae/drsae/model"
)

// A fieldValue is a flag.Value that sets one key of a config (model.Field) in place.
type fieldValue struct{ v reflect.Value }

func (f fieldValue) String() string {
	if !f.v.IsValid() {
		return ""
	}
	if f.v.Kind() == reflect.Float64 {
		return strconv.FormatFloat(f.v.Float(), 'g', -1, 64)
	}
	return fmt.Sprint(f.v.Interface())
}

func (f fieldValue) IsBoolFlag() bool { return f.v.IsValid() && f.v.Kind() == reflect.Bool }

func (f fieldValue) Set(s string) error {
	switch f.v.Kind() {
	case reflect.String:
		f.v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		f.v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number")
		}
		f.v.SetInt(n)
	case reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number ≥ 0")
		}
		f.v.SetUint(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want a number")
		}
		f.v.SetFloat(x)
	default:
		return fmt.Errorf("a key of type %s has no flag", f.v.Type())
	}
	return nil
}

// configFlags declares a flag for every key of each config (pointers to structs) that has one,
// defaulting to the value it holds, and returns the keys by flag name. skip leaves keys out; a
// nil fs declares nothing.
func configFlags(fs *flag.FlagSet, skip func(model.Field) bool, cfgs ...any) map[string]model.Field {
	out := map[string]model.Field{}
	for _, cfg := range cfgs {
		for _, f := range model.Fields(cfg) {
			if f.NoFlag || (skip != nil && skip(f)) {
				continue
			}
			if fs != nil {
				fs.Var(fieldValue{f.Value}, f.Flag, f.Help)
			}
			out[f.Flag] = f
		}
	}
	return out
}

// setFlags returns the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// flagError turns an error of a config's Validate, which names a key ("units = 0, want > 0"),
// into a usage error naming its flag ("--units 0, want > 0").
func flagError(err error, keys map[string]model.Field) error {
	msg := err.Error()
	for name, f := range keys {
		if rest, ok := strings.CutPrefix(msg, f.Key+" = "); ok {
			return usagef("--%s %s", name, rest)
		}
	}
	return usageError{msg: msg}
}

// copyField sets the key f of cfg to the value of f (a field of another value of the same type).
func copyField(cfg any, f model.Field) {
	for _, g := range model.Fields(cfg) {
		if g.Key == f.Key {
			g.Value.Set(f.Value)
		}
	}
}

// valueOf returns the value of key in cfg.
func valueOf(cfg any, key string) (reflect.Value, bool) {
	for _, f := range model.Fields(cfg) {
		if f.Key == key {
			return f.Value, true
		}
	}
	return reflect.Value{}, false
}
