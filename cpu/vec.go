package cpu

import (
	"math"
	"os"
	"sync"
)

// vecKernels are the inner loops of the memory-bound ops: elementwise arithmetic, shrinkage and
// the group ops. Each loop works on equal-length slices (th, v as long as x) and computes, for
// every element, what the portable Go loop computes, bit for bit; the group ops, where a
// path has them (poolGather8 non-nil), sum in float32 with fused multiply-adds instead of the
// portable path's float64. addScaled and shrink take whole rows: x and d hold rows of len(v)
// (len(th)) elements, v (th) applying to each, so that a path can run a matrix in one call.
type vecKernels struct {
	name      string
	fill      func(d []float32, v float32)
	axpby     func(alpha float32, x []float32, beta float32, y []float32) // y = α·x + β·y, y unread if β = 0
	mul       func(d, x, y []float32)                                     // d = x·y
	div       func(d, x, y []float32)                                     // d = x/y
	addScaled func(d, x []float32, a float32, v []float32)                // d = x + a·v, v a row (below)
	addConst  func(d, x []float32, c float32)                             // d = x + c
	mulConst  func(d, x []float32, c float32)                             // d = x·c
	shrink    func(d, x, th []float32, twoSided bool)                     // SoftShrink, PosShrink, th a row
	// shrinkBackward runs a strip of len(th) units down rows rows, row r at element r·ld of
	// dx, dy and x: dx = dy where active, else 0; sums (float64, may be nil) −= s·dy where
	// active (s = sign(x) two-sided, 1 one-sided), the rows summed in order. dx may be nil
	// where sums is not: the sums alone.
	shrinkBackward func(dx, dy, x []float32, ld, rows int, th []float32, sums []float64, twoSided bool)

	// The blocked group ops of groups8.go, nil where the path has none. poolGather8 and
	// blockScale are described at poolGather8AVX2 and blockScaleAVX2; toColumns8 writes
	// dst[8i+r] = src[r·ld+i] and fromColumns8 dst[r·ld+i] = src[8i+r], for r < 8, i < n.
	poolGather8  func(dst, t []float32, start, idx []int32, w []float32, init float32, norm bool)
	blockScale   func(s []float32, tau float32)
	toColumns8   func(dst, src []float32, ld, n int)
	fromColumns8 func(dst []float32, ld int, src []float32, n int)
}

// bestVecKernels is the fastest path this CPU runs, or the one DRSAE_CPU_VEC names (avx512, avx2, go)
// where this CPU runs it.
func bestVecKernels() *vecKernels {
	ks := vecKernelList()
	if want := os.Getenv("DRSAE_CPU_VEC"); want != "" {
		for _, k := range ks {
			if k.name == want {
				return k
			}
		}
	}
	return ks[0]
}

// vecGo is the portable path.
var vecGo = &vecKernels{
	name:           "go",
	fill:           fillGo,
	axpby:          axpbyGo,
	mul:            mulGo,
	div:            divGo,
	addScaled:      addScaledGo,
	addConst:       addConstGo,
	mulConst:       mulConstGo,
	shrink:         shrinkGo,
	shrinkBackward: shrinkBackwardGo,
}

func fillGo(d []float32, v float32) {
	for i := range d {
		d[i] = v
	}
}

func axpbyGo(alpha float32, x []float32, beta float32, y []float32) {
	y = y[:len(x)]
	if beta == 0 {
		for i, v := range x {
			y[i] = alpha * v
		}
		return
	}
	for i, v := range x {
		y[i] = alpha*v + beta*y[i]
	}
}

func mulGo(d, x, y []float32) {
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = x[i] * y[i]
	}
}

func divGo(d, x, y []float32) {
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = x[i] / y[i]
	}
}

func addScaledGo(d, x []float32, a float32, v []float32) {
	eachRow(d, x, v, func(d, x, v []float32) { addScaledRowGo(d, x, a, v) })
}

// eachRow runs fn on each row of len(v) elements of d and x.
func eachRow(d, x, v []float32, fn func(d, x, v []float32)) {
	m := len(v)
	for r := range wholeRows(d, x, v) {
		fn(d[r*m:(r+1)*m], x[r*m:(r+1)*m], v)
	}
}

// wholeRows is the number of rows of len(v) elements d holds, after checking that d is whole
// rows and x at least as long (what the row loops of the assembly rely on).
func wholeRows(d, x, v []float32) int {
	if len(v) == 0 || len(d) == 0 {
		return 0
	}
	if len(d)%len(v) != 0 || len(x) < len(d) {
		panic("cpu: a row loop on lengths that are not whole rows")
	}
	return len(d) / len(v)
}

func addScaledRowGo(d, x []float32, a float32, v []float32) {
	x, v = x[:len(d)], v[:len(d)]
	for i := range d {
		d[i] = x[i] + a*v[i]
	}
}

func addConstGo(d, x []float32, c float32) {
	x = x[:len(d)]
	for i := range d {
		d[i] = x[i] + c
	}
}

func mulConstGo(d, x []float32, c float32) {
	x = x[:len(d)]
	for i := range d {
		d[i] = x[i] * c
	}
}

func shrinkGo(d, x, th []float32, twoSided bool) {
	eachRow(d, x, th, func(d, x, th []float32) { shrinkRowGo(d, x, th, twoSided) })
}

func shrinkRowGo(d, x, th []float32, twoSided bool) {
	d, th = d[:len(x)], th[:len(x)]
	if !twoSided {
		for i, v := range x {
			d[i] = max(v-th[i], 0)
		}
		return
	}
	for i, v := range x {
		// sign(v)·max(|v|−θ, 0) with the sign copied bitwise: no data-dependent branch,
		// which random-signed codes would mispredict half the time.
		r := max(abs(v)-th[i], 0)
		d[i] = math.Float32frombits(math.Float32bits(r) | math.Float32bits(v)&(1<<31))
	}
}

func shrinkBackwardGo(dx, dy, x []float32, ld, rows int, th []float32, sums []float64, twoSided bool) {
	for r := range rows {
		o := r * ld
		shrinkBackwardRow(from(dx, o), dy[o:], x[o:o+len(th)], th, sums, twoSided)
	}
}

// from is s[o:], or nil for a nil s.
func from(s []float32, o int) []float32 {
	if s == nil {
		return nil
	}
	return s[o:]
}

// shrinkBackwardRow is one row of shrinkBackwardGo, len(x) units; a nil dx (with sums) is not
// written.
func shrinkBackwardRow(dx, dy, x, th []float32, sums []float64, twoSided bool) {
	dy, th = dy[:len(x)], th[:len(x)]
	if dx != nil {
		dx = dx[:len(x)]
	}
	if sums != nil {
		sums = sums[:len(x)]
	}
	for i, v := range x {
		// Where the unit passes its threshold, ∂dst/∂x = 1 and ∂dst/∂θ = −sign(x)
		// (two-sided) or −1 (one-sided).
		g, active, s := dy[i], v > th[i], float32(1)
		if twoSided {
			active, s = abs(v) > th[i], sign(v)
		}
		if !active {
			g = 0
		} else if sums != nil {
			sums[i] -= float64(s * g)
		}
		if dx != nil {
			dx[i] = g
		}
	}
}

// scratch hands each goroutine of the blocked group ops a buffer of at least n floats; put it
// back with scratchPool.Put.
var scratchPool sync.Pool

func scratch(n int) *[]float32 {
	if p, ok := scratchPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}
