package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/drsae/drsae/model"
)

var updateKeys = flag.Bool("update", false, "rewrite docs/config.md from the registered kinds")

// TestConfigKeysDoc: docs/config.md, the one list of every key of every kind's config, of the
// training schedule and of the data, is what the code registers (go test ./cmd/drsae -run
// ConfigKeys -update rewrites it).
func TestConfigKeysDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString(`# Config keys

Every key of a saved model's JSON config (` + "`NAME.json`" + `), of a checkpoint's schedule and of the
data it records, with its command-line flag and default. This page is generated from the code by
` + "`go test ./cmd/drsae -run ConfigKeys -update`" + `, and a test keeps it so.

A config file is ` + "`" + `{"model": KIND, "format": 1, keys…, "data": {…}}` + "`" + `. On load, a missing
key takes the default below, except the required ones; a missing required key, an unknown key,
a value of the wrong type or out of range is one error naming the key and the file. A key
without a flag comes from the data (inputs, image shape, classes) or from training.
`)
	table := func(title string, cfg any) {
		fmt.Fprintf(&b, "\n## %s\n\n| key | flag | default | meaning |\n|---|---|---|---|\n", title)
		for _, f := range model.Fields(cfg) {
			fl := "--" + f.Flag
			if f.NoFlag {
				fl = "–"
			}
			def := fmt.Sprintf("`%s`", fieldValue{f.Value})
			if f.Required {
				def = "required"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Key, fl, def, strings.ReplaceAll(f.Help, "|", "\\|"))
		}
	}
	for _, name := range model.Kinds() {
		k, _ := model.LookupKind(name)
		table(fmt.Sprintf("Kind `%s` — %s", name, k.Summary), k.NewConfig())
	}
	tc := model.DefaultTrainConfig()
	table("The training schedule (every kind; each kind has its own defaults: `drsae train KIND -h`)", &tc)
	var spec model.DataSpec
	table("The data (the `data` key; defaults per kind)", &spec)
	got := b.String()
	const path = "../../docs/config.md"
	if *updateKeys {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		t.Errorf("%s is not what the code registers (%v); run go test ./cmd/drsae -run ConfigKeys -update", path, err)
	}
}
