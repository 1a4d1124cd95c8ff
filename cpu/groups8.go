package cpu

import "github.com/drsae/drsae/kernels"

// The group ops on paths with vector loops (vecKernels.poolGather8 non-nil) run on blocks of 8
// rows turned on their side: t[8u+r] holds row r of unit u, so that one 8-wide load serves a
// (pool, member) pair for all 8 rows and no gather instruction is needed. A block of fewer rows
// (the last) is padded, so every row is computed the same way wherever it sits in the batch.

// blocked is what those paths need of a layout beyond the layout itself: the transpose's pools
// and weights in member order, unit weights, and the units in no pool.
type blocked struct {
	unitPool   []int32   // pool of each position of Member: PoolOf[Member[q]]
	unitWeight []float32 // Weight[Member[q]]
	ones       []float32 // 1 for each (pool, member) pair
	poolless   []int32   // units in no pool
}

// newBlocked builds l's blocked form, or returns nil if l's arrays are not the consistent
// ranges the assembly relies on (then the portable loops run and report the fault).
func newBlocked(l *kernels.PoolLayout) *blocked {
	np, pairs := l.NumPools(), len(l.Index)
	if !rising(l.Start, pairs) || !rising(l.MemberStart, pairs) || !within(l.Index, l.Units) ||
		!within(l.Member, pairs) || !within(l.PoolOf, np) || len(l.Weight) != pairs {
		return nil
	}
	bl := &blocked{unitPool: make([]int32, pairs), unitWeight: make([]float32, pairs), ones: make([]float32, pairs)}
	for q, k := range l.Member {
		bl.unitPool[q], bl.unitWeight[q], bl.ones[q] = l.PoolOf[k], l.Weight[k], 1
	}
	for i := range l.Units {
		if l.MemberStart[i] == l.MemberStart[i+1] {
			bl.poolless = append(bl.poolless, int32(i))
		}
	}
	return bl
}

// rising reports whether s starts at 0, never falls and ends at end.
func rising(s []int32, end int) bool {
	if len(s) == 0 || s[0] != 0 || int(s[len(s)-1]) != end {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < s[i-1] {
			return false
		}
	}
	return true
}

// within reports whether every value of s is in [0, n).
func within(s []int32, n int) bool {
	for _, v := range s {
		if v < 0 || int(v) >= n {
			return false
		}
	}
	return true
}

// blockOf returns rows [8b, 8b+8) of a [rows, width] matrix as a slice of 8·width values: d
// itself where all 8 exist, else pad holding the rows there are, then fill.
func blockOf(d, pad []float32, b, rows, width int, fill float32) []float32 {
	r0, n := 8*b, min(8, rows-8*b)
	if n == 8 {
		return d[r0*width : (r0+8)*width]
	}
	pad = pad[:8*width]
	copy(pad, d[r0*width:(r0+n)*width])
	for i := n * width; i < len(pad); i++ {
		pad[i] = fill
	}
	return pad
}

// putBlock writes the rows of block b that exist from out, where out is not d itself.
func putBlock(d, out []float32, b, rows, width int) {
	r0, n := 8*b, min(8, rows-8*b)
	if n < 8 {
		copy(d[r0*width:(r0+n)*width], out)
	}
}

// outBlock is where block b's result goes: d itself for a whole block, else pad (then putBlock).
func outBlock(d, pad []float32, b, rows, width int) []float32 {
	r0, n := 8*b, min(8, rows-8*b)
	if n == 8 {
		return d[r0*width : (r0+8)*width]
	}
	return pad[:8*width]
}

// eachBlock runs fn over the blocks of 8 rows, split over goroutines, with a scratch buffer of
// n floats per goroutine.
func (be *Backend) eachBlock(rows, work, n int, fn func(b int, buf []float32)) {
	be.parallelFor((rows+7)/8, work, func(lo, hi int) {
		p := scratch(n)
		defer scratchPool.Put(p)
		for b := lo; b < hi; b++ {
			fn(b, *p)
		}
	})
}

func (be *Backend) poolNorms8(dd, zd []float32, l *kernels.PoolLayout, rows int, eps float32) {
	v, m, np := be.vec, l.Units, l.NumPools()
	w := max(m, np)
	be.eachBlock(rows, rows*len(l.Index), 8*(m+np+w), func(b int, buf []float32) {
		t, acc, pad := buf[:8*m], buf[8*m:8*(m+np)], buf[8*(m+np):]
		v.toColumns8(t, blockOf(zd, pad, b, rows, m, 0), m, m)
		v.poolGather8(acc, t, l.Start, l.Index, l.Weight, eps, true)
		out := outBlock(dd, pad, b, rows, np)
		v.fromColumns8(out, np, acc, np)
		putBlock(dd, out, b, rows, np)
	})
}

// poolNormsBackward8: q = dy/norms on the side, Σ over a unit's pools of w·q by the transpose,
// then times z row by row.
func (be *Backend) poolNormsBackward8(dzd, dyd, zd, nd []float32, l *kernels.PoolLayout, bl *blocked, rows int) {
	v, m, np := be.vec, l.Units, l.NumPools()
	w := max(m, np)
	be.eachBlock(rows, rows*len(l.Index), 8*(2*np+m+w), func(b int, buf []float32) {
		qy, qn, acc, pad := buf[:8*np], buf[8*np:16*np], buf[16*np:8*(2*np+m)], buf[8*(2*np+m):]
		v.toColumns8(qy, blockOf(dyd, pad, b, rows, np, 0), np, np)
		v.toColumns8(qn, blockOf(nd, pad, b, rows, np, 1), np, np)
		v.div(qy, qy, qn)
		v.poolGather8(acc, qy, l.MemberStart, bl.unitPool, bl.unitWeight, 0, false)
		out := outBlock(dzd, pad, b, rows, m)
		v.fromColumns8(out, m, acc, m)
		r0, n := 8*b, min(8, rows-8*b)
		v.mul(out[:n*m], out[:n*m], zd[r0*m:(r0+n)*m])
		putBlock(dzd, out, b, rows, m)
	})
}

// blockSoftThreshold8: pool norms, their factors, each unit's factor through the transpose
// (one pool per unit: the pools are disjoint), times x; units in no pool are copied.
func (be *Backend) blockSoftThreshold8(dd, xd []float32, l *kernels.PoolLayout, bl *blocked, rows int, tau float32) {
	v, m, np := be.vec, l.Units, l.NumPools()
	np8 := (np + 7) &^ 7 // blockScale runs whole vectors
	be.eachBlock(rows, rows*m, 8*(2*m+np8), func(b int, buf []float32) {
		t, s, pad := buf[:8*m], buf[8*m:8*(m+np8)], buf[8*(m+np8):]
		x := blockOf(xd, pad, b, rows, m, 0)
		v.toColumns8(t, x, m, m)
		v.poolGather8(s, t, l.Start, l.Index, bl.ones, 0, true)
		v.blockScale(s, tau)
		v.poolGather8(t, s, l.MemberStart, bl.unitPool, bl.ones, 0, false)
		out := outBlock(dd, pad, b, rows, m)
		v.fromColumns8(out, m, t, m)
		r0, n := 8*b, min(8, rows-8*b)
		xs := xd[r0*m : (r0+n)*m]
		v.mul(out[:n*m], out[:n*m], xs)
		for r := range n {
			for _, i := range bl.poolless {
				out[r*m+int(i)] = xs[r*m+int(i)]
			}
		}
		putBlock(dd, out, b, rows, m)
	})
}
