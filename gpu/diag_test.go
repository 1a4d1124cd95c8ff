//go:build cgo

package gpu

// Cross-checks against the cpu backend at the sizes the models use, and of chained ops run
// without syncs. The conformance suite syncs after every op and uses its own sizes; these tests
// found what it missed on NVIDIA (driver 580): uploads racing earlier work on the same buffer
// (fixed by uploading through a staging copy, glthread.go), and reductions whose barrier
// followed loops of varying trip count (FOR_STRIDED in header.glsl). Each test logs one line per
// op and shape and goes on after a failure, so that one run on a device shows the whole picture:
//
//   - TestDiagAgainstCPU: every op with a reduction, and every op DrSAE calls, at DrSAE's sizes
//     and around the work-group widths, against the cpu backend on the same seeded inputs (and
//     Transpose, ScatterCols and AdamUpdate, which are cheap).
//   - TestDiagChained: a whole DrSAE step (forward, backward through time, SGD, projection,
//     next forward) and a loop of in-place updates, run without any Sync, with a Sync after every
//     op, and on the cpu backend: unsynced ≠ synced means a missing memory barrier.

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/drsae/drsae/cpu"
	"github.com/drsae/drsae/kernels"
)

// ---- inputs on one backend ----

// diagEnv makes the tensors of one case on one backend from a seeded generator, so that two
// backends running the same case closure get identical inputs.
type diagEnv struct {
	b     kernels.Backend
	rng   *rand.Rand
	ts    []kernels.Tensor
	pools []kernels.Pools
}

func newDiagEnv(b kernels.Backend, seed uint64) *diagEnv {
	return &diagEnv{b: b, rng: rand.New(rand.NewPCG(seed, 0xd1a6))}
}

func diagVolume(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func (e *diagEnv) alloc(shape ...int) kernels.Tensor {
	x, err := e.b.New(shape...)
	if err != nil {
		panic(err)
	}
	e.ts = append(e.ts, x)
	return x
}

// data uploads v.
func (e *diagEnv) data(v []float32, shape ...int) kernels.Tensor {
	x := e.alloc(shape...)
	e.b.Upload(x, v)
	return x
}

func (e *diagEnv) normalHost(n int, sd float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(sd * e.rng.NormFloat64())
	}
	return v
}

func (e *diagEnv) normal(sd float64, shape ...int) kernels.Tensor {
	return e.data(e.normalHost(diagVolume(shape), sd), shape...)
}

func (e *diagEnv) uniform(lo, hi float64, shape ...int) kernels.Tensor {
	v := make([]float32, diagVolume(shape))
	for i := range v {
		v[i] = float32(lo + (hi-lo)*e.rng.Float64())
	}
	return e.data(v, shape...)
}

func (e *diagEnv) labels(batch, k int) kernels.Tensor {
	v := make([]float32, batch)
	for i := range v {
		v[i] = float32(e.rng.IntN(k))
	}
	return e.data(v, batch)
}

// out is an output filled with NaN, so that an element the op does not write shows up.
func (e *diagEnv) out(shape ...int) kernels.Tensor {
	x := e.alloc(shape...)
	e.b.Fill(x, float32(math.NaN()))
	return x
}

func (e *diagEnv) newPools(l *kernels.PoolLayout) kernels.Pools {
	p, err := e.b.NewPools(l)
	if err != nil {
		panic(err)
	}
	e.pools = append(e.pools, p)
	return p
}

func (e *diagEnv) free() {
	defer func() { recover() }() // after a panic in an op, freeing is best effort
	for _, t := range e.ts {
		e.b.Free(t)
	}
	for _, p := range e.pools {
		e.b.FreePools(p)
	}
	e.ts, e.pools = nil, nil
}

// ---- comparison ----

// diagCompare compares got with want elementwise: an element is bad when NaN-ness differs or
// |got − want| > rtol·|want| + atol, atol = rtol/10 · max|want| (the scale of the output).
// It returns one line of statistics and the number of bad elements. Outputs start as NaN, so
// "NaN got" counts elements the op did not write; "zero-where-nonzero" counts exact zeros where
// the cpu has none (a buffer's zero fill at allocation, or a sum that lost all its terms).
func diagCompare(shape []int, got, want []float32, rtol float64) (string, int) {
	scale := 0.0
	for _, w := range want {
		if a := math.Abs(float64(w)); !math.IsInf(a, 0) && a > scale {
			scale = a
		}
	}
	atol := rtol / 10 * scale
	var maxAbs, maxRel float64
	bad, first, nanGot, nanWant, zeros := 0, -1, 0, 0, 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if g == 0 && w != 0 {
			zeros++
		}
		if math.IsNaN(g) {
			nanGot++
		}
		if math.IsNaN(w) {
			nanWant++
		}
		var isBad bool
		switch {
		case math.IsNaN(g) || math.IsNaN(w):
			isBad = math.IsNaN(g) != math.IsNaN(w)
		case math.IsInf(g, 0) || math.IsInf(w, 0):
			isBad = g != w
		default:
			d := math.Abs(g - w)
			maxAbs = max(maxAbs, d)
			maxRel = max(maxRel, d/(math.Abs(w)+atol+1e-30))
			isBad = d > rtol*math.Abs(w)+atol
		}
		if isBad {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	line := fmt.Sprintf("maxAbs=%.3g maxRel=%.3g (max|want| %.3g) bad=%d/%d", maxAbs, maxRel, scale, bad, len(want))
	if nanGot != nanWant {
		line += fmt.Sprintf(" NaN got %d want %d", nanGot, nanWant)
	}
	if zeros > 0 {
		line += fmt.Sprintf(" zero-where-nonzero %d", zeros)
	}
	if first >= 0 {
		line += fmt.Sprintf(" first bad [%d]%s got=%.7g want=%.7g", first, diagCoords(shape, first), got[first], want[first])
	}
	return line, bad
}

// diagRelL2 returns ‖got − want‖/‖want‖ over the finite elements, and the count of elements
// whose NaN-ness differs.
func diagRelL2(got, want []float32) (float64, int) {
	var d2, w2 float64
	nan := 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) {
			nan++
			continue
		}
		if math.IsNaN(w) || math.IsInf(w, 0) || math.IsInf(g, 0) {
			continue
		}
		d2 += (g - w) * (g - w)
		w2 += w * w
	}
	if w2 == 0 {
		return math.Sqrt(d2), nan
	}
	return math.Sqrt(d2 / w2), nan
}

