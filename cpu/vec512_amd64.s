#include "textflag.h"

// AVX-512 loops of the memory-bound ops (vecAVX512 in vec_amd64.go). Each does the same
// operations as its AVX2 loop in vec_amd64.s, 16 lanes to a register, so the results are the
// same bits. The row loops take whole matrices ([rows, m], rows contiguous) and finish each row
// with a masked vector, so that no row leaves the assembly: at 400 units a row, the per-call cost
// of a row at a time was a third of an op's time on cache-resident tensors.

// func vecFillAVX512(n int, d *float32, v float32)
// d = v, any n.
TEXT ·vecFillAVX512(SB), NOSPLIT, $0-20
	MOVQ         n+0(FP), CX
	MOVQ         d+8(FP), DI
	VBROADCASTSS v+16(FP), Z0
	MOVQ         CX, BX
	SHRQ         $6, CX
	JZ           fill16

fill64:
	VMOVUPS Z0, (DI)
	VMOVUPS Z0, 64(DI)
	VMOVUPS Z0, 128(DI)
	VMOVUPS Z0, 192(DI)
	ADDQ    $256, DI
	DECQ    CX
	JNZ     fill64

fill16:
	ANDQ $63, BX
	MOVQ BX, CX
	SHRQ $4, CX
	JZ   filltail

fill16loop:
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     fill16loop

filltail:
	ANDQ  $15, BX
	JZ    filldone
	MOVQ  BX, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	VMOVUPS Z0, K1, (DI)

filldone:
	VZEROUPPER
	RET

// tailMask reads m from R9 and sets K1 to the low m mod 16 lanes, R12 to their bytes, R10 to
// whether m mod 32 ≥ 16 (16 or 0) and R9 to m/32; it uses AX and CX.
#define tailMask \
	MOVQ  R9, CX     \
	ANDQ  $15, CX    \
	MOVL  $1, AX     \
	SHLL  CX, AX     \
	DECL  AX         \
	KMOVW AX, K1     \
	LEAQ  (CX*4), R12 \
	MOVQ  R9, R10    \
	ANDQ  $16, R10   \
	SHRQ  $5, R9

// func vecShrinkRowsAVX512(rows, m int, d, x, th *float32, twoSided int)
// vecShrinkAVX2 over rows rows of m elements, th [m] for each: two-sided,
// d = max(|x| − θ, 0) with x's sign; one-sided, d = max(x − θ, 0) (the same instructions with
// Z15 all ones and Z14 zero). The max returns its second operand for two zeros, so +0 is added
// to turn the −0 of a one-sided x = −0, θ = +0 into the +0 of Go's max (a no-op otherwise: the
// two-sided |x| − θ is never −0). d may be x.
TEXT ·vecShrinkRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ       rows+0(FP), R8
	MOVQ       m+8(FP), R9
	MOVQ       d+16(FP), DI
	MOVQ       x+24(FP), SI
	MOVQ       th+32(FP), R11
	MOVQ       twoSided+40(FP), AX
	VPXORD     Z13, Z13, Z13                  // 0
	NEGQ       AX
	VPBROADCASTD AX, Z14                      // all ones where two-sided
	VPSLLD     $31, Z14, Z14                  // two-sided: the sign bit; one-sided: 0
	VPTERNLOGD $0xff, Z15, Z15, Z15
	VPXORD     Z14, Z15, Z15                  // two-sided: all but the sign bit; one-sided: all ones
	tailMask
	TESTQ      R8, R8
	JZ         shrinkrowsdone

shrinkrow:
	MOVQ R11, DX
	MOVQ R9, CX
	TESTQ CX, CX
	JZ   shrink16

