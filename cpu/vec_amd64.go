package cpu

import "golang.org/x/sys/cpu"

// vecKernelList lists the paths this CPU runs, fastest first; the last is portable.
func vecKernelList() []*vecKernels {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return []*vecKernels{vecAVX512, vecAVX2, vecGo}
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return []*vecKernels{vecAVX2, vecGo}
	}
	return []*vecKernels{vecGo}
}

// vecAVX512 is vecAVX2 with the loops that bounded cache-resident ops on a Zen 5 in zmm
// registers (vec512_amd64.s): fill, addScaled and the forward shrinkage over whole matrices
// in one call, the backward shrinkage a row at a time. The same operations, so the same bits.
var vecAVX512 = func() *vecKernels {
	v := *vecAVX2
	v.name = "avx512"
	v.fill = func(d []float32, c float32) {
		if len(d) > 0 {
			vecFillAVX512(len(d), &d[0], c)
		}
	}
	v.addScaled = func(d, x []float32, a float32, u []float32) {
		if rows := wholeRows(d, x, u); rows > 0 {
			vecAddScaledRowsAVX512(rows, len(u), &d[0], &x[0], a, &u[0])
		}
	}
	v.shrink = func(d, x, th []float32, twoSided bool) {
		if rows := wholeRows(d, x, th); rows > 0 {
			vecShrinkRowsAVX512(rows, len(th), &d[0], &x[0], &th[0], flag(twoSided))
		}
	}
	v.shrinkBackward = func(dx, dy, x []float32, ld, rows int, th []float32, sums []float64, twoSided bool) {
		shrinkBackwardVec(vecShrinkBackwardAVX512, 16, rows, vecAVX2.shrinkBackward, dx, dy, x, ld, rows, th, sums, twoSided)
	}
	return &v
}()

// vecAVX2 runs whole groups of 8 elements in the assembly of vec_amd64.s and the rest in the
// portable loops. Each wrapper checks the bounds the assembly then relies on.
var vecAVX2 = &vecKernels{
	name: "avx2",
	fill: func(d []float32, v float32) {
		n := len(d) &^ 7
		if n > 0 {
			vecFillAVX2(n, &d[0], v)
		}
		fillGo(d[n:], v)
	},
	axpby: func(alpha float32, x []float32, beta float32, y []float32) {
		n := len(x) &^ 7
		if n > 0 {
			_ = y[n-1]
			if beta == 0 {
				vecMulConstAVX2(n, &y[0], &x[0], alpha)
			} else {
				vecAxpbyAVX2(n, alpha, &x[0], beta, &y[0])
			}
		}
		axpbyGo(alpha, x[n:], beta, y[n:])
	},
	mul: func(d, x, y []float32) {
		n := len(d) &^ 7
		if n > 0 {
			_, _ = x[n-1], y[n-1]
			vecMulAVX2(n, &d[0], &x[0], &y[0])
		}
		mulGo(d[n:], x[n:], y[n:])
	},
	div: func(d, x, y []float32) {
		n := len(d) &^ 7
		if n > 0 {
			_, _ = x[n-1], y[n-1]
			vecDivAVX2(n, &d[0], &x[0], &y[0])
		}
		divGo(d[n:], x[n:], y[n:])
	},
	addScaled: func(d, x []float32, a float32, v []float32) {
		eachRow(d, x, v, func(d, x, v []float32) {
			n := len(d) &^ 7
			if n > 0 {
				_, _ = x[n-1], v[n-1]
				vecAddScaledAVX2(n, &d[0], &x[0], a, &v[0])
			}
			addScaledRowGo(d[n:], x[n:], a, v[n:])
		})
	},
	addConst: func(d, x []float32, c float32) {
		n := len(d) &^ 7
		if n > 0 {
			_ = x[n-1]
			vecAddConstAVX2(n, &d[0], &x[0], c)
		}
		addConstGo(d[n:], x[n:], c)
	},
	mulConst: func(d, x []float32, c float32) {
		n := len(d) &^ 7
		if n > 0 {
			_ = x[n-1]
			vecMulConstAVX2(n, &d[0], &x[0], c)
		}
		mulConstGo(d[n:], x[n:], c)
	},
	shrink: func(d, x, th []float32, twoSided bool) {
		eachRow(d, x, th, func(d, x, th []float32) {
			n := len(x) &^ 7
			if n > 0 {
				_, _ = d[n-1], th[n-1]
				vecShrinkAVX2(n, &d[0], &x[0], &th[0], flag(twoSided))
			}
			shrinkRowGo(d[n:], x[n:], th[n:], twoSided)
		})
	},
	shrinkBackward: func(dx, dy, x []float32, ld, rows int, th []float32, sums []float64, twoSided bool) {
		// Chunks of rows small enough that, while a group of 8 units walks down one, the cache
		// lines it shares with the next group stay in L1.
		shrinkBackwardVec(vecShrinkBackwardAVX2, 8, backwardChunk, shrinkBackwardGo, dx, dy, x, ld, rows, th, sums, twoSided)
	},
	poolGather8: func(dst, t []float32, start, idx []int32, w []float32, init float32, norm bool) {
		n := len(start) - 1
		if n < 1 {
			return
		}
		// start must rise and idx lie in [0, len(t)/8): NewPools checks both of its layouts
		// once (checkBlocked), since the assembly trusts them.
		_ = dst[8*n-1]
		if hi := int(start[n]); hi > int(start[0]) {
			_, _ = idx[hi-1], w[hi-1]
		}
		poolGather8AVX2(&dst[0], &t[0], &start[0], &idx[0], &w[0], n, init, flag(norm))
	},
	blockScale: func(s []float32, tau float32) {
		n := len(s) &^ 7
		if n > 0 {
			blockScaleAVX2(n, &s[0], tau)
		}
		if n < len(s) {
			panic("cpu: blockScale: a length that is not a multiple of 8")
		}
	},
	toColumns8: func(dst, src []float32, ld, n int) {
		packTransposed(dst, 8, src, ld, 0, 8, 0, n)
	},
	fromColumns8: func(dst []float32, ld int, src []float32, n int) {
		packTransposed(dst, ld, src, 8, 0, n, 0, 8)
	},
}