// diagIdentical counts the elements that differ bit for bit (NaNs compare equal).
func diagIdentical(a, b []float32) (int, int) {
	n, first := 0, -1
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	return n, first
}

func diagCoords(shape []int, i int) string {
	if len(shape) < 2 {
		return ""
	}
	c := make([]string, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		c[d] = fmt.Sprint(i % shape[d])
		i /= shape[d]
	}
	return "(" + strings.Join(c, ",") + ")"
}

func diagSeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// ---- cases: one op at one shape ----

type diagOut struct {
	name string
	t    kernels.Tensor
}

type diagCase struct {
	name string
	rtol float64 // 0: 1e-3
	run  func(e *diagEnv) []diagOut
}

type diagResult struct {
	name  string
	shape []int
	v     []float32
}

// runDiagCase runs c on b and downloads its outputs; a panic or a device error is returned.
func runDiagCase(b kernels.Backend, c diagCase) (res []diagResult, err error) {
	e := newDiagEnv(b, diagSeed(c.name))
	defer e.free()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	for _, o := range c.run(e) {
		v := make([]float32, o.t.Len())
		if err := b.Download(v, o.t); err != nil {
			return nil, err
		}
		res = append(res, diagResult{o.name, append([]int(nil), o.t.Shape()...), v})
	}
	return res, nil
}

func diagGemm(name string, ta, tb bool, m, n, k int, alpha, beta float32) diagCase {
	tn := func(t bool) string {
		if t {
			return "T"
		}
		return "N"
	}
	return diagCase{
		name: fmt.Sprintf("Gemm/%s%s/%dx%dx%d/a=%g,b=%g%s", tn(ta), tn(tb), m, n, k, alpha, beta, name),
		run: func(e *diagEnv) []diagOut {
			ash, bsh := []int{m, k}, []int{k, n}
			if ta {
				ash = []int{k, m}
			}
			if tb {
				bsh = []int{n, k}
			}
			a, b := e.normal(1, ash...), e.normal(1, bsh...)
			var c kernels.Tensor
			if beta != 0 {
				c = e.normal(1, m, n)
			} else {
				c = e.out(m, n)
			}
			e.b.Gemm(ta, tb, alpha, a, b, beta, c)
			return []diagOut{{"C", c}}
		},
	}
}

var diagAxes = []kernels.Axis{kernels.PerRow, kernels.PerCol}

