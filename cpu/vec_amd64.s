#include "textflag.h"

// AVX2 loops of the memory-bound ops (vec_amd64.go). Each handles n elements, n a multiple of 8
// (possibly 0); the Go wrappers check the bounds and run the remainder. Products and sums are
// separate instructions, never fused, so that each result is the one the Go loop computes.

// func vecFillAVX2(n int, d *float32, v float32)
TEXT ·vecFillAVX2(SB), NOSPLIT, $0-20
	MOVQ         n+0(FP), CX
	MOVQ         d+8(FP), DI
	VBROADCASTSS v+16(FP), Y0
	SHRQ         $3, CX
	JZ           filldone

fill:
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     fill

filldone:
	VZEROUPPER
	RET

// func vecAxpbyAVX2(n int, alpha float32, x *float32, beta float32, y *float32)
// y = α·x + β·y.
TEXT ·vecAxpbyAVX2(SB), NOSPLIT, $0-40
	MOVQ         n+0(FP), CX
	VBROADCASTSS alpha+8(FP), Y0
	MOVQ         x+16(FP), SI
	VBROADCASTSS beta+24(FP), Y1
	MOVQ         y+32(FP), DI
	SHRQ         $3, CX
	JZ           axpbydone

axpby:
	VMULPS  (SI), Y0, Y2
	VMULPS  (DI), Y1, Y3
	VADDPS  Y3, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     axpby

axpbydone:
	VZEROUPPER
	RET

// func vecMulAVX2(n int, d, x, y *float32)
// d = x·y.
TEXT ·vecMulAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ d+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ y+24(FP), DX
	SHRQ $3, CX
	JZ   muldone

mul:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     mul

muldone:
	VZEROUPPER
	RET

// func vecDivAVX2(n int, d, x, y *float32)
// d = x/y.
TEXT ·vecDivAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ d+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ y+24(FP), DX
	SHRQ $3, CX
	JZ   divdone

div:
	VMOVUPS (SI), Y0
	VDIVPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     div

divdone:
	VZEROUPPER
	RET

// func vecAddScaledAVX2(n int, d, x *float32, a float32, v *float32)
// d = x + a·v.
TEXT ·vecAddScaledAVX2(SB), NOSPLIT, $0-40
	MOVQ         n+0(FP), CX
	MOVQ         d+8(FP), DI
	MOVQ         x+16(FP), SI
	VBROADCASTSS a+24(FP), Y0
	MOVQ         v+32(FP), DX
	SHRQ         $3, CX
	JZ           adddone

