package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drsae/drsae/bench"
	"github.com/drsae/drsae/internal/atomicfile"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/viz"
)

func init() {
	addCommand(&command{name: "bench", args: "[flags]", summary: "time every kernel and model step on each backend", run: runBench})
}

const benchHelp = `Time every kernel and model step (the go test -bench ladders of package bench, the same
cases under the same names) on each backend, and print one table: a row per case, each backend's
rate in the case's unit, and the ratio of each other backend to cpu. Cases are named as go test
names them, less the backend: Gemm/1024, DrSAEStep/B256-784-400-T11 (--list prints them).`

func runBench(args []string) error {
	fs := newFlags("bench", "[flags]", benchHelp)
	backends := fs.String("backend", "", "`LIST` of backends to compare, comma-separated, e.g. cpu,gpu (default: every one compiled in; one that cannot open is skipped)")
	runExpr := fs.String("run", "", "only the cases whose name matches the regular expression `REGEXP`, e.g. 'Gemm/1024|DrSAEStep'")
	quick := fs.Bool("quick", false, "only the small cases, "+bench.QuickBenchtime+" each: about 30 s on cpu and a software GPU")
	benchtime := fs.String("benchtime", "", "time `D` per case and backend, as go test -benchtime: 1s, 100ms, or 20x calls (default 1s; "+bench.QuickBenchtime+" with --quick)")
	mdPath := fs.String("markdown", "", "also write the table as GitHub markdown to `FILE`, with the machine and the command")
	pngPath := fs.String("png", "", "also draw the table as a bar chart into `FILE` (PNG)")
	list := fs.Bool("list", false, "list the cases (those of --quick marked) and exit")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var match func(string) bool
	if *runExpr != "" {
		re, err := regexp.Compile(*runExpr)
		if err != nil {
			return usagef("--run %q: %v", *runExpr, err)
		}
		match = re.MatchString
	}
	if *list {
		for _, c := range bench.Select(match, false) {
			mark := ""
			if c.Quick {
				mark = "  (--quick)"
			}
			fmt.Fprintf(stdout, "%s  %s%s\n", c.Name, c.Unit, mark)
		}
		return nil
	}
	if err := bench.CheckBenchtime(*benchtime); err != nil {
		return usagef("--%v", err)
	}
	if *benchtime == "" && *quick {
		*benchtime = bench.QuickBenchtime
	}
	cases := bench.Select(match, *quick)
	if len(cases) == 0 {
		what := "no case"
		if *quick {
			what = "none of --quick's cases"
		}
		return usagef("--run %q matches %s (drsae bench --list names them)", *runExpr, what)
	}
	for _, p := range []struct{ flag, path string }{{"markdown", *mdPath}, {"png", *pngPath}} {
		if p.path == "" {
			continue
		}
		// Fail before a long run, not after it.
		if fi, err := os.Stat(filepath.Dir(p.path)); err != nil || !fi.IsDir() {
			return usagef("--%s %s: no folder %s", p.flag, p.path, filepath.Dir(p.path))
		}
	}
	bes, err := openBenchBackends(*backends)
	if err != nil {
		return err
	}
	defer func() {
		for _, be := range bes {
			be.Close()
		}
	}()
	infos := make([]kernels.Info, len(bes))
	for i, be := range bes {
		infos[i] = be.Info()
	}
	opt := bench.Options{Backends: bes, Cases: cases, Benchtime: *benchtime}
	if !*quiet {
		opt.Progress = func(i, n int, c bench.Case) { fmt.Fprintf(stderr, "drsae bench: %d/%d %s\n", i+1, n, c.Name) }
	}
	start := time.Now()
	rows, err := bench.Run(opt)
	if err != nil {
		return err
	}
	t := benchTable(rows, infos)
	how := fmt.Sprintf("Command: `%s` (benchtime %s per case and backend), %s, %s.", commandLine(args), orDefault(*benchtime, "1s"),
		start.Format("2006-01-02"), time.Since(start).Round(time.Second))
	fmt.Fprintln(stdout, machineLine(infos))
	fmt.Fprintln(stdout)
	printTable(stdout, t)
	printFailures(stdout, t, "")
	return saveBench(*mdPath, *pngPath, rows, t, infos, how)
}