func diagCases() []diagCase {
	var cs []diagCase
	add := func(name string, run func(e *diagEnv) []diagOut) {
		cs = append(cs, diagCase{name: name, run: run})
	}

	// Gemm: the calls of DrSAE (model/drsae.go), then every transpose combination at its sizes.
	for _, g := range []struct {
		what    string
		ta, tb  bool
		m, n, k int
		a, b    float32
	}{
		{"u=X·Eᵀ", false, true, 50, 400, 784, 1, 0},
		{"a+=z·Sᵀ", false, true, 50, 400, 400, 1, 1},
		{"r=z·Dᵀ−x", false, true, 50, 784, 400, 1, -1},
		{"logits=zn·Cᵀ", false, true, 50, 10, 400, 1, 0},
		{"dD=rᵀ·z", true, false, 784, 400, 50, 0.1, 0},
		{"dz=r·D", false, false, 50, 400, 784, 0.1, 0},
		{"dC=dlogᵀ·zn", true, false, 10, 400, 50, 0.02, 0},
		{"g=dlog·C", false, false, 50, 400, 10, 0.02, 0},
		{"dS+=gᵀ·z", true, false, 400, 400, 50, 1, 1},
		{"dz=g·S", false, false, 50, 400, 400, 1, 0},
		{"dE=gsumᵀ·X", true, false, 400, 784, 50, 1, 0},
		{"db=−1ᵀ·gsum", true, false, 1, 400, 50, -1, 0},
		{"l1=z·1", false, false, 50, 1, 400, 1, 0},
	} {
		cs = append(cs, diagGemm(" "+g.what, g.ta, g.tb, g.m, g.n, g.k, g.a, g.b))
	}
	for _, s := range [][3]int{{50, 400, 784}, {50, 400, 400}, {400, 784, 50}, {784, 400, 50}, {1000, 300, 513}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, beta := range []float32{0, 1} {
					cs = append(cs, diagGemm("", ta, tb, s[0], s[1], s[2], 1, beta))
				}
			}
		}
	}

	// Elementwise and broadcast ops at DrSAE's sizes, in place as DrSAE calls them and not.
	for _, sh := range [][2]int{{50, 400}, {400, 784}, {1000, 100}} {
		r, c := sh[0], sh[1]
		for _, ax := range diagAxes {
			vlen := c
			if ax == kernels.PerRow {
				vlen = r
			}
			add(fmt.Sprintf("BroadcastAdd/[%d %d]/%v", r, c, ax), func(e *diagEnv) []diagOut {
				x, v, dst := e.normal(1, r, c), e.normal(1, vlen), e.out(r, c)
				e.b.BroadcastAdd(dst, x, 0.5, v, ax)
				return []diagOut{{"dst", dst}}
			})
			add(fmt.Sprintf("BroadcastAdd/[%d %d]/%v/in-place", r, c, ax), func(e *diagEnv) []diagOut {
				x, v := e.normal(1, r, c), e.normal(1, vlen)
				e.b.BroadcastAdd(x, x, 0.002, v, ax)
				return []diagOut{{"x", x}}
			})
			add(fmt.Sprintf("BroadcastMul/[%d %d]/%v", r, c, ax), func(e *diagEnv) []diagOut {
				x, v, dst := e.normal(1, r, c), e.normal(1, vlen), e.out(r, c)
				e.b.BroadcastMul(dst, x, v, ax)
				return []diagOut{{"dst", dst}}
			})
		}
		add(fmt.Sprintf("Axpby/[%d %d]/in-place", r, c), func(e *diagEnv) []diagOut {
			x, y := e.normal(1, r, c), e.normal(1, r, c)
			e.b.Axpby(-0.01, x, 1, y)
			e.b.Axpby(1, y, 1, y)
			return []diagOut{{"y", y}}
		})
	}

	// Shrinkage, forward and backward with the threshold gradient (a column reduction).
	for _, sh := range [][2]int{{50, 400}, {10, 400}, {1000, 100}, {3, 5000}, {400, 784}, {257, 33}} {
		r, m := sh[0], sh[1]
		for _, pos := range []bool{true, false} {
			name := "SoftShrink"
			if pos {
				name = "PosShrink"
			}
			add(fmt.Sprintf("%s/[%d %d]", name, r, m), func(e *diagEnv) []diagOut {
				x, th, dst := e.normal(1, r, m), e.uniform(0, 0.8, m), e.out(r, m)
				if pos {
					e.b.PosShrink(dst, x, th)
				} else {
					e.b.SoftShrink(dst, x, th)
				}
				return []diagOut{{"dst", dst}}
			})
			add(fmt.Sprintf("%sBackward/[%d %d]/dtheta", name, r, m), func(e *diagEnv) []diagOut {
				x, th, dy := e.normal(1, r, m), e.uniform(0, 0.8, m), e.normal(1, r, m)
				dx, dth := e.out(r, m), e.out(m)
				if pos {
					e.b.PosShrinkBackward(dx, dth, dy, x, th)
				} else {
					e.b.SoftShrinkBackward(dx, dth, dy, x, th)
				}
				return []diagOut{{"dx", dx}, {"dtheta", dth}}
			})
		}
		add(fmt.Sprintf("PosShrinkBackward/[%d %d]/counts (ActiveCounts)", r, m), func(e *diagEnv) []diagOut {
			z, zero, ones := e.uniform(-1, 1, r, m), e.data(make([]float32, m), m), e.out(r, m)
			e.b.PosShrink(z, z, zero) // a code: zero or positive
			e.b.Fill(ones, 1)
			g, cnt := e.out(r, m), e.out(m)
			e.b.PosShrinkBackward(g, cnt, ones, z, zero)
			return []diagOut{{"g", g}, {"counts", cnt}}
		})
	}

	// Reductions over rows and columns.
	for _, sh := range [][2]int{{400, 784}, {784, 400}, {50, 400}, {10, 400}, {1000, 100}, {3, 5000}, {5000, 3}, {100, 257}} {
		r, c := sh[0], sh[1]
		for _, ax := range diagAxes {
			n := r
			radius := math.Sqrt(float64(c)) // about half the rows exceed it
			if ax == kernels.PerCol {
				n, radius = c, math.Sqrt(float64(r))
			}
			add(fmt.Sprintf("Norms/[%d %d]/%v", r, c, ax), func(e *diagEnv) []diagOut {
				x, dst := e.normal(1, r, c), e.out(n)
				e.b.Norms(dst, x, ax)
				return []diagOut{{"norms", dst}}
			})
			add(fmt.Sprintf("ProjectNormBall/[%d %d]/%v", r, c, ax), func(e *diagEnv) []diagOut {
				x := e.normal(1, r, c)
				e.b.ProjectNormBall(x, float32(radius), ax)
				return []diagOut{{"x", x}}
			})
		}
		add(fmt.Sprintf("NormalizeRows/[%d %d]", r, c), func(e *diagEnv) []diagOut {
			x, dst, norms := e.normal(1, r, c), e.out(r, c), e.out(r)
			e.b.NormalizeRows(dst, norms, x, 1e-6)
			return []diagOut{{"dst", dst}, {"norms", norms}}
		})
		add(fmt.Sprintf("NormalizeRowsBackward/[%d %d]", r, c), func(e *diagEnv) []diagOut {
			y := e.normalHost(r*c, 1)
			for i := 0; i < r; i++ {
				s := 0.0
				for _, v := range y[i*c : (i+1)*c] {
					s += float64(v) * float64(v)
				}
				for j := i * c; j < (i+1)*c; j++ {
					y[j] = float32(float64(y[j]) / math.Sqrt(s))
				}
			}
			yt, norms, dy, dx := e.data(y, r, c), e.uniform(0.5, 2, r), e.normal(1, r, c), e.out(r, c)
			e.b.NormalizeRowsBackward(dx, dy, yt, norms)
			return []diagOut{{"dx", dx}}
		})
	}

	// Reduce and CountAbove over the same shapes, and over long rows that are split over several
	// work groups (a whole tensor reduced as one row).
	for _, sh := range [][2]int{{400, 784}, {784, 400}, {50, 400}, {1000, 100}, {3, 5000}, {5000, 3}, {100, 257},
		{1, 250000}, {4, 65537}, {1000, 9000}} {
		r, c := sh[0], sh[1]
		for _, ax := range diagAxes {
			n := r
			if ax == kernels.PerCol {
				n = c
			}
			if ax == kernels.PerCol && r*c > 1000000 {
				continue // the column path has no split; these shapes are about rows
			}
			for _, op := range []kernels.ReduceOp{kernels.ReduceSum, kernels.ReduceAbs, kernels.ReduceSquares} {
				add(fmt.Sprintf("Reduce/[%d %d]/%v/%v", r, c, op, ax), func(e *diagEnv) []diagOut {
					x, dst := e.normal(1, r, c), e.out(n)
					e.b.Reduce(dst, x, op, ax)
					return []diagOut{{"dst", dst}}
				})
			}
			add(fmt.Sprintf("CountAbove/[%d %d]/%v", r, c, ax), func(e *diagEnv) []diagOut {
				x, dst := e.normal(1, r, c), e.out(n)
				e.b.CountAbove(dst, x, 0.5, ax)
				return []diagOut{{"counts", dst}}
			})
		}
	}

	// Layout: transposes at DrSAE's sizes and around the 32×32 tiles; scatters of a permutation
	// of the columns and of a subset.
	for _, sh := range [][2]int{{50, 400}, {400, 784}, {784, 400}, {1000, 100}, {257, 33}, {32, 64}, {1, 5000}} {
		r, c := sh[0], sh[1]
		add(fmt.Sprintf("Transpose/[%d %d]", r, c), func(e *diagEnv) []diagOut {
			x, dst := e.normal(1, r, c), e.out(c, r)
			e.b.Transpose(dst, x)
			return []diagOut{{"dst", dst}}
		})
	}
	for _, sh := range [][3]int{{50, 400, 100}, {400, 784, 784}, {1000, 100, 37}} {
		n, m, k := sh[0], sh[1], sh[2]
		add(fmt.Sprintf("ScatterCols/[%d %d]<-[%d %d]", n, m, n, k), func(e *diagEnv) []diagOut {
			idx := make([]float32, k)
			for j, col := range e.rng.Perm(m)[:k] {
				idx[j] = float32(col)
			}
			dst, src, it := e.normal(1, n, m), e.normal(1, n, k), e.data(idx, k)
			e.b.ScatterCols(dst, src, it)
			return []diagOut{{"dst", dst}}
		})
	}

	// AdamUpdate at the sizes of DrSAE's parameters.
	for _, sh := range [][2]int{{400, 784}, {400, 400}, {1, 400}, {10, 400}} {
		r, c := sh[0], sh[1]
		add(fmt.Sprintf("AdamUpdate/[%d %d]", r, c), func(e *diagEnv) []diagOut {
			p, g, m, v := e.normal(1, r, c), e.normal(1, r, c), e.normal(0.1, r, c), e.uniform(0, 1, r, c)
			e.b.AdamUpdate(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8)
			return []diagOut{{"p", p}, {"m", m}, {"v", v}}
		})
	}

	// Classification, around the work-group width of 64.
	for _, sh := range [][2]int{{50, 10}, {1000, 100}, {100, 32}, {100, 63}, {100, 64}, {100, 65}, {100, 100}, {100, 128}, {100, 129}, {100, 1000}} {
		batch, k := sh[0], sh[1]
		add(fmt.Sprintf("SoftmaxXent/[%d %d]", batch, k), func(e *diagEnv) []diagOut {
			logits, labels, grad, loss := e.normal(2, batch, k), e.labels(batch, k), e.out(batch, k), e.out(batch)
			e.b.SoftmaxXent(loss, grad, logits, labels)
			return []diagOut{{"grad", grad}, {"loss", loss}}
		})
		add(fmt.Sprintf("SoftmaxXent/[%d %d]/loss=nil", batch, k), func(e *diagEnv) []diagOut {
			logits, labels, grad := e.normal(2, batch, k), e.labels(batch, k), e.out(batch, k)
			e.b.SoftmaxXent(nil, grad, logits, labels)
			return []diagOut{{"grad", grad}}
		})
		add(fmt.Sprintf("Argmax/[%d %d]", batch, k), func(e *diagEnv) []diagOut {
			logits, dst := e.normal(3, batch, k), e.out(batch)
			e.b.Argmax(dst, logits)
			return []diagOut{{"argmax", dst}}
		})
	}

	// Groups: disjoint pools of 4 and overlapping windows of 9 over 400 units.
	disjoint, overlap := make([][]int, 100), make([][]int, 400)
	for j := range disjoint {
		disjoint[j] = []int{4 * j, 4*j + 1, 4*j + 2, 4*j + 3}
	}
	for j := range overlap {
		for d := 0; d < 9; d++ {
			overlap[j] = append(overlap[j], (j+d*7)%400)
		}
	}
	for _, pl := range []struct {
		name    string
		members [][]int
	}{{"disjoint4", disjoint}, {"overlap9", overlap}} {
		l, err := kernels.NewPoolLayout(400, pl.members, nil)
		if err != nil {
			panic(err)
		}
		P := l.NumPools()
		add("PoolNorms+Backward/[50 400]/"+pl.name, func(e *diagEnv) []diagOut {
			p := e.newPools(l)
			z, dy, norms, dz := e.normal(1, 50, 400), e.normal(1, 50, P), e.out(50, P), e.out(50, 400)
			e.b.PoolNorms(norms, z, p, 1e-3)
			e.b.PoolNormsBackward(dz, dy, z, norms, p)
			return []diagOut{{"norms", norms}, {"dz", dz}}
		})
		if l.Disjoint {
			add("BlockSoftThreshold/[50 400]/"+pl.name, func(e *diagEnv) []diagOut {
				p := e.newPools(l)
				x, dst := e.normal(1, 50, 400), e.out(50, 400)
				e.b.BlockSoftThreshold(dst, x, p, 1.5)
				return []diagOut{{"dst", dst}}
			})
		}
	}

	// Convolutions at TestConvShaderPaths' geometries, plus one whose filter gradient has fewer
	// terms (N·Ho·Wo) than its 64 invocations, like the conformance suite's.
	convs := append([]convCase{{1, 2, 5, 5, 3, 3, 3, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}}}, directCases...)
	for _, cc := range convs {
		d := cc.dims()
		add(fmt.Sprintf("Conv2D/%v/terms=%d", cc, d.N*d.Ho*d.Wo), func(e *diagEnv) []diagOut {
			x, w, dy := e.normal(1, d.N, d.C, d.H, d.W), e.normal(1, d.K, d.C, d.KH, d.KW), e.normal(1, d.N, d.K, d.Ho, d.Wo)
			y, dx, dw := e.out(d.N, d.K, d.Ho, d.Wo), e.out(d.N, d.C, d.H, d.W), e.out(d.K, d.C, d.KH, d.KW)
			e.b.Conv2DBackwardFilter(dw, x, dy, cc.g)
			e.b.Conv2DForward(y, x, w, cc.g)
			e.b.Conv2DBackwardData(dx, dy, w, cc.g)
			return []diagOut{{"dw (BackwardFilter)", dw}, {"y (Forward)", y}, {"dx (BackwardData)", dx}}
		})
	}
	lc := convCase{2, 3, 12, 10, 4, 3, 3, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}}
	ld := lc.dims()
	add(fmt.Sprintf("Local+L2Pool/%v", lc), func(e *diagEnv) []diagOut {
		x := e.normal(1, ld.N, ld.C, ld.H, ld.W)
		w, dy := e.normal(1, ld.Ho, ld.Wo, ld.K, ld.C, ld.KH, ld.KW), e.normal(1, ld.N, ld.K, ld.Ho, ld.Wo)
		y, dx, dw := e.out(ld.N, ld.K, ld.Ho, ld.Wo), e.out(ld.N, ld.C, ld.H, ld.W), e.out(ld.Ho, ld.Wo, ld.K, ld.C, ld.KH, ld.KW)
		e.b.LocalForward(y, x, w, lc.g)
		e.b.LocalBackwardData(dx, dy, w, lc.g)
		e.b.LocalBackwardFilter(dw, x, dy, lc.g)
		k, pdy := e.uniform(0.1, 1, ld.KH, ld.KW), e.normal(1, ld.N, ld.C, ld.Ho, ld.Wo)
		py, pdx := e.out(ld.N, ld.C, ld.Ho, ld.Wo), e.out(ld.N, ld.C, ld.H, ld.W)
		e.b.L2Pool2D(py, x, k, lc.g, 1e-3)
		e.b.L2Pool2DBackward(pdx, pdy, x, py, k, lc.g)
		return []diagOut{{"y (LocalForward)", y}, {"dx (LocalBackwardData)", dx}, {"dw (LocalBackwardFilter)", dw},
			{"y (L2Pool2D)", py}, {"dx (L2Pool2DBackward)", pdx}}
	})
	return cs
}