add:
	VMULPS  (DX), Y0, Y1
	VADDPS  (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     add

adddone:
	VZEROUPPER
	RET

// func vecAddConstAVX2(n int, d, x *float32, c float32)
// d = x + c.
TEXT ·vecAddConstAVX2(SB), NOSPLIT, $0-28
	MOVQ         n+0(FP), CX
	MOVQ         d+8(FP), DI
	MOVQ         x+16(FP), SI
	VBROADCASTSS c+24(FP), Y0
	SHRQ         $3, CX
	JZ           addcdone

addc:
	VADDPS  (SI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     addc

addcdone:
	VZEROUPPER
	RET

// func vecMulConstAVX2(n int, d, x *float32, c float32)
// d = x·c.
TEXT ·vecMulConstAVX2(SB), NOSPLIT, $0-28
	MOVQ         n+0(FP), CX
	MOVQ         d+8(FP), DI
	MOVQ         x+16(FP), SI
	VBROADCASTSS c+24(FP), Y0
	SHRQ         $3, CX
	JZ           mulcdone

mulc:
	VMULPS  (SI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     mulc

mulcdone:
	VZEROUPPER
	RET

// func vecShrinkAVX2(n int, d, x, th *float32, twoSided int)
// Two-sided: d = sign(x)·max(|x| − θ, 0), the sign copied bitwise; one-sided: d = max(x − θ, 0).
// VMAXPS returns its second source when either is NaN or both are zeros; that source is x − θ,
// so a NaN stays NaN as Go's max keeps it, and the one-sided loop adds +0 to turn a −0 (x = −0,
// θ = +0) into Go's +0.
TEXT ·vecShrinkAVX2(SB), NOSPLIT, $0-40
	MOVQ      n+0(FP), CX
	MOVQ      d+8(FP), DI
	MOVQ      x+16(FP), SI
	MOVQ      th+24(FP), DX
	MOVQ      twoSided+32(FP), AX
	VXORPS    Y13, Y13, Y13 // 0
	VPCMPEQD  Y14, Y14, Y14
	VPSLLD    $31, Y14, Y14 // sign bit
	VPCMPEQD  Y15, Y15, Y15
	VPSRLD    $1, Y15, Y15  // all but the sign bit
	SHRQ      $3, CX
	JZ        shrinkdone
	TESTQ     AX, AX
	JZ        pos

soft:
	VMOVUPS (SI), Y0
	VANDPS  Y15, Y0, Y1
	VSUBPS  (DX), Y1, Y1
	VMAXPS  Y1, Y13, Y1
	VANDPS  Y14, Y0, Y2
	VORPS   Y2, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     soft
	JMP     shrinkdone

pos:
	VMOVUPS (SI), Y0
	VSUBPS  (DX), Y0, Y1
	VMAXPS  Y1, Y13, Y1
	VADDPS  Y13, Y1, Y1 // −0 (from x = −0, θ = +0) to +0, as Go's max gives
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     pos

shrinkdone:
	VZEROUPPER
	RET

// func vecShrinkBackwardAVX2(rows, ld, n int, dx, dy, x, th *float32, sums *float64, twoSided int)
// A strip of n units (a multiple of 8) down rows rows, row r at element r·ld of dx, dy and x:
// active = |x| > θ (two-sided) or x > θ; dx = active ? dy : 0; unless sums is nil,
// sums −= float64(s·dy) where active, s = sign(x) (two-sided) or 1, the rows summed in order
// in registers, 8 units at a time. Inactive lanes subtract ±0, which leaves every sum as it was
// (a sum starting at +0 never becomes −0). With sums, dx may be nil (0): the sums alone.
//
// Registers: R8 rows, R9 ld in bytes, CX groups of 8 left, DI dx, R10 dy, SI x, DX th, R11 sums
// (0: none), BX dx as passed (0: none); per group R12 walks the rows' byte offsets and R13
// counts them; Y14 masks x to |x| (two-sided) or keeps it, Y7 selects sign(x) (two-sided) or
// 1, Y8 and Y9 are the 8 sums.
TEXT ·vecShrinkBackwardAVX2(SB), NOSPLIT, $0-72
	MOVQ         rows+0(FP), R8
	MOVQ         ld+8(FP), R9
	SHLQ         $2, R9
	MOVQ         n+16(FP), CX
	MOVQ         dx+24(FP), DI
	MOVQ         dy+32(FP), R10
	MOVQ         x+40(FP), SI
	MOVQ         th+48(FP), DX
	MOVQ         sums+56(FP), R11
	MOVQ         twoSided+64(FP), AX
	VXORPS       Y12, Y12, Y12 // 0
	MOVL         $0x3f800000, BX
	MOVQ         BX, X13
	VBROADCASTSS X13, Y13      // 1
	NEGQ         AX
	MOVQ         AX, X7
	VPBROADCASTD X7, Y7        // all ones where two-sided
	VPSRLD       $1, Y7, Y14
	VPCMPEQD     Y15, Y15, Y15
	VPXOR        Y7, Y15, Y15
	VPOR         Y15, Y14, Y14 // two-sided: all but the sign bit; one-sided: all ones
	MOVQ         DI, BX        // 0: no dx
	SHRQ         $3, CX
	JZ           backdone
	TESTQ        R8, R8
	JZ           backdone

group:
	VMOVUPS (DX), Y2
	XORQ    R12, R12
	MOVQ    R8, R13
	TESTQ   R11, R11
	JZ      nosums
	VMOVUPD (R11), Y8
	VMOVUPD 32(R11), Y9

sumrow:
	VMOVUPS      (SI)(R12*1), Y0
	VANDPS       Y14, Y0, Y3
	VCMPPS       $0x1e, Y2, Y3, Y4  // x (or |x|) > θ, false for NaN
	VANDPS       (R10)(R12*1), Y4, Y5 // dy where active, else 0
	TESTQ        BX, BX
	JZ           nodx
	VMOVUPS      Y5, (DI)(R12*1)

nodx:
	VCMPPS       $0x1e, Y12, Y0, Y6 // x > 0
	VCMPPS       $0x11, Y12, Y0, Y10 // x < 0
	VANDPS       Y13, Y6, Y6
	VANDPS       Y13, Y10, Y10
	VSUBPS       Y10, Y6, Y6        // sign(x); 0 for NaN, which is never active
	VBLENDVPS    Y7, Y6, Y13, Y6    // two-sided: sign(x); one-sided: 1
	VMULPS       Y6, Y5, Y5
	VCVTPS2PD    X5, Y6
	VSUBPD       Y6, Y8, Y8
	VEXTRACTF128 $1, Y5, X5
	VCVTPS2PD    X5, Y6
	VSUBPD       Y6, Y9, Y9
	ADDQ         R9, R12
	DECQ         R13
	JNZ          sumrow
	VMOVUPD      Y8, (R11)
	VMOVUPD      Y9, 32(R11)
	ADDQ         $64, R11
	JMP          nextgroup

nosums:
	VMOVUPS (SI)(R12*1), Y0
	VANDPS  Y14, Y0, Y3
	VCMPPS  $0x1e, Y2, Y3, Y4
	VANDPS  (R10)(R12*1), Y4, Y5
	VMOVUPS Y5, (DI)(R12*1)
	ADDQ    R9, R12
	DECQ    R13
	JNZ     nosums

nextgroup:
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R10
	ADDQ $32, DI
	DECQ CX
	JNZ  group

backdone:
	VZEROUPPER
	RET

// func poolGather8AVX2(dst, t *float32, start, idx *int32, w *float32, n int, init float32, norm int)
// For j < n, with the 8 lanes of a row block side by side (t[8u+r] is row r of unit u):
// acc = init + Σ_{start[j] ≤ k < start[j+1]} w[k]·f(t[8·idx[k] + r]), f(v) = v² where norm is
// set (then dst[8j+r] = √acc), else f(v) = v (dst[8j+r] = acc); products fused into the sums.
TEXT ·poolGather8AVX2(SB), NOSPLIT, $0-64
	MOVQ         dst+0(FP), DI
	MOVQ         t+8(FP), SI
	MOVQ         start+16(FP), R8
	MOVQ         idx+24(FP), R9
	MOVQ         w+32(FP), R10
	MOVQ         n+40(FP), CX
	VBROADCASTSS init+48(FP), Y15
	MOVQ         norm+56(FP), DX
	TESTQ        CX, CX
	JZ           gatherdone
	MOVLQSX      (R8), AX
	TESTQ        DX, DX
	JZ           linpool

normpool:
	MOVLQSX 4(R8), BX
	VMOVAPS Y15, Y0
	CMPQ    AX, BX
	JGE     normstore

normmember:
	MOVLQSX      (R9)(AX*4), R11
	SHLQ         $5, R11
	VMOVUPS      (SI)(R11*1), Y1
	VMULPS       Y1, Y1, Y1
	VBROADCASTSS (R10)(AX*4), Y2
	VFMADD231PS  Y2, Y1, Y0
	INCQ         AX
	CMPQ         AX, BX
	JLT          normmember

normstore:
	VSQRTPS Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $4, R8
	DECQ    CX
	JNZ     normpool
	JMP     gatherdone

linpool:
	MOVLQSX 4(R8), BX
	VMOVAPS Y15, Y0
	CMPQ    AX, BX
	JGE     linstore

linmember:
	MOVLQSX      (R9)(AX*4), R11
	SHLQ         $5, R11
	VBROADCASTSS (R10)(AX*4), Y2
	VFMADD231PS  (SI)(R11*1), Y2, Y0
	INCQ         AX
	CMPQ         AX, BX
	JLT          linmember

linstore:
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $4, R8
	DECQ    CX
	JNZ     linpool

gatherdone:
	VZEROUPPER
	RET

// func blockScaleAVX2(n int, s *float32, tau float32)
// s = 1 − τ/s where s > τ, NaN where s is NaN, else 0: the factor of block soft thresholding,
// from the pool norms in s.
TEXT ·blockScaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         n+0(FP), CX
	MOVQ         s+8(FP), DI
	VBROADCASTSS tau+16(FP), Y14
	MOVL         $0x3f800000, BX
	MOVQ         BX, X13
	VBROADCASTSS X13, Y13 // 1
	SHRQ         $3, CX
	JZ           scaledone

scale:
	VMOVUPS (DI), Y0
	VCMPPS  $0x1e, Y14, Y0, Y1 // s > τ
	VCMPPS  $0x03, Y0, Y0, Y2  // s is NaN
	VORPS   Y2, Y1, Y1
	VDIVPS  Y0, Y14, Y3
	VSUBPS  Y3, Y13, Y3        // 1 − τ/s
	VANDPS  Y1, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     scale

scaledone:
	VZEROUPPER
	RET
