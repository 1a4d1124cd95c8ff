package kerneltest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// Run runs the whole conformance suite on b, one subtest per op family. The caller keeps b
// (Run does not Close it). With -short, only the largest case of each family is dropped.
func Run(t *testing.T, b kernels.Backend) {
	info := b.Info()
	t.Logf("backend %q on %q (version %q, vendor %q)", info.Name, info.Device, info.Version, info.Vendor)
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			f.run(&suite{t: t, b: b, family: f.name})
		})
	}
}

var families = []struct {
	name string
	run  func(*suite)
}{
	{"Memory", testMemory},
	{"Gemm", testGemm},
	{"Elementwise", testElementwise},
	{"Layout", testLayout},
	{"Shrink", testShrink},
	{"Recurrence", testRecurrence},
	{"Groups", testGroups},
	{"Conv", testConv},
	{"Local", testLocal},
	{"Pool", testPool},
	{"Reduce", testReduce},
	{"Classify", testClassify},
	{"Misuse", testMisuse},
}

// eps32 is the spacing of float32 numbers at 1 (2⁻²³); every tolerance below is a multiple of it.
const eps32 = 0x1p-23

// sumTol is the relative tolerance, against Σ|terms|, of a float32 sum of n products: a few
// roundings per term plus the growth of the summation error, which for any reasonable order
// (sequential, blocked, tree, with or without FMA) stays well below eps·√n relative to Σ|terms|
// when the terms have mixed signs. Measured against Σ|terms| rather than |result| so that
// cancellation does not make the test flaky, and against √n so that a backend that drops or
// doubles a single term of a long sum still fails by orders of magnitude.
func sumTol(n int) float64 { return eps32 * (8 + 2*math.Sqrt(float64(n))) }

// Sentinels. Outputs the op must overwrite are filled with sentinelNaN first; guard tensors
// allocated just before and after every output are filled with guardValue and must come back
// unchanged. Both are compared bit for bit.
var (
	sentinelNaN = math.Float32frombits(0x7fc0bad1) // a quiet NaN with a payload arithmetic does not make
	guardValue  = math.Float32frombits(0xc7a5a5a5) // −84811.29, an unremarkable finite number
)

// tol is an elementwise tolerance: |got − want| ≤ atol + rtol·scale, where scale is |want| or,
// for sums and products, the same computation on absolute values (Σ|terms|).
type tol struct{ atol, rtol float64 }

// suite runs the cases of one op family.
type suite struct {
	t      *testing.T
	b      kernels.Backend
	family string
}

// run runs one case as a subtest with its own seeded generator. big cases — the largest size of
// a family, or the variants past the first of a long case — are skipped with -short. An
// unexpected panic fails the case, not the binary.
func (s *suite) run(name string, big bool, f func(c *tc)) {
	s.t.Run(name, func(t *testing.T) {
		if big && testing.Short() {
			t.Skip("a large or long case: skipped with -short")
		}
		c := newCase(t, s.b, s.family+"/"+name)
		defer c.free()
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: unexpected panic: %v\n%s", c.name, r, debug.Stack())
			}
		}()
		f(c)
	})
}

// tc is one test case: it owns the tensors it allocates, remembers its inputs (checked unchanged
// after every op) and the guards around its outputs.
type tc struct {
	t      *testing.T
	b      kernels.Backend
	rng    *rand.Rand
	name   string
	ins    []hostCopy
	guards []hostCopy
	owned  []kernels.Tensor
	pools  []kernels.Pools
}

type hostCopy struct {
	name string
	t    kernels.Tensor
	data []float32
}

func newCase(t *testing.T, b kernels.Backend, name string) *tc {
	h := fnv.New64a()
	h.Write([]byte(name))
	return &tc{t: t, b: b, rng: rand.New(rand.NewPCG(h.Sum64(), 0x5eed)), name: name}
}

// scope returns a case that shares c's test, backend and generator but owns its own tensors;
// used by finite differences, which run an op many times. Free it when done.
func (c *tc) scope() *tc {
	return &tc{t: c.t, b: c.b, rng: c.rng, name: c.name}
}