// TestDiagAgainstCPU runs every case on the gpu and the cpu backend and logs, per output,
// the largest absolute and relative differences, the number of bad elements and the first one.
func TestDiagAgainstCPU(t *testing.T) {
	gb := backend(t)
	if testing.Short() {
		t.Skip("about 20 s on llvmpipe: skipped with -short")
	}
	cb := cpu.New()
	defer cb.Close()
	var failed []string
	cases := diagCases()
	for _, c := range cases {
		rtol := c.rtol
		if rtol == 0 {
			rtol = 1e-3
		}
		got, gerr := runDiagCase(gb, c)
		want, cerr := runDiagCase(cb, c)
		if gerr != nil || cerr != nil {
			t.Errorf("%-60s gpu error: %v; cpu error: %v", c.name, gerr, cerr)
			failed = append(failed, c.name)
			if gerr != nil && !strings.HasPrefix(gerr.Error(), "panic") {
				t.Errorf("the gpu backend has a sticky error: every later gpu case fails the same way")
			}
			continue
		}
		caseBad := false
		for i := range got {
			line, bad := diagCompare(got[i].shape, got[i].v, want[i].v, rtol)
			msg := fmt.Sprintf("%-60s %-24s %v", c.name, got[i].name, line)
			if bad > 0 {
				t.Errorf("BAD %s", msg)
				caseBad = true
			} else {
				t.Logf("ok  %s", msg)
			}
		}
		if caseBad {
			failed = append(failed, c.name)
		}
	}
	t.Logf("SUMMARY TestDiagAgainstCPU: %d of %d cases differ from the cpu backend", len(failed), len(cases))
	for _, f := range failed {
		t.Logf("SUMMARY   differs: %s", f)
	}
}

