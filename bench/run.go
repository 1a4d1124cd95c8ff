package bench

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drsae/drsae/kernels"
)

// QuickBenchtime is the time per case of drsae bench --quick: with the Quick cases, about 30 s
// on cpu and gpu (Mesa llvmpipe) on a 2-core machine.
const QuickBenchtime = "100ms"

// Options say what Run measures.
type Options struct {
	Backends []kernels.Backend // the columns, in order
	Cases    []Case            // the rows, from Select
	// Benchtime is go test's -benchtime: a duration ("1s", "100ms") or a count of calls ("10x")
	// per case and backend, after the first call; "" is 1s.
	Benchtime string
	// Progress, if set, is called before each case is measured: i of n.
	Progress func(i, n int, c Case)
}

// A Measure is one case on one backend.
type Measure struct {
	Value   float64 // the rate, in the case's Unit; 0 where Err is set
	N       int     // calls timed
	NsPerOp int64
	Err     string // why there is no Value: the benchmark's error, a panic, "skipped"
}

// A Row is one case on each backend, in the order of Options.Backends.
type Row struct {
	Case     Case
	Measures []Measure
}

// CheckBenchtime reports whether s is a valid Benchtime.
func CheckBenchtime(s string) error {
	if s == "" {
		return nil
	}
	if n, ok := strings.CutSuffix(s, "x"); ok {
		if k, err := strconv.Atoi(n); err != nil || k < 1 {
			return fmt.Errorf("benchtime %q: want a duration such as 1s or 100ms, or a count of calls such as 10x", s)
		}
		return nil
	}
	if d, err := time.ParseDuration(s); err != nil || d <= 0 {
		return fmt.Errorf("benchtime %q: want a duration such as 1s or 100ms, or a count of calls such as 10x", s)
	}
	return nil
}

// Run measures every case on every backend through testing.Benchmark, case by case (so that the
// backends of one row see the same load on the machine), and returns one row per case. A case
// that fails or panics on a backend has that Measure's Err set; the others still run.
func Run(opt Options) ([]Row, error) {
	if err := CheckBenchtime(opt.Benchtime); err != nil {
		return nil, err
	}
	restore, err := setBenchtime(opt.Benchtime)
	if err != nil {
		return nil, err
	}
	defer restore()
	rows := make([]Row, 0, len(opt.Cases))
	for i, c := range opt.Cases {
		if opt.Progress != nil {
			opt.Progress(i, len(opt.Cases), c)
		}
		row := Row{Case: c, Measures: make([]Measure, len(opt.Backends))}
		for j, be := range opt.Backends {
			row.Measures[j] = measure(c, be)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// setBenchtime sets the testing package's -test.benchtime, which testing.Benchmark reads, and
// returns a function that puts back the old value. testing.Init registers the flag outside go
// test; inside, it is already there.
func setBenchtime(s string) (restore func(), err error) {
	if s == "" {
		s = "1s"
	}
	testing.Init()
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return nil, fmt.Errorf("bench: the testing package has no test.benchtime flag")
	}
	old := f.Value.String()
	if err := f.Value.Set(s); err != nil {
		return nil, fmt.Errorf("benchtime %q: %v", s, err)
	}
	return func() { f.Value.Set(old) }, nil
}

// measure runs one case on one backend.
func measure(c Case, be kernels.Backend) Measure {
	var last *testing.B
	r := testing.Benchmark(func(b *testing.B) {
		last = b
		defer func() {
			// A panic is a bug in a kernel or a model; keep it to this cell of the table.
			if p := recover(); p != nil {
				failures.Store(b, fmt.Sprintf("panic: %v", p))
				b.FailNow()
			}
		}()
		c.Run(b, be)
	})
	if last == nil {
		return Measure{Err: "did not run"}
	}
	msg, _ := failures.LoadAndDelete(last)
	switch {
	case last.Failed():
		if msg == nil {
			msg = "failed"
		}
		return Measure{Err: oneLine(msg.(string))}
	case last.Skipped() || r.N == 0:
		return Measure{Err: "skipped"}
	}
	v, ok := r.Extra[c.Unit]
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return Measure{Err: fmt.Sprintf("reported no %s", c.Unit)}
	}
	return Measure{Value: v, N: r.N, NsPerOp: r.NsPerOp()}
}

// oneLine keeps a message to its first line, so that a table cell or a footnote stays one
// line (GL compile errors carry the whole build log).
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
