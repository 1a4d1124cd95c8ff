#include "textflag.h"

// Packing for the AVX-512 product (see gemm_avx512_amd64.go). Masked loads read only the columns
// that exist and write zeros in the others, so edge slivers come out zero-padded.

// func gemmPackA12T(dst, a *float32, lda, kb, mask int)
// dst[12p+i] = a[p·lda+i] for i < 12 where bit i of mask is set, else 0; p < kb.
TEXT ·gemmPackA12T(SB), NOSPLIT, $0-40
	MOVQ  dst+0(FP), DI
	MOVQ  a+8(FP), SI
	MOVQ  lda+16(FP), R8
	SHLQ  $2, R8
	MOVQ  kb+24(FP), CX
	MOVQ  mask+32(FP), AX
	KMOVW AX, K1
	MOVL  $0xfff, AX
	KMOVW AX, K2

packA12Tloop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS   Z0, K2, (DI)
	ADDQ      R8, SI
	ADDQ      $48, DI
	DECQ      CX
	JNZ       packA12Tloop
	VZEROUPPER
	RET

// Four rows × 8 values of A at base (row stride BX, 3·stride in DX), transposed in registers
// (4×4 in each 128-bit lane) and stored as 8 groups of 4 at off(DI) + 48·q for q < 8: the
// places of these rows in 8 consecutive steps of a 12-row sliver.
#define PACKA4(base, off) \
	VMOVUPS      (base), Y0;          \
	VMOVUPS      (base)(BX*1), Y1;    \
	VMOVUPS      (base)(BX*2), Y2;    \
	VMOVUPS      (base)(DX*1), Y3;    \
	VUNPCKLPS    Y1, Y0, Y4;          \
	VUNPCKHPS    Y1, Y0, Y5;          \
	VUNPCKLPS    Y3, Y2, Y6;          \
	VUNPCKHPS    Y3, Y2, Y7;          \
	VUNPCKLPD    Y6, Y4, Y0;          \
	VUNPCKHPD    Y6, Y4, Y1;          \
	VUNPCKLPD    Y7, Y5, Y2;          \
	VUNPCKHPD    Y7, Y5, Y3;          \
	VMOVUPS      X0, off(DI);         \
	VMOVUPS      X1, off+48(DI);      \
	VMOVUPS      X2, off+96(DI);      \
	VMOVUPS      X3, off+144(DI);     \
	VEXTRACTF128 $1, Y0, off+192(DI); \
	VEXTRACTF128 $1, Y1, off+240(DI); \
	VEXTRACTF128 $1, Y2, off+288(DI); \
	VEXTRACTF128 $1, Y3, off+336(DI)

// func gemmPackA12(dst, a *float32, lda, kb8 int)
// dst[12p+i] = a[i·lda+p] for i < 12, p < 8·kb8: twelve rows of a row-major A, 8 steps at a
// time; kb8 ≥ 1.
TEXT ·gemmPackA12(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), BX
	SHLQ $2, BX
	MOVQ kb8+24(FP), CX
	LEAQ (BX)(BX*2), DX
	LEAQ (SI)(BX*4), R8
	LEAQ (R8)(BX*4), R9

packA12loop:
	PACKA4(SI, 0)
	PACKA4(R8, 16)
	PACKA4(R9, 32)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $384, DI
	DECQ CX
	JNZ  packA12loop
	VZEROUPPER
	RET

// func gemmPackB16N(dst, b *float32, ldb, kb, panels, mask int)
// Panels of 16 columns from a row-major B, a row at a time (B read in order, so that a tall B
// with long rows is not walked once per panel): dst[16·kb·u + 16p + j] = b[p·ldb + 16u + j] for
// u < panels, p < kb, j < 16, the last panel's columns where bit j of mask is set, else 0;
// panels ≥ 1, kb ≥ 1.
TEXT ·gemmPackB16N(SB), NOSPLIT, $0-48
	MOVQ  dst+0(FP), DI
	MOVQ  b+8(FP), SI
	MOVQ  ldb+16(FP), R8
	SHLQ  $2, R8
	MOVQ  kb+24(FP), CX
	MOVQ  CX, R10
	SHLQ  $6, R10 // a panel: 64·kb bytes
	MOVQ  panels+32(FP), R9
	DECQ  R9
	MOVQ  mask+40(FP), AX
	KMOVW AX, K1

packB16Nrow:
	MOVQ SI, R11
	MOVQ DI, R12
	MOVQ R9, BX
	TESTQ BX, BX
	JZ   packB16Nlast

packB16Npanel:
	VMOVUPS (R11), Z0
	VMOVUPS Z0, (R12)
	ADDQ    $64, R11
	ADDQ    R10, R12
	DECQ    BX
	JNZ     packB16Npanel

packB16Nlast:
	VMOVUPS.Z (R11), K1, Z0
	VMOVUPS   Z0, (R12)
	ADDQ      R8, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       packB16Nrow
	VZEROUPPER
	RET