// ---- chained ops, without syncs ----

// diagChainInputs are the host parameters and data of a DrSAE-sized step.
type diagChainInputs struct {
	B, n, m, k, T               int
	X, E, S, bias, D, C, labels []float32
	Xs, Ls                      [][]float32 // the minibatches of the steps; Xs[0] = X
}

func newDiagChainInputs() *diagChainInputs {
	in := &diagChainInputs{B: 50, n: 784, m: 400, k: 10, T: 5}
	rng := rand.New(rand.NewPCG(2013, 11))
	normal := func(n int, sd float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(sd * rng.NormFloat64())
		}
		return v
	}
	// Unit-norm, non-negative, sparse inputs like MNIST digits.
	in.X = make([]float32, in.B*in.n)
	for b := 0; b < in.B; b++ {
		s := 0.0
		for i := 0; i < in.n; i++ {
			if rng.Float64() < 0.2 {
				v := rng.Float64()
				in.X[b*in.n+i] = float32(v)
				s += v * v
			}
		}
		for i := 0; i < in.n; i++ {
			in.X[b*in.n+i] = float32(float64(in.X[b*in.n+i]) / math.Sqrt(s))
		}
	}
	in.E = normal(in.m*in.n, 0.15)
	in.S = normal(in.m*in.m, 0.01)
	for i := 0; i < in.m; i++ {
		in.S[i*in.m+i] += 0.8
	}
	in.bias = make([]float32, in.m)
	for i := range in.bias {
		in.bias[i] = float32(0.05 * rng.Float64())
	}
	in.D = normal(in.n*in.m, 0.05)
	in.C = normal(in.k*in.m, 0.5)
	in.labels = make([]float32, in.B)
	for i := range in.labels {
		in.labels[i] = float32(rng.IntN(in.k))
	}
	in.Xs, in.Ls = [][]float32{in.X}, [][]float32{in.labels}
	for s := 1; s < 3; s++ { // two more minibatches: the rows of X shifted, new labels
		x, l := make([]float32, len(in.X)), make([]float32, in.B)
		copy(x, in.X[s*in.n:])
		copy(x[len(in.X)-s*in.n:], in.X)
		for i := range l {
			l[i] = float32(rng.IntN(in.k))
		}
		in.Xs, in.Ls = append(in.Xs, x), append(in.Ls, l)
	}
	return in
}

