#include "textflag.h"

// func gemmTranspose8(dst *float32, w int, b *float32, ldb, kb8, jb8 int)
// dst[p·w + j] = b[j·ldb + p] for p < 8·kb8, j < 8·jb8, in 8×8 blocks held in AVX registers
// (kb8, jb8 ≥ 1): the transposing copy that packs B when it is stored transposed.
TEXT ·gemmTranspose8(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), R10
	SHLQ $2, R10
	LEAQ (R10)(R10*2), R11 // 3 rows of dst
	MOVQ b+16(FP), SI
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9    // 3 rows of b
	MOVQ kb8+32(FP), CX

tq:
	MOVQ SI, R12           // b at (row 0, column 8q)
	MOVQ DI, R13           // dst at (row 8q, column 0)
	MOVQ jb8+40(FP), BX

tr:
	LEAQ    (R12)(R8*4), AX
	VMOVUPS (R12), Y0
	VMOVUPS (R12)(R8*1), Y1
	VMOVUPS (R12)(R8*2), Y2
	VMOVUPS (R12)(R9*1), Y3
	VMOVUPS (AX), Y4
	VMOVUPS (AX)(R8*1), Y5
	VMOVUPS (AX)(R8*2), Y6
	VMOVUPS (AX)(R9*1), Y7

	// Row r of the block is (r0 … r7); pairs of rows interleave, then pairs of pairs, then
	// 128-bit halves, which leaves column c in register c.
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS   $0x44, Y10, Y8, Y0
	VSHUFPS   $0xee, Y10, Y8, Y1
	VSHUFPS   $0x44, Y11, Y9, Y2
	VSHUFPS   $0xee, Y11, Y9, Y3
	VSHUFPS   $0x44, Y14, Y12, Y4
	VSHUFPS   $0xee, Y14, Y12, Y5
	VSHUFPS   $0x44, Y15, Y13, Y6
	VSHUFPS   $0xee, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15

	LEAQ    (R13)(R10*4), AX
	VMOVUPS Y8, (R13)
	VMOVUPS Y9, (R13)(R10*1)
	VMOVUPS Y10, (R13)(R10*2)
	VMOVUPS Y11, (R13)(R11*1)
	VMOVUPS Y12, (AX)
	VMOVUPS Y13, (AX)(R10*1)
	VMOVUPS Y14, (AX)(R10*2)
	VMOVUPS Y15, (AX)(R11*1)

	LEAQ (R12)(R8*8), R12 // next 8 rows of b
	ADDQ $32, R13         // next 8 columns of dst
	DECQ BX
	JNZ  tr

	ADDQ $32, SI          // next 8 columns of b
	LEAQ (DI)(R10*8), DI  // next 8 rows of dst
	DECQ CX
	JNZ  tq
	VZEROUPPER
	RET
