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

// vecAVX512 is vecAVX2 with the forward shrinkage 32 elements a step in zmm registers (on a Zen 5
// the AVX2 loop's 8 elements a step, not memory, bounded SoftShrink on cache-resident tensors);
// the rest of a row goes to vecAVX2's loops. The same operations, so the same bits.
var vecAVX512 = func() *vecKernels {
	v := *vecAVX2
	v.name = "avx512"
	v.shrink = func(d, x, th []float32, twoSided bool) {
		n := len(x) &^ 31
		if n > 0 {
			_, _ = d[n-1], th[n-1]
			vecShrinkAVX512(n, &d[0], &x[0], &th[0], flag(twoSided))
		}
		vecAVX2.shrink(d[n:], x[n:], th[n:], twoSided)
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
		n := len(d) &^ 7
		if n > 0 {
			_, _ = x[n-1], v[n-1]
			vecAddScaledAVX2(n, &d[0], &x[0], a, &v[0])
		}
		addScaledGo(d[n:], x[n:], a, v[n:])
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
		n := len(x) &^ 7
		if n > 0 {
			_, _ = d[n-1], th[n-1]
			vecShrinkAVX2(n, &d[0], &x[0], &th[0], flag(twoSided))
		}
		shrinkGo(d[n:], x[n:], th[n:], twoSided)
	},
	shrinkBackward: func(dx, dy, x []float32, ld, rows int, th []float32, sums []float64, twoSided bool) {
		n := len(th) &^ 7
		if n > 0 && rows > 0 {
			last := (rows-1)*ld + n - 1
			_, _, _ = dx[last], dy[last], x[last]
			var s *float64
			if sums != nil {
				_ = sums[n-1]
				s = &sums[0]
			}
			// Chunks of rows small enough that, while a group of 8 units walks down one, the
			// cache lines it shares with the next group stay in L1.
			for r0 := 0; r0 < rows; r0 += backwardChunk {
				o := r0 * ld
				vecShrinkBackwardAVX2(min(backwardChunk, rows-r0), ld, n, &dx[o], &dy[o], &x[o], &th[0], s, flag(twoSided))
			}
		}
		if n < len(th) {
			var rest []float64
			if sums != nil {
				rest = sums[n:]
			}
			shrinkBackwardGo(dx[n:], dy[n:], x[n:], ld, rows, th[n:], rest, twoSided)
		}
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
func vecShrinkAVX512(n int, d, x, th *float32, twoSided int)

//go:noescape
func vecShrinkBackwardAVX2(rows, ld, n int, dx, dy, x, th *float32, sums *float64, twoSided int)

//go:noescape
func poolGather8AVX2(dst, t *float32, start, idx *int32, w *float32, n int, init float32, norm int)

//go:noescape
func blockScaleAVX2(n int, s *float32, tau float32)
