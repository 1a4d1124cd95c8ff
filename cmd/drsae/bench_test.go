package main

import (
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/drsae/drsae/bench"
	"github.com/drsae/drsae/kernels"
)

// TestBenchCommand: drsae bench --quick on one small case on cpu (mustRun adds --backend cpu)
// prints the table and writes it as a markdown table that parses back, and as a PNG that decodes.
func TestBenchCommand(t *testing.T) {
	dir := t.TempDir()
	md, pic := filepath.Join(dir, "bench.md"), filepath.Join(dir, "bench.png")
	out := mustRun(t, "bench", "--quick", "--run", "^Shrink/256x400$", "--quiet", "--markdown", md, "--png", pic)
	expect(t, "bench", out, "Machine: ", "cpu: ", "Shrink/256x400", "GB/s", "wrote "+md, "wrote "+pic)

	text, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "bench markdown", string(text), "Machine: ", "Command: `drsae bench --quick --run '^Shrink/256x400$' --quiet --markdown "+md)
	var table [][]string
	for _, l := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(l, "|") && strings.HasSuffix(l, "|") {
			table = append(table, strings.Split(strings.Trim(l, "|"), "|"))
		}
	}
	if len(table) != 3 {
		t.Fatalf("markdown has %d table lines, want header, alignment and one row:\n%s", len(table), text)
	}
	if h := strings.TrimSpace(table[0][1]); len(table[0]) != 2 || strings.TrimSpace(table[0][0]) != "case" || !strings.HasPrefix(h, "cpu: ") {
		t.Errorf("header %q: want case and one cpu column", table[0])
	}
	row := table[2]
	fields := strings.Fields(row[len(row)-1])
	if strings.TrimSpace(row[0]) != "Shrink/256x400" || len(fields) != 2 || fields[1] != "GB/s" {
		t.Fatalf("row %q: want Shrink/256x400 and a rate in GB/s", row)
	}
	if v, err := strconv.ParseFloat(strings.ReplaceAll(fields[0], ",", ""), 64); err != nil || v <= 0 {
		t.Errorf("rate %q: want a number > 0", fields[0])
	}

	f, err := os.Open(pic)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", pic, err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 50 {
		t.Errorf("chart is %v", b)
	}
}

// TestBenchFlags: bad values stop drsae bench before it measures anything, with one line
// naming the flag.
func TestBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--benchtime", "fast"}, 2, `--benchtime "fast": want a duration`},
		{[]string{"--benchtime", "0x"}, 2, `--benchtime "0x"`},
		{[]string{"--run", "("}, 2, `--run "(": error parsing regexp`},
		{[]string{"--run", "NoSuchCase"}, 2, `--run "NoSuchCase" matches no case`},
		{[]string{"--quick", "--run", "^FISTA"}, 2, `matches none of --quick's cases`},
		{[]string{"--backend", "tpu"}, 2, `--backend "tpu": no backend "tpu" (have `},
		{[]string{"--backend", ","}, 2, `--backend ",": name at least one backend`},
		{[]string{"--markdown", "/nonexistent/b.md"}, 2, "--markdown /nonexistent/b.md: no folder /nonexistent"},
		{[]string{"--quick", "--bogus"}, 2, "flag provided but not defined: -bogus"},
	} {
		code, _, errs := drsaeRun(t, append([]string{"bench"}, tc.args...)...)
		first, _, _ := strings.Cut(errs, "\n")
		if code != tc.code || !strings.Contains(first, tc.want) {
			t.Errorf("drsae bench %q: exit %d, stderr %q; want exit %d and %q on the first line", tc.args, code, errs, tc.code, tc.want)
		}
		if strings.Contains(errs, "goroutine ") || strings.Contains(errs, "drsae bench: 1/") {
			t.Errorf("drsae bench %q: a stack trace or a run: %q", tc.args, errs)
		}
	}
	// A backend that cannot open is skipped in one line, unless it was asked for.
	t.Setenv("DRSAE_GL", "none")
	code, out, errs := drsaeRun(t, "bench", "--quick", "--benchtime", "1x", "--run", "^Shrink/256x400$", "--quiet")
	if code != 0 || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "drsae bench: skipping backend gpu: no OpenGL context") {
		t.Errorf("without --backend and without gpu: exit %d, stderr %q; want 0 and one line skipping gpu", code, errs)
	}
	expect(t, "bench without gpu", out, "Shrink/256x400")
	code, _, errs = drsaeRun(t, "bench", "--quick", "--backend", "cpu,gpu", "--run", "^Shrink/256x400$", "--quiet")
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "drsae bench: backend gpu: no OpenGL context") {
		t.Errorf("--backend cpu,gpu without gpu: exit %d, stderr %q; want 1 and one line", code, errs)
	}

	_, out, _ = drsaeRun(t, "bench", "--list", "--run", "^Gemm/")
	expect(t, "bench --list", out, "Gemm/1024  GFLOP/s\n", "Gemm/256  GFLOP/s  (--quick)\n")
}

// TestBenchTable: a column per backend under its device, the ratio to cpu, and a dash with a
// footnote where a backend has no figure.
func TestBenchTable(t *testing.T) {
	infos := []kernels.Info{{Name: "cpu", Device: "EPYC", Threads: 2}, {Name: "gpu", Device: "H200 | PCIe", Software: false}}
	rows := []bench.Row{
		{Case: bench.Case{Name: "Gemm/1024", Unit: "GFLOP/s"}, Measures: []bench.Measure{{Value: 288.4}, {Value: 9159}}},
		{Case: bench.Case{Name: "Shrink/16x400", Unit: "GB/s"}, Measures: []bench.Measure{{Value: 1.457}, {Err: "no such size"}}},
	}
	tb := benchTable(rows, infos)
	if want := []string{"case", "cpu: EPYC (2 threads)", "gpu: H200 | PCIe", "gpu/cpu"}; !slices.Equal(tb.header, want) {
		t.Errorf("header %q, want %q", tb.header, want)
	}
	if want := [][]string{{"Gemm/1024", "288 GFLOP/s", "9,160 GFLOP/s", "31.8×"}, {"Shrink/16x400", "1.46 GB/s", "—", "—"}}; !reflect.DeepEqual(tb.lines, want) {
		t.Errorf("lines %q, want %q", tb.lines, want)
	}
	if want := []string{"Shrink/16x400 on gpu: no such size"}; !slices.Equal(tb.failures, want) {
		t.Errorf("failures %q, want %q", tb.failures, want)
	}
	var md strings.Builder
	writeMarkdown(&md, tb)
	expect(t, "markdown", md.String(), "| case | cpu: EPYC (2 threads) | gpu: H200 \\| PCIe | gpu/cpu |\n|---|--:|--:|--:|\n")
	for x, want := range map[float64]string{0.04561: "0.0456", 1.0: "1.00", 12.34: "12.3", 999.4: "999", 37412: "37,400", 1234567: "1,230,000"} {
		if got := threeDigits(x); got != want {
			t.Errorf("threeDigits(%g) = %q, want %q", x, got, want)
		}
	}
}
