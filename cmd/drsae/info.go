package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/drsae/drsae/kernels"
)

func init() {
	addCommand(&command{name: "info", summary: "list the backends and their devices", run: runInfo})
}

// openBackend opens a backend by flag value (auto|cpu|gpu) and wraps the error with what to do.
func openBackend(name string) (kernels.Backend, error) {
	b, err := kernels.Open(name)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %v", name, err)
	}
	return b, nil
}

// backendFlag adds the common --backend flag.
func backendFlag(fs *flag.FlagSet) *string {
	return fs.String("backend", "auto", "compute backend: auto (GPU if a context can be made, else CPU), cpu or gpu")
}

func runInfo(args []string) error {
	fs := newFlags("info", "", "List the compute backends compiled in, whether each opens, and its device.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, name := range kernels.Names() {
		b, err := kernels.Open(name)
		if err != nil {
			fmt.Fprintf(stdout, "%s: unavailable\n  %s\n", name, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			continue
		}
		printInfo(b.Info())
		if err := b.Close(); err != nil {
			fmt.Fprintf(stdout, "  close: %v\n", err)
		}
	}
	return nil
}

func printInfo(in kernels.Info) {
	fmt.Fprintf(stdout, "%s: %s\n", in.Name, in.Device)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(stdout, "  %-24s %s\n", k, v)
		}
	}
	row("vendor", in.Vendor)
	row("version", in.Version)
	if in.Software {
		row("note", "software rasterizer: correct but slower than the cpu backend; --backend auto passes it over")
	}
	if in.Threads > 0 {
		row("threads", fmt.Sprint(in.Threads))
	}
	if in.MaxBytes > 0 {
		row("largest tensor", fmt.Sprintf("%d MiB", in.MaxBytes>>20))
	}
	if in.MaxWorkGroupInvocations > 0 {
		row("work-group count", fmt.Sprint(in.MaxWorkGroupCount))
		row("work-group size", fmt.Sprint(in.MaxWorkGroupSize))
		row("invocations", fmt.Sprint(in.MaxWorkGroupInvocations))
		row("shared memory", fmt.Sprintf("%d KiB", in.MaxSharedBytes>>10))
	}
	keys := make([]string, 0, len(in.Extra))
	for k := range in.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row(k, in.Extra[k])
	}
}