// saveBench writes the --markdown and --png files, where asked for.
func saveBench(mdPath, pngPath string, rows []bench.Row, t table, infos []kernels.Info, how string) error {
	if mdPath != "" {
		err := atomicfile.Write(mdPath, func(w io.Writer) error {
			fmt.Fprintf(w, "%s\n\n%s\n\n", machineLine(infos), how)
			writeMarkdown(w, t)
			printFailures(w, t, "- ")
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", mdPath)
	}
	if pngPath != "" {
		img, err := bench.Chart(rows, t.header[1:1+len(infos)])
		if err != nil {
			return err
		}
		if err := viz.SavePNG(pngPath, img); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", pngPath)
	}
	return nil
}

// openBenchBackends opens the --backend list, cpu first. Without the flag it takes every backend
// compiled in and skips, in one line each, those that cannot open; a backend named on the command
// line that cannot open is an error.
func openBenchBackends(list string) ([]kernels.Backend, error) {
	names, explicit := kernels.Names(), list != ""
	if explicit {
		names = nil
		for _, n := range strings.Split(list, ",") {
			n = strings.TrimSpace(n)
			if n != "" && n != "auto" && !slices.Contains(kernels.Names(), n) {
				return nil, usagef("--backend %q: no backend %q (have %s)", list, n, strings.Join(kernels.Names(), ", "))
			}
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, usagef("--backend %q: name at least one backend (have %s)", list, strings.Join(kernels.Names(), ", "))
		}
	} else if i := slices.Index(names, "cpu"); i > 0 {
		names = append([]string{"cpu"}, slices.Delete(names, i, i+1)...)
	}
	var bes []kernels.Backend
	for _, n := range names {
		be, err := kernels.Open(n)
		if err != nil {
			msg := strings.TrimPrefix(strings.Join(strings.Fields(err.Error()), " "), n+": ")
			if explicit {
				for _, b := range bes {
					b.Close()
				}
				return nil, fmt.Errorf("backend %s: %s", n, msg)
			}
			fmt.Fprintf(stderr, "drsae bench: skipping backend %s: %s\n", n, msg)
			continue
		}
		bes = append(bes, be)
	}
	if len(bes) == 0 {
		return nil, fmt.Errorf("no backend could be opened")
	}
	return bes, nil
}

// A table is the rows as text: header, then a line per case; failures are the reasons for the
// empty cells, as "case on backend: why".
type table struct {
	header   []string
	lines    [][]string
	failures []string
}

// benchTable formats the rows: a column per backend headed by its device, then, where cpu is one
// of them, a ratio column per other backend.
func benchTable(rows []bench.Row, infos []kernels.Info) table {
	ref := slices.IndexFunc(infos, func(in kernels.Info) bool { return in.Name == "cpu" })
	t := table{header: []string{"case"}}
	for _, in := range infos {
		t.header = append(t.header, deviceLabel(in))
	}
	for j, in := range infos {
		if ref >= 0 && j != ref {
			t.header = append(t.header, in.Name+"/cpu")
		}
	}
	for _, r := range rows {
		line := []string{r.Case.Name}
		for j, m := range r.Measures {
			if m.Err != "" {
				line = append(line, "—")
				t.failures = append(t.failures, fmt.Sprintf("%s on %s: %s", r.Case.Name, infos[j].Name, m.Err))
				continue
			}
			line = append(line, threeDigits(m.Value)+" "+r.Case.Unit)
		}
		for j, m := range r.Measures {
			if ref < 0 || j == ref {
				continue
			}
			if c := r.Measures[ref]; m.Err != "" || c.Err != "" || c.Value == 0 {
				line = append(line, "—")
			} else {
				line = append(line, threeDigits(m.Value/c.Value)+"×")
			}
		}
		t.lines = append(t.lines, line)
	}
	return t
}

func printTable(w io.Writer, t table) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range append([][]string{t.header}, t.lines...) {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	tw.Flush()
}

func writeMarkdown(w io.Writer, t table) {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	row := func(l []string) {
		cells := make([]string, len(l))
		for i, s := range l {
			cells[i] = cell(s)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	row(t.header)
	align := make([]string, len(t.header))
	for i := range align {
		align[i] = "--:"
	}
	align[0] = "---"
	fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
	for _, l := range t.lines {
		row(l)
	}
}

func printFailures(w io.Writer, t table, bullet string) {
	if len(t.failures) == 0 {
		return
	}
	fmt.Fprintf(w, "\nNo figure (—):\n")
	for _, f := range t.failures {
		fmt.Fprintf(w, "%s%s\n", bullet, f)
	}
}

// deviceLabel names a backend and its device for a column header: "gpu: llvmpipe (…)".
func deviceLabel(in kernels.Info) string {
	s := in.Name + ": " + in.Device
	if in.Threads > 0 && !strings.Contains(in.Device, "thread") {
		s += fmt.Sprintf(" (%d threads)", in.Threads)
	}
	return s
}

// machineLine describes the machine and each backend as drsae info does, on one line.
func machineLine(infos []kernels.Info) string {
	parts := []string{fmt.Sprintf("Machine: %s/%s, %d logical CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" && dirty {
			rev += " with local changes"
		}
		if rev != "" {
			parts[0] += ", commit " + rev
		}
	}
	for _, in := range infos {
		d := []string{deviceLabel(in)}
		for _, v := range []string{in.Vendor, in.Version, in.Extra["context"], in.Extra["features"], in.Extra["gemm"]} {
			if v != "" && !slices.Contains(d, v) {
				d = append(d, v)
			}
		}
		if in.Software {
			d = append(d, "software rasterizer")
		}
		parts = append(parts, strings.Join(d, ", "))
	}
	return strings.Join(parts, ". ") + "."
}

// threeDigits writes x to three significant digits, thousands separated: 9,160, 12.3, 0.0456.
func threeDigits(x float64) string {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	e := int(math.Floor(math.Log10(math.Abs(x))))
	if e < 2 {
		return strconv.FormatFloat(x, 'f', 2-e, 64)
	}
	p := math.Pow(10, float64(e-2))
	s := strconv.FormatInt(int64(math.Round(x/p)*p), 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// commandLine is the command as a shell would take it back.
func commandLine(args []string) string {
	words := []string{"drsae", "bench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`|&;()<>*?[]{}~#!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
