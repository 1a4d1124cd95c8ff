package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// A modelKind is one family of models: how to train it and how to use a saved one.
// Each function parses its own flags; encode, eval and show get the full argument list,
// including --model. A nil function means the kind does not support that command.
type modelKind struct {
	name, summary      string
	train              func(args []string) error
	encode, eval, show func(args []string) error
}

var kinds = map[string]*modelKind{}

func addKind(k *modelKind) { kinds[k.name] = k }

func kindNames() string {
	var names []string
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func init() {
	addCommand(&command{name: "train", args: "KIND [flags]", summary: "train a model: " + "drsae train -h lists the kinds", run: runTrain})
	addCommand(&command{name: "encode", args: "--model FILE [flags]", summary: "write the codes of a data set", run: func(a []string) error { return runOnModel("encode", a) }})
	addCommand(&command{name: "eval", args: "--model FILE [flags]", summary: "evaluate a saved model", run: func(a []string) error { return runOnModel("eval", a) }})
	addCommand(&command{name: "show", args: "--model FILE [flags]", summary: "draw a saved model's filters as PNG", run: func(a []string) error { return runOnModel("show", a) }})
}

func runTrain(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintln(stderr, "usage: drsae train KIND [flags]\n\nkinds:")
		var names []string
		for n := range kinds {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if kinds[n].train != nil {
				fmt.Fprintf(stderr, "  %-10s %s\n", n, kinds[n].summary)
			}
		}
		if len(args) == 0 {
			return usagef("missing KIND")
		}
		return nil
	}
	k, ok := kinds[args[0]]
	if !ok || k.train == nil {
		return usagef("unknown model kind %q (have %s)", args[0], kindNames())
	}
	return k.train(args[1:])
}

// runOnModel reads the kind of the saved model named by --model and hands the arguments to it.
func runOnModel(cmd string, args []string) error {
	path := ""
	for i, a := range args {
		switch {
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprintf(stderr, "usage: drsae %s --model FILE [flags]\n\nthe flags depend on the model's kind (%s); run 'drsae %s --model FILE -h'\n", cmd, kindNames(), cmd)
			if path == "" {
				return nil
			}
		case a == "--model" || a == "-model":
			if i+1 < len(args) {
				path = args[i+1]
			}
		case strings.HasPrefix(a, "--model=") || strings.HasPrefix(a, "-model="):
			path = a[strings.Index(a, "=")+1:]
		}
	}
	if path == "" {
		return usagef("--model FILE is required")
	}
	kind, err := savedKind(path)
	if err != nil {
		return err
	}
	k, ok := kinds[kind]
	var f func([]string) error
	if ok {
		f = map[string]func([]string) error{"encode": k.encode, "eval": k.eval, "show": k.show}[cmd]
	}
	if f == nil {
		return fmt.Errorf("%s: a %q model does not support %s", path, kind, cmd)
	}
	return f(args)
}

// configPath returns the JSON config that sits beside a saved model: model.safetensors ↔ model.json.
func configPath(model string) string {
	return strings.TrimSuffix(strings.TrimSuffix(model, ".json"), ".safetensors") + ".json"
}

// savedKind reads the "model" key of a saved model's JSON config.
func savedKind(model string) (string, error) {
	cfg := configPath(model)
	data, err := os.ReadFile(cfg)
	if err != nil {
		return "", fmt.Errorf("model config: %w", err)
	}
	var head struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", fmt.Errorf("model config %s: not valid JSON: %v", cfg, err)
	}
	if head.Model == "" {
		return "", fmt.Errorf("model config %s: no \"model\" key saying which kind of model it is", cfg)
	}
	return head.Model, nil
}
