#include "textflag.h"

// Packing for the AVX-512 product (see gemm_avx512.go). Masked loads read only the columns
// that exist and write zeros in the others, so edge slivers come out zero-padded.

// func gemmPackB32(dst, b *float32, ldb, kb, mask int)
// dst[32p+j] = b[p·ldb+j] for j < 32 where bit j of mask is set, else 0; p < kb.
TEXT ·gemmPackB32(SB), NOSPLIT, $0-40
	MOVQ  dst+0(FP), DI
	MOVQ  b+8(FP), SI
	MOVQ  ldb+16(FP), R8
	SHLQ  $2, R8
	MOVQ  kb+24(FP), CX
	MOVQ  mask+32(FP), AX
	KMOVW AX, K1
	SHRQ  $16, AX
	KMOVW AX, K2

packB32loop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS   Z0, (DI)
	VMOVUPS   Z1, 64(DI)
	ADDQ      R8, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       packB32loop
	VZEROUPPER
	RET

// func gemmPackB16(dst, b *float32, ldb, kb, mask int)
// dst[16p+j] = b[p·ldb+j] for j < 16 where bit j of mask is set, else 0; p < kb.
TEXT ·gemmPackB16(SB), NOSPLIT, $0-40
	MOVQ  dst+0(FP), DI
	MOVQ  b+8(FP), SI
	MOVQ  ldb+16(FP), R8
	SHLQ  $2, R8
	MOVQ  kb+24(FP), CX
	MOVQ  mask+32(FP), AX
	KMOVW AX, K1

packB16loop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      R8, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       packB16loop
	VZEROUPPER
	RET

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