// diagChainDrSAE runs DrSAE training steps as model/drsae.go and drsae_train.go issue them
// (Upload of the minibatch, Encode, Forward with the classifier, Backward through time, SGD,
// Project), three minibatches in a row, then the next forward and the loss read-out ops,
// calling after() after every op. It returns every tensor, in order, by name.
func diagChainDrSAE(b kernels.Backend, in *diagChainInputs, after func()) (names []string, ts map[string]kernels.Tensor) {
	B, n, m, k, T := in.B, in.n, in.m, in.k, in.T
	ts = map[string]kernels.Tensor{}
	mk := func(name string, data []float32, shape ...int) kernels.Tensor {
		x, err := b.New(shape...)
		if err != nil {
			panic(err)
		}
		if data != nil {
			b.Upload(x, data)
		}
		names = append(names, name)
		ts[name] = x
		return x
	}
	X, E, S := mk("X", in.X, B, n), mk("E", in.E, m, n), mk("S", in.S, m, m)
	bias, D, C := mk("bias", in.bias, m), mk("D", in.D, n, m), mk("C", in.C, k, m)
	labels := mk("labels", in.labels, B)
	onesM, onesB := mk("onesM", nil, m), mk("onesB", nil, B, 1)
	b.Fill(onesM, 1)
	after()
	b.Fill(onesB, 1)
	after()
	u := mk("u=a0", nil, B, m)
	a := []kernels.Tensor{u}
	z := []kernels.Tensor{}
	for t := 0; t < T; t++ {
		z = append(z, mk(fmt.Sprintf("z%d", t), nil, B, m))
		if t > 0 {
			a = append(a, mk(fmt.Sprintf("a%d", t), nil, B, m))
		}
	}
	r, zn, norms := mk("r", nil, B, n), mk("zn", nil, B, m), mk("normsZ", nil, B)
	logits, dlog, xent := mk("logits", nil, B, k), mk("dlog", nil, B, k), mk("xent", nil, B)
	gD, dz, gC, g, gsum := mk("gD", nil, n, m), mk("dz", nil, B, m), mk("gC", nil, k, m), mk("g", nil, B, m), mk("gsum", nil, B, m)
	dtheta, gS, gE, gB := mk("dtheta", nil, m), mk("gS", nil, m, m), mk("gE", nil, m, n), mk("gB", nil, m)
	for step := range in.Xs {
		if step > 0 { // the next minibatch, uploaded while the last step's ops may still read X
			b.Upload(X, in.Xs[step])
			b.Upload(labels, in.Ls[step])
		}
		// Encode.
		b.Gemm(false, true, 1, X, E, 0, u)
		after()
		b.PosShrink(z[0], u, bias)
		after()
		for t := 1; t < T; t++ {
			b.Copy(a[t], u)
			after()
			b.Gemm(false, true, 1, z[t-1], S, 1, a[t])
			after()
			b.PosShrink(z[t], a[t], bias)
			after()
		}
		zt := z[T-1]
		// Decoder and classifier.
		b.Copy(r, X)
		after()
		b.Gemm(false, true, 1, zt, D, -1, r)
		after()
		b.NormalizeRows(zn, norms, zt, 1e-6)
		after()
		b.Gemm(false, true, 1, zn, C, 0, logits)
		after()
		b.SoftmaxXent(xent, dlog, logits, labels)
		after()
		// Backward.
		wr, wc := float32(5/float64(B)), float32(1/float64(B))
		b.Gemm(true, false, wr, r, zt, 0, gD)
		after()
		b.Gemm(false, false, wr, r, D, 0, dz)
		after()
		b.BroadcastAdd(dz, dz, float32(0.09/float64(B)), onesM, kernels.PerCol)
		after()
		b.Gemm(true, false, wc, dlog, zn, 0, gC)
		after()
		b.Gemm(false, false, wc, dlog, C, 0, g)
		after()
		b.NormalizeRowsBackward(gsum, g, zn, norms)
		after()
		b.Axpby(1, gsum, 1, dz)
		after()
		for t := T - 1; t >= 0; t-- {
			if t == T-1 {
				b.PosShrinkBackward(g, dtheta, dz, a[t], bias)
			} else {
				b.PosShrinkBackward(g, nil, dz, a[t], bias)
			}
			after()
			if t == T-1 {
				b.Copy(gsum, g)
			} else {
				b.Axpby(1, g, 1, gsum)
			}
			after()
			if t > 0 {
				beta := float32(1)
				if t == T-1 {
					beta = 0
				}
				b.Gemm(true, false, 1, g, z[t-1], beta, gS)
				after()
				b.Gemm(false, false, 1, g, S, 0, dz)
				after()
			}
		}
		b.Gemm(true, false, 1, gsum, X, 0, gE)
		after()
		b.Gemm(true, false, -1, onesB, gsum, 0, b.Reshape(gB, 1, m))
		after()
		// SGD and the projection.
		for i, p := range []kernels.Tensor{E, S, bias, D, C} {
			b.Axpby(-0.01, []kernels.Tensor{gE, gS, gB, gD, gC}[i], 1, p)
			after()
		}
		b.ProjectNormBall(E, 0.125, kernels.PerRow)
		after()
		b.ProjectNormBall(D, 1, kernels.PerCol)
		after()
		b.ProjectNormBall(C, 5, kernels.PerRow)
		after()
	}
	// The next forward reads the updated parameters; the loss read-out ops.
	u2, z2, a2 := mk("u2", nil, B, m), mk("z2", nil, B, m), mk("a2", nil, B, m)
	b.Gemm(false, true, 1, X, E, 0, u2)
	after()
	b.PosShrink(z2, u2, bias)
	after()
	b.Copy(a2, u2)
	after()
	b.Gemm(false, true, 1, z2, S, 1, a2)
	after()
	b.PosShrink(z2, a2, bias) // in place over the previous step's code
	after()
	rn, pred, dn, l1 := mk("rnorm", nil, B), mk("pred", nil, B), mk("normsD", nil, m), mk("l1", nil, B, 1)
	b.Norms(rn, r, kernels.PerRow)
	after()
	b.Argmax(pred, logits)
	after()
	b.Norms(dn, D, kernels.PerCol)
	after()
	b.Gemm(false, false, 1, z2, b.Reshape(onesM, m, 1), 0, l1)
	after()
	return names, ts
}