shrink32:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z3
	VANDPS  Z15, Z0, Z1
	VANDPS  Z15, Z3, Z4
	VSUBPS  (DX), Z1, Z1
	VSUBPS  64(DX), Z4, Z4
	VMAXPS  Z1, Z13, Z1
	VMAXPS  Z4, Z13, Z4
	VADDPS  Z13, Z1, Z1
	VADDPS  Z13, Z4, Z4
	VANDPS  Z14, Z0, Z2
	VANDPS  Z14, Z3, Z5
	VORPS   Z2, Z1, Z1
	VORPS   Z5, Z4, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z4, 64(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	DECQ    CX
	JNZ     shrink32

shrink16:
	TESTQ   R10, R10
	JZ      shrinktail
	VMOVUPS (SI), Z0
	VANDPS  Z15, Z0, Z1
	VSUBPS  (DX), Z1, Z1
	VMAXPS  Z1, Z13, Z1
	VADDPS  Z13, Z1, Z1
	VANDPS  Z14, Z0, Z2
	VORPS   Z2, Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI

shrinktail:
	KORTESTW  K1, K1
	JZ        shrinknext
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z6
	VANDPS    Z15, Z0, Z1
	VSUBPS    Z6, Z1, Z1
	VMAXPS    Z1, Z13, Z1
	VADDPS    Z13, Z1, Z1
	VANDPS    Z14, Z0, Z2
	VORPS     Z2, Z1, Z1
	VMOVUPS   Z1, K1, (DI)
	ADDQ      R12, SI
	ADDQ      R12, DI

shrinknext:
	DECQ R8
	JNZ  shrinkrow

shrinkrowsdone:
	VZEROUPPER
	RET

// func vecAddScaledRowsAVX512(rows, m int, d, x *float32, a float32, v *float32)
// vecAddScaledAVX2 over rows rows of m elements: d = x + a·v, v [m] for each row (the product
// and the sum separate instructions, as the portable loop rounds them). d may be x.
TEXT ·vecAddScaledRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ         rows+0(FP), R8
	MOVQ         m+8(FP), R9
	MOVQ         d+16(FP), DI
	MOVQ         x+24(FP), SI
	VBROADCASTSS a+32(FP), Z0
	MOVQ         v+40(FP), R11
	tailMask
	TESTQ        R8, R8
	JZ           addrowsdone

addrow:
	MOVQ  R11, DX
	MOVQ  R9, CX
	TESTQ CX, CX
	JZ    add16

add32:
	VMULPS  (DX), Z0, Z1
	VMULPS  64(DX), Z0, Z2
	VADDPS  (SI), Z1, Z1
	VADDPS  64(SI), Z2, Z2
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	DECQ    CX
	JNZ     add32

add16:
	TESTQ   R10, R10
	JZ      addtail
	VMULPS  (DX), Z0, Z1
	VADDPS  (SI), Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI

addtail:
	KORTESTW  K1, K1
	JZ        addnext
	VMOVUPS.Z (DX), K1, Z1
	VMOVUPS.Z (SI), K1, Z2
	VMULPS    Z1, Z0, Z1
	VADDPS    Z2, Z1, Z1
	VMOVUPS   Z1, K1, (DI)
	ADDQ      R12, SI
	ADDQ      R12, DI

addnext:
	DECQ R8
	JNZ  addrow

addrowsdone:
	VZEROUPPER
	RET

// softRow and posRow add one row's 16 units at byte offset off of x, dy and dx to the sums in
// Z10 (units 0–7) and Z11 (8–15), thresholds in Z20, and write dx by store (storeDx or noDx):
// K1 = |x| > θ (x > θ one-sided; false for NaN), Z4 = dy where active, else 0; softRow's
// sign(x) is 1, −1 or +0 (NaN: +0, never active) from K3 = x > 0 and K4 = x < 0.
#define softRow(off, store) \
	VMOVUPS       (SI)(off*1), Z0          \
	VANDPS        Z14, Z0, Z2              \
	VCMPPS        $0x1e, Z20, Z2, K1       \
	VMOVUPS.Z     (R10)(off*1), K1, Z4     \
	store(off)                             \
	VCMPPS        $0x1e, Z12, Z0, K3       \
	VCMPPS        $0x11, Z12, Z0, K4       \
	VMOVAPS.Z     Z13, K3, Z6              \
	VMOVAPS       Z15, K4, Z6              \
	VMULPS        Z6, Z4, Z4               \
	VCVTPS2PD     Y4, Z8                   \
	VEXTRACTF64X4 $1, Z4, Y4               \
	VCVTPS2PD     Y4, Z9                   \
	VSUBPD        Z8, Z10, Z10             \
	VSUBPD        Z9, Z11, Z11

#define posRow(off, store) \
	VMOVUPS       (SI)(off*1), Z0          \
	VCMPPS        $0x1e, Z20, Z0, K1       \
	VMOVUPS.Z     (R10)(off*1), K1, Z4     \
	store(off)                             \
	VCVTPS2PD     Y4, Z8                   \
	VEXTRACTF64X4 $1, Z4, Y4               \
	VCVTPS2PD     Y4, Z9                   \
	VSUBPD        Z8, Z10, Z10             \
	VSUBPD        Z9, Z11, Z11

#define storeDx(off) VMOVUPS Z4, (DI)(off*1)
#define noDx(off)

// sumsLoop is the loop of the sums: rows four at a time while there are four, each group of 16
// units taking its sums and thresholds into registers once for the four rows (in order), then
// the rows left one at a time; row is softRow or posRow.
#define sumsLoop(row, store, four, fourchunk, one, onechunk, done) \
four:                                    \
	CMPQ    R8, $4                       \
	JLT     one                          \
	XORQ    R12, R12                     \
	MOVQ    CX, R13                      \
fourchunk:                               \
	VMOVUPS (DX)(R12*1), Z20             \
	VMOVUPD (R11)(R12*2), Z10            \
	VMOVUPD 64(R11)(R12*2), Z11          \
	MOVQ    R12, AX                      \
	row(AX, store)                       \
	ADDQ    R9, AX                       \
	row(AX, store)                       \
	ADDQ    R9, AX                       \
	row(AX, store)                       \
	ADDQ    R9, AX                       \
	row(AX, store)                       \
	VMOVUPD Z10, (R11)(R12*2)            \
	VMOVUPD Z11, 64(R11)(R12*2)          \
	ADDQ    $64, R12                     \
	DECQ    R13                          \
	JNZ     fourchunk                    \
	MOVQ    R9, AX                       \
	SHLQ    $2, AX                       \
	ADDQ    AX, SI                       \
	ADDQ    AX, R10                      \
	ADDQ    AX, DI                       \
	SUBQ    $4, R8                       \
	JMP     four                         \
one:                                     \
	TESTQ   R8, R8                       \
	JZ      done                         \
	XORQ    R12, R12                     \
	MOVQ    CX, R13                      \
onechunk:                                \
	VMOVUPS (DX)(R12*1), Z20             \
	VMOVUPD (R11)(R12*2), Z10            \
	VMOVUPD 64(R11)(R12*2), Z11          \
	row(R12, store)                      \
	VMOVUPD Z10, (R11)(R12*2)            \
	VMOVUPD Z11, 64(R11)(R12*2)          \
	ADDQ    $64, R12                     \
	DECQ    R13                          \
	JNZ     onechunk                     \
	ADDQ    R9, SI                       \
	ADDQ    R9, R10                      \
	ADDQ    R9, DI                       \
	DECQ    R8                           \
	JMP     one

// func vecShrinkBackwardAVX512(rows, ld, n int, dx, dy, x, th *float32, sums *float64, twoSided int)
// vecShrinkBackwardAVX2's results a row at a time rather than down strips (n a multiple of 16):
// active = |x| > θ (two-sided) or x > θ; dx = active ? dy : 0; unless sums is nil,
// sums −= float64(s·dy) where active, s = sign(x) (two-sided) or 1. Each sum takes the rows in
// order, four rows at a time in registers and through memory (n sums stay in L1) between,
// while the rows stream through the caches in order. The one-sided loop leaves out the product
// by 1, which changes no value (a NaN stays a NaN). With sums, dx may be nil (0): the sums
// alone, in loops without dx's stores (masked-off stores to an unmapped address took a
// microcode assist each, 50 times as slow).
//
// Registers: R8 rows left, R9 ld in bytes, CX groups of 16, DI dx, R10 dy, SI x (each at the
// row), DX th, R11 sums (0: none); per row R12 walks the units' float32 byte offsets (sums at
// twice that), R13 counts the groups and AX is a row's offset; Z14 masks x to |x| (two-sided)
// or keeps it.
TEXT ·vecShrinkBackwardAVX512(SB), NOSPLIT, $0-72
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
	VPXORD       Z12, Z12, Z12 // 0
	MOVL         $0x3f800000, BX
	VPBROADCASTD BX, Z13       // 1
	MOVL         $0xbf800000, BX
	VPBROADCASTD BX, Z15       // −1
	MOVQ         AX, BX
	NEGQ         BX
	VPBROADCASTD BX, Z14       // all ones where two-sided
	VPSRLD       $1, Z14, Z7
	VPTERNLOGD   $0xff, Z6, Z6, Z6
	VPXORD       Z6, Z14, Z14
	VPORD        Z7, Z14, Z14  // two-sided: all but the sign bit; one-sided: all ones
	SHRQ  $4, CX
	JZ    back512done
	TESTQ R8, R8
	JZ    back512done
	TESTQ R11, R11
	JZ    nosumsrow
	TESTQ DI, DI
	JZ    sumsalone
	TESTQ AX, AX
	JZ    posfour
	sumsLoop(softRow, storeDx, softfour, softfourchunk, softone, softonechunk, back512done)
	sumsLoop(posRow, storeDx, posfour, posfourchunk, posone, posonechunk, back512done)

sumsalone:
	TESTQ AX, AX
	JZ    posfour0
	sumsLoop(softRow, noDx, softfour0, softfourchunk0, softone0, softonechunk0, back512done)
	sumsLoop(posRow, noDx, posfour0, posfourchunk0, posone0, posonechunk0, back512done)

nosumsrow:
	XORQ R12, R12
	MOVQ CX, R13

nosums:
	VMOVUPS   (SI)(R12*1), Z0
	VANDPS    Z14, Z0, Z2
	VCMPPS    $0x1e, (DX)(R12*1), Z2, K1
	VMOVUPS.Z (R10)(R12*1), K1, Z4
	VMOVUPS   Z4, (DI)(R12*1)
	ADDQ      $64, R12
	DECQ      R13
	JNZ       nosums
	ADDQ      R9, SI
	ADDQ      R9, R10
	ADDQ      R9, DI
	DECQ      R8
	JNZ       nosumsrow

back512done:
	VZEROUPPER
	RET