func (c *tc) free() {
	for _, t := range c.owned {
		c.b.Free(t)
	}
	for _, p := range c.pools {
		c.b.FreePools(p)
	}
	c.owned, c.pools, c.ins, c.guards = nil, nil, nil, nil
}

func (c *tc) alloc(shape ...int) kernels.Tensor {
	c.t.Helper()
	t, err := c.b.New(shape...)
	if err != nil {
		c.t.Fatalf("%s: New%v: %v", c.name, shape, err)
	}
	c.owned = append(c.owned, t)
	return t
}

func (c *tc) newPools(l *kernels.PoolLayout) kernels.Pools {
	c.t.Helper()
	p, err := c.b.NewPools(l)
	if err != nil {
		c.t.Fatalf("%s: NewPools: %v", c.name, err)
	}
	c.pools = append(c.pools, p)
	return p
}

// in uploads an input; settle checks after every op that it is unchanged.
func (c *tc) in(name string, data []float32, shape ...int) kernels.Tensor {
	c.t.Helper()
	t := c.alloc(shape...)
	c.b.Upload(t, data)
	c.ins = append(c.ins, hostCopy{name, t, slices.Clone(data)})
	return t
}

// out allocates an output between two guard tensors. init nil fills it with sentinelNaN (for ops
// that overwrite their output); otherwise init is its starting contents (β ≠ 0, in place).
func (c *tc) out(name string, init []float32, shape ...int) kernels.Tensor {
	c.t.Helper()
	n := volume(shape)
	c.guard(name, n)
	t := c.alloc(shape...)
	if init == nil {
		init = filled(n, sentinelNaN)
	}
	c.b.Upload(t, init)
	c.guard(name, n)
	return t
}

func (c *tc) guard(name string, n int) {
	g := c.alloc(max(1, min(n, 1024)))
	data := filled(g.Len(), guardValue)
	c.b.Upload(g, data)
	c.guards = append(c.guards, hostCopy{"guard beside " + name, g, data})
}

// get downloads t.
func (c *tc) get(t kernels.Tensor) []float32 {
	c.t.Helper()
	out := make([]float32, t.Len())
	if err := c.b.Download(out, t); err != nil {
		c.t.Fatalf("%s: Download: %v", c.name, err)
	}
	return out
}

// settle runs after an op: Sync must succeed, every input must be unchanged and every guard intact.
func (c *tc) settle(op string) {
	c.t.Helper()
	if err := c.b.Sync(); err != nil {
		c.t.Fatalf("%s %s: Sync after the op: %v", op, c.name, err)
	}
	for _, h := range c.ins {
		c.unchanged(op, "input "+h.name, h)
	}
	for _, h := range c.guards {
		c.unchanged(op, h.name+" (a write outside the output)", h)
	}
}

func (c *tc) unchanged(op, what string, h hostCopy) {
	c.t.Helper()
	got := c.get(h.t)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(h.data[i]) {
			c.t.Errorf("%s %s: %s changed at %s: got %v (bits %#08x), had %v (bits %#08x)",
				op, c.name, what, coords(h.t.Shape(), i), got[i], math.Float32bits(got[i]),
				h.data[i], math.Float32bits(h.data[i]))
			return
		}
	}
}

// expect downloads t and compares it with want: |got − want| ≤ atol + rtol·scale[i] (scale nil:
// |want[i]|). A sentinel still in place is reported as an element the op did not write; a NaN
// want asks for a NaN; otherwise got must be finite.
func (c *tc) expect(op, arg string, t kernels.Tensor, want, scale []float64, tl tol) {
	c.t.Helper()
	c.compare(op, arg, t.Shape(), c.get(t), want, scale, tl)
}

