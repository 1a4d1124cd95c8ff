#include "textflag.h"

// Packing routines for the 6×16 micro-kernel (see packA and packB in gemm.go). Values are moved
// as 32-bit integers: packing copies, it does no arithmetic.

// func packA6(dst, a *float32, lda, kb int)
// dst[6p+i] = a[i·lda+p] for i < 6, p < kb: six rows gathered column by column.
TEXT ·packA6(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ kb+24(FP), CX
	SHLQ $2, R8
	LEAQ (SI)(R8*2), R10
	ADDQ R8, R10         // R10 = row 3

packA6loop:
	MOVL (SI), AX
	MOVL (SI)(R8*1), BX
	MOVL (SI)(R8*2), DX
	MOVL (R10), R9
	MOVL (R10)(R8*1), R11
	MOVL (R10)(R8*2), R12
	MOVL AX, 0(DI)
	MOVL BX, 4(DI)
	MOVL DX, 8(DI)
	MOVL R9, 12(DI)
	MOVL R11, 16(DI)
	MOVL R12, 20(DI)
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $24, DI
	DECQ CX
	JNZ  packA6loop
	RET

// func packA6T(dst, a *float32, lda, kb int)
// dst[6p+i] = a[p·lda+i] for i < 6, p < kb: six contiguous values per p.
TEXT ·packA6T(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ kb+24(FP), CX
	SHLQ $2, R8

packA6Tloop:
	MOVUPS (SI), X0
	MOVQ   16(SI), AX
	MOVUPS X0, 0(DI)
	MOVQ   AX, 16(DI)
	ADDQ   R8, SI
	ADDQ   $24, DI
	DECQ   CX
	JNZ    packA6Tloop
	RET

// func packB16(dst, b *float32, ldb, kb int)
// dst[16p+j] = b[p·ldb+j] for j < 16, p < kb: sixteen contiguous values per p.
TEXT ·packB16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ kb+24(FP), CX
	SHLQ $2, R8

packB16loop:
	MOVUPS (SI), X0
	MOVUPS 16(SI), X1
	MOVUPS 32(SI), X2
	MOVUPS 48(SI), X3
	MOVUPS X0, 0(DI)
	MOVUPS X1, 16(DI)
	MOVUPS X2, 32(DI)
	MOVUPS X3, 48(DI)
	ADDQ   R8, SI
	ADDQ   $64, DI
	DECQ   CX
	JNZ    packB16loop
	RET

// Four rows (base, base+ldb, base+2·ldb, base+3·ldb) to four neighbouring values at off(DI).
#define GATHER4(base, off) \
	MOVL (base), AX;          \
	MOVL (base)(R8*1), BX;    \
	MOVL (base)(R8*2), DX;    \
	MOVL (base)(R11*1), R9;   \
	MOVL AX, off(DI);         \
	MOVL BX, off+4(DI);       \
	MOVL DX, off+8(DI);       \
	MOVL R9, off+12(DI)

// func packB16T(dst, b *float32, ldb, kb int)
// dst[16p+j] = b[j·ldb+p] for j < 16, p < kb: sixteen rows gathered column by column.
TEXT ·packB16T(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ kb+24(FP), CX
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R11 // 3 rows
	LEAQ (SI)(R8*4), R10 // row 4
	LEAQ (R10)(R8*4), R12 // row 8
	LEAQ (R12)(R8*4), R13 // row 12

packB16Tloop:
	GATHER4(SI, 0)
	GATHER4(R10, 16)
	GATHER4(R12, 32)
	GATHER4(R13, 48)
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R12
	ADDQ $4, R13
	ADDQ $64, DI
	DECQ CX
	JNZ  packB16Tloop
	RET
