#include "textflag.h"

// One step p of the 6×16 product: Y0, Y1 = b[16p : 16p+16]; row i of the accumulators
// (Y4+2i, Y5+2i) += a[6p+i]·(Y0, Y1). Y2 and Y3 alternate as broadcast registers.
#define STEP(ao, bo) \
	VMOVUPS      bo(DI), Y0;           \
	VMOVUPS      bo+32(DI), Y1;        \
	VBROADCASTSS ao(SI), Y2;           \
	VFMADD231PS  Y0, Y2, Y4;           \
	VFMADD231PS  Y1, Y2, Y5;           \
	VBROADCASTSS ao+4(SI), Y3;         \
	VFMADD231PS  Y0, Y3, Y6;           \
	VFMADD231PS  Y1, Y3, Y7;           \
	VBROADCASTSS ao+8(SI), Y2;         \
	VFMADD231PS  Y0, Y2, Y8;           \
	VFMADD231PS  Y1, Y2, Y9;           \
	VBROADCASTSS ao+12(SI), Y3;        \
	VFMADD231PS  Y0, Y3, Y10;          \
	VFMADD231PS  Y1, Y3, Y11;          \
	VBROADCASTSS ao+16(SI), Y2;        \
	VFMADD231PS  Y0, Y2, Y12;          \
	VFMADD231PS  Y1, Y2, Y13;          \
	VBROADCASTSS ao+20(SI), Y3;        \
	VFMADD231PS  Y0, Y3, Y14;          \
	VFMADD231PS  Y1, Y3, Y15

// c[row] += α·(lo, hi) with α in Y3, then DX moves to the next row.
#define ACCUMULATE(lo, hi) \
	VMOVUPS     (DX), Y0;   \
	VMOVUPS     32(DX), Y1; \
	VFMADD231PS lo, Y3, Y0; \
	VFMADD231PS hi, Y3, Y1; \
	VMOVUPS     Y0, (DX);   \
	VMOVUPS     Y1, 32(DX); \
	ADDQ        R8, DX

// func sgemmKernel6x16AVX2(k int, alpha float32, a, b, c *float32, ldc int)
TEXT ·sgemmKernel6x16AVX2(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+16(FP), SI
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

	MOVQ CX, R9
	SHRQ $2, R9
	ANDQ $3, CX
	TESTQ R9, R9
	JZ   tail

loop4:
	STEP(0, 0)
	STEP(24, 64)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ R9
	JNZ  loop4

tail:
	TESTQ CX, CX
	JZ    store

loop1:
	STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

store:
	VBROADCASTSS alpha+8(FP), Y3
	ACCUMULATE(Y4, Y5)
	ACCUMULATE(Y6, Y7)
	ACCUMULATE(Y8, Y9)
	ACCUMULATE(Y10, Y11)
	ACCUMULATE(Y12, Y13)
	ACCUMULATE(Y14, Y15)
	VZEROUPPER
	RET
