package cpu

import (
	"golang.org/x/sys/cpu"
)

// kernelAVX2 is the AVX2+FMA micro-kernel: a 6×16 block of C in twelve 8-wide registers, the
// shape that keeps both FMA pipes busy with two B loads and six broadcasts per step.
var kernelAVX2 = &gemmKernel{name: "avx2-fma 6x16", mr: 6, nr: 16, fn: gemmKernelAVX2}

// sgemmKernel6x16AVX2: c[i·ldc+j] += α·Σ_{p<k} a[6p+i]·b[16p+j] for i < 6, j < 16; k ≥ 1.
//
//go:noescape
func sgemmKernel6x16AVX2(k int, alpha float32, a, b, c *float32, ldc int)

func gemmKernelAVX2(k int, alpha float32, a, b, c []float32, ldc int) {
	// Bounds checked here once, so the assembly stays inside the slices.
	_, _, _ = a[6*k-1], b[16*k-1], c[5*ldc+15]
	sgemmKernel6x16AVX2(k, alpha, &a[0], &b[0], &c[0], ldc)
}

// The packing routines of gemm_pack_amd64.s, for whole slivers (6 rows of A, 16 columns of B);
// kb ≥ 1. Their bounds are checked by the callers below.

//go:noescape
func packA6(dst, a *float32, lda, kb int)

//go:noescape
func packA6T(dst, a *float32, lda, kb int)

//go:noescape
func packB16(dst, b *float32, ldb, kb int)

//go:noescape
func packB16T(dst, b *float32, ldb, kb int)

// packWholeA packs 6 rows starting at a[0] (see packA) and reports whether it could.
func packWholeA(dst []float32, transA bool, a []float32, lda, rows, kb, mr int) bool {
	if rows != 6 || mr != 6 || kb < 1 {
		return false
	}
	_ = dst[6*kb-1]
	if transA {
		_ = a[(kb-1)*lda+5]
		packA6T(&dst[0], &a[0], lda, kb)
	} else {
		_ = a[5*lda+kb-1]
		packA6(&dst[0], &a[0], lda, kb)
	}
	return true
}

// packWholeB packs 16 columns starting at b[0] (see packB) and reports whether it could.
func packWholeB(dst []float32, transB bool, b []float32, ldb, cols, kb, nr int) bool {
	if cols != 16 || nr != 16 || kb < 1 {
		return false
	}
	_ = dst[16*kb-1]
	if transB {
		_ = b[15*ldb+kb-1]
		if kb >= 8 { // 8×8 blocks in registers, 4 times the speed of packB16T
			packTransposed(dst, 16, b, ldb, 0, 16, 0, kb)
		} else {
			packB16T(&dst[0], &b[0], ldb, kb)
		}
	} else {
		_ = b[(kb-1)*ldb+15]
		packB16(&dst[0], &b[0], ldb, kb)
	}
	return true
}

// gemmKernels lists the micro-kernels this CPU can run, fastest first; the last is portable.
// The AVX-512 product leads where the CPU has AVX-512F: on a Zen 4 core, which runs a zmm FMA as
// two halves and so has the FMA rate of AVX2, it still measured 1.06–1.18× the AVX2 product at
// the DrSAE shapes and 1024³ on 2 threads, and 0.96–1.06× on 1 (bench/RESULTS.md), from its
// blocking and its split of the columns.
func gemmKernels() []*gemmKernel {
	var ks []*gemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, kernelAVX512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, kernelAVX2)
	}
	return append(ks, kernelGo)
}