// shrinkBackwardVec is a shrinkBackward loop: the units in whole groups of width go to asm,
// chunk rows a call, the rest to rest.
func shrinkBackwardVec(asm func(rows, ld, n int, dx, dy, x, th *float32, sums *float64, twoSided int), width, chunk int,
	rest func(dx, dy, x []float32, ld, rows int, th []float32, sums []float64, twoSided bool),
	dx, dy, x []float32, ld, rows int, th []float32, sums []float64, twoSided bool) {
	n := len(th) / width * width
	if n > 0 && rows > 0 {
		last := (rows-1)*ld + n - 1
		_, _ = dy[last], x[last]
		if dx != nil {
			_ = dx[last]
		}
		var s *float64
		if sums != nil {
			_ = sums[n-1]
			s = &sums[0]
		}
		for r0 := 0; r0 < rows; r0 += chunk {
			o := r0 * ld
			asm(min(chunk, rows-r0), ld, n, at(dx, o), &dy[o], &x[o], &th[0], s, flag(twoSided))
		}
	}
	if n < len(th) {
		var rs []float64
		if sums != nil {
			rs = sums[n:]
		}
		rest(from(dx, n), dy[n:], x[n:], ld, rows, th[n:], rs, twoSided)
	}
}

// at is &s[o], or nil for a nil s.
func at(s []float32, o int) *float32 {
	if s == nil {
		return nil
	}
	return &s[o]
}

// backwardChunk is the rows of one call of vecShrinkBackwardAVX2: 3 arrays × 64 rows × 64 bytes
// is 12 KiB.
const backwardChunk = 64

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

//go:noescape
func vecFillAVX2(n int, d *float32, v float32)

//go:noescape
func vecAxpbyAVX2(n int, alpha float32, x *float32, beta float32, y *float32)

//go:noescape
func vecMulAVX2(n int, d, x, y *float32)

//go:noescape
func vecDivAVX2(n int, d, x, y *float32)

//go:noescape
func vecAddScaledAVX2(n int, d, x *float32, a float32, v *float32)

//go:noescape
func vecAddConstAVX2(n int, d, x *float32, c float32)

//go:noescape
func vecMulConstAVX2(n int, d, x *float32, c float32)

//go:noescape
func vecShrinkAVX2(n int, d, x, th *float32, twoSided int)

//go:noescape
func vecFillAVX512(n int, d *float32, v float32)

//go:noescape
func vecAddScaledRowsAVX512(rows, m int, d, x *float32, a float32, v *float32)

//go:noescape
func vecShrinkRowsAVX512(rows, m int, d, x, th *float32, twoSided int)

//go:noescape
func vecShrinkBackwardAVX512(rows, ld, n int, dx, dy, x, th *float32, sums *float64, twoSided int)

//go:noescape
func vecShrinkBackwardAVX2(rows, ld, n int, dx, dy, x, th *float32, sums *float64, twoSided int)

//go:noescape
func poolGather8AVX2(dst, t *float32, start, idx *int32, w *float32, n int, init float32, norm int)

//go:noescape
func blockScaleAVX2(n int, s *float32, tau float32)