func (c *tc) compare(op, arg string, shape []int, got []float32, want, scale []float64, tl tol) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Fatalf("%s %s: %s has %d values, reference %d", op, c.name, arg, len(got), len(want))
	}
	const show = 5
	bad, worst := 0, 0.0
	var msgs []string
	for i, g32 := range got {
		w, g := want[i], float64(g32)
		sc := math.Abs(w)
		if scale != nil {
			sc = scale[i]
		}
		lim := tl.atol + tl.rtol*sc
		var why string
		switch {
		case math.Float32bits(g32) == math.Float32bits(sentinelNaN):
			why = "not written (sentinel NaN still there, or propagated from the old contents)"
		case math.IsNaN(w):
			if !math.IsNaN(g) {
				why = "want NaN"
			}
		case math.IsNaN(g) || math.IsInf(g, 0):
			why = "non-finite output from finite inputs"
		case math.Abs(g-w) > lim:
			why = fmt.Sprintf("|diff| %.3g > tol %.3g = atol %.3g + rtol %.3g × scale %.3g", math.Abs(g-w), lim, tl.atol, tl.rtol, sc)
		}
		if d := math.Abs(g - w); d > 0 && !math.IsNaN(d) {
			worst = max(worst, d/lim) // +Inf where the tolerance is 0
		}
		if why == "" {
			continue
		}
		bad++
		if bad <= show {
			msgs = append(msgs, fmt.Sprintf("\n\t%s%s: got %v, want %v: %s", arg, coords(shape, i), g32, w, why))
		}
	}
	c.margin(op, arg, worst)
	if bad > 0 {
		more := ""
		if bad > show {
			more = fmt.Sprintf("\n\t… %d more", bad-show)
		}
		ratio := ""
		if worst > 1 {
			ratio = fmt.Sprintf(", worst |diff|/tol %.3g", worst)
		}
		c.t.Errorf("%s %s: %d of %d elements of %s wrong%s:%s%s", op, c.name, bad, len(got), arg, ratio, strings.Join(msgs, ""), more)
	}
}

// showMargins makes every check log its worst |diff|/tol (1 is the limit): set
// KERNELTEST_MARGINS=1 and run go test -v to see how close a backend comes to each tolerance.
var showMargins = os.Getenv("KERNELTEST_MARGINS") != ""

func (c *tc) margin(op, what string, worst float64) {
	c.t.Helper()
	if showMargins {
		c.t.Logf("margin %s %s: worst |diff|/tol %.3g", op, what, worst)
	}
}

// coords formats flat index i of a row-major shape as [i0,i1,…] (flat i).
func coords(shape []int, i int) string {
	if len(shape) <= 1 {
		return fmt.Sprintf("[%d]", i)
	}
	idx := make([]string, len(shape))
	r := i
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] == 0 {
			return fmt.Sprintf("[flat %d]", i)
		}
		idx[d] = fmt.Sprint(r % shape[d])
		r /= shape[d]
	}
	return fmt.Sprintf("[%s] (flat %d)", strings.Join(idx, ","), i)
}

// ---- seeded data ----

func (c *tc) normal(n int, sd float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(c.rng.NormFloat64() * sd)
	}
	return out
}

func (c *tc) uniform(n int, lo, hi float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo + (hi-lo)*c.rng.Float64())
	}
	return out
}

func filled(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// poisoned is old contents an op must ignore: sentinel NaN, +Inf, −Inf and other NaN in turn.
func poisoned(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		switch i % 4 {
		case 0, 1:
			out[i] = sentinelNaN
		case 2:
			out[i] = float32(math.Inf(1))
		case 3:
			out[i] = float32(math.Inf(-1))
		}
	}
	return out
}

func volume(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// round32 rounds float64 values to float32 and back.
func round32(x []float64) []float64 { return f64(f32(x)) }

func abs64(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Abs(v)
	}
	return out
}

func absf(x []float32) []float64 { return abs64(f64(x)) }

func dot(x, y []float64) float64 {
	s := 0.0
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func dotAbs(x, y []float64) float64 {
	s := 0.0
	for i := range x {
		s += math.Abs(x[i] * y[i])
	}
	return s
}

// expectPanic runs f and checks that it panics with a message starting with prefix.
func (c *tc) expectPanic(prefix string, f func()) {
	c.t.Helper()
	msg, ok := panicMessage(f)
	if !ok {
		c.t.Errorf("%s: no panic, want one starting %q", c.name, prefix)
		return
	}
	if !strings.HasPrefix(msg, prefix) {
		c.t.Errorf("%s: panic %q, want it to start with %q", c.name, msg, prefix)
	}
}

func panicMessage(f func()) (msg string, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			msg = fmt.Sprint(r)
			if e, ok := r.(error); ok {
				msg = e.Error()
			}
		}
	}()
	f()
	return "", false
}