// diagChainInPlace: a loop of in-place updates, each read by the next op: P += 0.1·G; Y = X·Pᵀ;
// Y −= bias (in place); Y = max(Y − θ, 0) (in place); G = 0.01·Yᵀ·X; P projected in place.
func diagChainInPlace(b kernels.Backend, in *diagChainInputs, after func()) (names []string, ts map[string]kernels.Tensor) {
	B, n, m := in.B, in.n, in.m
	ts = map[string]kernels.Tensor{}
	mk := func(name string, data []float32, shape ...int) kernels.Tensor {
		x, err := b.New(shape...)
		if err != nil {
			panic(err)
		}
		if data != nil {
			b.Upload(x, data)
		}
		names = append(names, name)
		ts[name] = x
		return x
	}
	X, P, G := mk("X", in.X, B, n), mk("P", in.E, m, n), mk("G", nil, m, n)
	bias, theta, Y := mk("bias", in.bias, m), mk("theta", in.bias, m), mk("Y", nil, B, m)
	sum := mk("rowsum", nil, B, m)
	for it := 0; it < 12; it++ {
		b.Axpby(0.1, G, 1, P)
		after()
		b.Gemm(false, true, 1, X, P, 0, Y)
		after()
		b.BroadcastAdd(Y, Y, -1, bias, kernels.PerCol)
		after()
		b.PosShrink(Y, Y, theta)
		after()
		b.Axpby(1, Y, 1, sum)
		after()
		b.Gemm(true, false, 0.01, Y, X, 0, G)
		after()
		b.ProjectNormBall(P, 0.5, kernels.PerRow)
		after()
	}
	return names, ts
}

type diagChain func(b kernels.Backend, in *diagChainInputs, after func()) ([]string, map[string]kernels.Tensor)

// runDiagChain runs a chain and downloads every tensor (after the whole chain).
func runDiagChain(b kernels.Backend, chain diagChain, in *diagChainInputs, sync bool) (names []string, vals map[string][]float32, err error) {
	var ts map[string]kernels.Tensor
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		for _, x := range ts {
			b.Free(x)
		}
	}()
	after := func() {}
	if sync {
		after = func() {
			if e := b.Sync(); e != nil && err == nil {
				err = e
			}
		}
	}
	names, ts = chain(b, in, after)
	vals = map[string][]float32{}
	for _, name := range names {
		v := make([]float32, ts[name].Len())
		if e := b.Download(v, ts[name]); e != nil {
			return nil, nil, e
		}
		vals[name] = v
	}
	return names, vals, err
}

// TestDiagChained runs the chains on the gpu backend twice without any Sync, once with a Sync
// after every op, and on the cpu backend. Per tensor it logs: unsynced vs synced (must be bit
// for bit equal: the shaders have a fixed order of summation), unsynced vs unsynced (a race
// shows up as a difference), and gpu vs cpu (relative L2 difference and bad elements; a few
// bad elements where a pre-activation sits at its threshold are rounding, a large relative
// L2 difference is not).
func TestDiagChained(t *testing.T) {
	gb := backend(t)
	if testing.Short() {
		t.Skip("about 20 s on llvmpipe: skipped with -short")
	}
	cb := cpu.New()
	defer cb.Close()
	in := newDiagChainInputs()
	for _, ch := range []struct {
		name  string
		chain diagChain
	}{{"DrSAEStep", diagChainDrSAE}, {"InPlaceLoop", diagChainInPlace}} {
		names, fast, err := runDiagChain(gb, ch.chain, in, false)
		if err != nil {
			t.Errorf("%s: gpu, no syncs: %v", ch.name, err)
			continue
		}
		_, fast2, err := runDiagChain(gb, ch.chain, in, false)
		if err != nil {
			t.Errorf("%s: gpu, no syncs, again: %v", ch.name, err)
			continue
		}
		_, synced, err := runDiagChain(gb, ch.chain, in, true)
		if err != nil {
			t.Errorf("%s: gpu, synced: %v", ch.name, err)
			continue
		}
		_, want, err := runDiagChain(cb, ch.chain, in, false)
		if err != nil {
			t.Errorf("%s: cpu: %v", ch.name, err)
			continue
		}
		var hazards, races, far []string
		for _, name := range names {
			f, f2, s, w := fast[name], fast2[name], synced[name], want[name]
			nSync, firstSync := diagIdentical(f, s)
			nRace, _ := diagIdentical(f, f2)
			rel, nanDiff := diagRelL2(f, w)
			relSynced, _ := diagRelL2(s, w)
			_, bad := diagCompare(nil, f, w, 1e-3)
			line := fmt.Sprintf("%s %-8s n=%-6d unsynced≠synced: %d", ch.name, name, len(f), nSync)
			if nSync > 0 {
				line += fmt.Sprintf(" (first [%d] unsynced %.7g synced %.7g)", firstSync, f[firstSync], s[firstSync])
				hazards = append(hazards, name)
			}
			line += fmt.Sprintf(" | run≠run: %d | vs cpu: relL2 %.3g (synced %.3g) bad %d NaN-mismatch %d", nRace, rel, relSynced, bad, nanDiff)
			if nRace > 0 {
				races = append(races, name)
			}
			if rel > 1e-3 || nanDiff > 0 {
				far = append(far, name)
			}
			if nSync > 0 || nRace > 0 || rel > 1e-3 || nanDiff > 0 {
				t.Errorf("BAD %s", line)
			} else {
				t.Logf("ok  %s", line)
			}
		}
		t.Logf("SUMMARY %s: differ without syncs (missing barrier?): %v; differ run to run: %v; far from cpu (relL2 > 1e-3): %v",
			ch.name, hazards, races, far)
	}
}

// ---- shader variants ----

// diagReplace returns src with old replaced by new (all occurrences), and fails if old is absent.
