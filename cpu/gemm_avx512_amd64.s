#include "textflag.h"

// AVX-512 micro-kernels of the product (see gemm_avx512_amd64.go): a block of 12 (or 8) rows ×
// 32 (or 16) columns of C, C = α·Σ_p a(i,p)·B(p,j) + β·C, with masked columns. Packed B comes in
// panels of 16 columns: B(p,j) = b[16p+j] for j < 16 and, in a 32-column kernel, b[16k+16p+j−16]
// for 16 ≤ j < 32 (the next panel, which the kernel finds k·64 bytes on, in R8).
//
// Registers: row i of the block accumulates in Z(2i), Z(2i+1) (32 columns) or Z(i) (16 columns);
// Z24, Z25 hold a row of packed B; Z26–Z29 take the broadcast A values in turn (Z26, Z27 are
// the epilogue's scratch); Z30 = β, Z31 = α; K1, K2 mask the columns j < 16 and 16 ≤ j < 32.
// In the 32-column kernels each A value is broadcast into a register once for its two FMAs, so a
// step p of the 12×32 block is 2 loads of B, 12 broadcasts and 24 independent FMAs: with 4
// cycles of FMA latency on 2 pipes, 24 chains keep both pipes full. The 16-column kernels take
// A by an embedded broadcast in the FMA (one use per value; the same speed there).
//
// Two ways to find a(i, p):
//   packed: a[12p+i] from SI, a sliver packed by gemmPackA12T or the Go packer;
//   rows:   A row-major with a row stride in R11 (bytes): row i at R10 + i·stride for i < 5,
//           R13 + (i−5)·stride for i < 10, R14 + (i−10)·stride, with R12 = 3·stride; each
//           step p moves the three bases 4 bytes on. This reads A where it lies (no packing).

#define FMA32(addr, t, r0, r1) \
	VBROADCASTSS addr, t;     \
	VFMADD231PS  t, Z24, r0;  \
	VFMADD231PS  t, Z25, r1

#define FMA16(addr, r0) \
	VFMADD231PS.BCST addr, Z24, r0

// One step of the packed kernels: A at ao(SI) (a 12-row sliver, 48 bytes a step), B at bo(DI)
// and bo(R8); the R8 forms (the 8-row kernels) take the sliver's first 8 rows.
#define PACKED32R8(ao, bo) \
	VMOVUPS bo(DI), Z24;             \
	VMOVUPS bo(R8), Z25;             \
	FMA32(ao(SI), Z26, Z0, Z1);      \
	FMA32(ao+4(SI), Z27, Z2, Z3);    \
	FMA32(ao+8(SI), Z28, Z4, Z5);    \
	FMA32(ao+12(SI), Z29, Z6, Z7);   \
	FMA32(ao+16(SI), Z26, Z8, Z9);   \
	FMA32(ao+20(SI), Z27, Z10, Z11); \
	FMA32(ao+24(SI), Z28, Z12, Z13); \
	FMA32(ao+28(SI), Z29, Z14, Z15)

#define PACKED16R8(ao, bo) \
	VMOVUPS bo(DI), Z24;  \
	FMA16(ao(SI), Z0);    \
	FMA16(ao+4(SI), Z1);  \
	FMA16(ao+8(SI), Z2);  \
	FMA16(ao+12(SI), Z3); \
	FMA16(ao+16(SI), Z4); \
	FMA16(ao+20(SI), Z5); \
	FMA16(ao+24(SI), Z6); \
	FMA16(ao+28(SI), Z7)

#define PACKED32(ao, bo) \
	PACKED32R8(ao, bo);              \
	FMA32(ao+32(SI), Z26, Z16, Z17); \
	FMA32(ao+36(SI), Z27, Z18, Z19); \
	FMA32(ao+40(SI), Z28, Z20, Z21); \
	FMA32(ao+44(SI), Z29, Z22, Z23)

#define PACKED16(ao, bo) \
	PACKED16R8(ao, bo);    \
	FMA16(ao+32(SI), Z8);  \
	FMA16(ao+36(SI), Z9);  \
	FMA16(ao+40(SI), Z10); \
	FMA16(ao+44(SI), Z11)

// One step of the rows 12×32 kernel: A values ao bytes along each row, B at bo(DI) and bo(R8).
#define ROWS32(ao, bo) \
	VMOVUPS bo(DI), Z24;               \
	VMOVUPS bo(R8), Z25;               \
	FMA32(ao(R10), Z26, Z0, Z1);            \
	FMA32(ao(R10)(R11*1), Z27, Z2, Z3);     \
	FMA32(ao(R10)(R11*2), Z28, Z4, Z5);     \
	FMA32(ao(R10)(R12*1), Z29, Z6, Z7);     \
	FMA32(ao(R10)(R11*4), Z26, Z8, Z9);     \
	FMA32(ao(R13), Z27, Z10, Z11);          \
	FMA32(ao(R13)(R11*1), Z28, Z12, Z13);   \
	FMA32(ao(R13)(R11*2), Z29, Z14, Z15);   \
	FMA32(ao(R13)(R12*1), Z26, Z16, Z17);   \
	FMA32(ao(R13)(R11*4), Z27, Z18, Z19);   \
	FMA32(ao(R14), Z28, Z20, Z21);          \
	FMA32(ao(R14)(R11*1), Z29, Z22, Z23)

#define ROWS16(ao, bo) \
	VMOVUPS bo(DI), Z24;          \
	FMA16(ao(R10), Z0);           \
	FMA16(ao(R10)(R11*1), Z1);    \
	FMA16(ao(R10)(R11*2), Z2);    \
	FMA16(ao(R10)(R12*1), Z3);    \
	FMA16(ao(R10)(R11*4), Z4);    \
	FMA16(ao(R13), Z5);           \
	FMA16(ao(R13)(R11*1), Z6);    \
	FMA16(ao(R13)(R11*2), Z7);    \
	FMA16(ao(R13)(R12*1), Z8);    \
	FMA16(ao(R13)(R11*4), Z9);    \
	FMA16(ao(R14), Z10);          \
	FMA16(ao(R14)(R11*1), Z11)

#define ZERO24 \
	VPXORD Z0, Z0, Z0;    \
	VPXORD Z1, Z1, Z1;    \
	VPXORD Z2, Z2, Z2;    \
	VPXORD Z3, Z3, Z3;    \
	VPXORD Z4, Z4, Z4;    \
	VPXORD Z5, Z5, Z5;    \
	VPXORD Z6, Z6, Z6;    \
	VPXORD Z7, Z7, Z7;    \
	VPXORD Z8, Z8, Z8;    \
	VPXORD Z9, Z9, Z9;    \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23

#define ZERO12 \
	VPXORD Z0, Z0, Z0;    \
	VPXORD Z1, Z1, Z1;    \
	VPXORD Z2, Z2, Z2;    \
	VPXORD Z3, Z3, Z3;    \
	VPXORD Z4, Z4, Z4;    \
	VPXORD Z5, Z5, Z5;    \
	VPXORD Z6, Z6, Z6;    \
	VPXORD Z7, Z7, Z7;    \
	VPXORD Z8, Z8, Z8;    \
	VPXORD Z9, Z9, Z9;    \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11

// Twelve rows of C from DX (ldc bytes in R9), two lines each, are fetched into L1 while the
// sums run; a prefetch past the end of C does not fault.
#define PREFETCHC1 \
	PREFETCHT0 (AX);   \
	PREFETCHT0 64(AX); \
	ADDQ       R9, AX

#define PREFETCHC \
	MOVQ DX, AX;          \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1;    \
	PREFETCHC1


// Stores of one row of C at DX, then DX moves a row on and BX, the rows still to store, counts
// down: at 0 the kernel is done (a block at C's bottom edge stores only the rows C has). β = 0:
// C = α·acc (C is not read).
#define STORE0_32(r0, r1) \
	VMULPS  Z31, r0, r0;     \
	VMULPS  Z31, r1, r1;     \
	VMOVUPS r0, K1, (DX);    \
	VMOVUPS r1, K2, 64(DX);  \
	ADDQ    R9, DX;          \
	DECQ    BX;              \
	JZ      done

// Otherwise C = α·acc + β·C.
#define STORE_32(r0, r1) \
	VMOVUPS.Z   (DX), K1, Z26;   \
	VMOVUPS.Z   64(DX), K2, Z27; \
	VMULPS      Z30, Z26, Z26;   \
	VMULPS      Z30, Z27, Z27;   \
	VFMADD231PS Z31, r0, Z26;    \
	VFMADD231PS Z31, r1, Z27;    \
	VMOVUPS     Z26, K1, (DX);   \
	VMOVUPS     Z27, K2, 64(DX); \
	ADDQ        R9, DX;      \
	DECQ        BX;          \
	JZ          done

#define STORE0_16(r0) \
	VMULPS  Z31, r0, r0;  \
	VMOVUPS r0, K1, (DX); \
	ADDQ    R9, DX;          \
	DECQ    BX;              \
	JZ      done

#define STORE_16(r0) \
	VMOVUPS.Z   (DX), K1, Z26; \
	VMULPS      Z30, Z26, Z26; \
	VFMADD231PS Z31, r0, Z26;  \
	VMOVUPS     Z26, K1, (DX); \
	ADDQ        R9, DX;      \
	DECQ        BX;          \
	JZ          done

// The store epilogue shared by the 32-column kernels: α, β, masks from the frame at offsets
// given by the caller's argument list (see each TEXT).
#define EPILOGUE32 \
	VBROADCASTSS alpha+8(FP), Z31; \
	VBROADCASTSS beta+12(FP), Z30; \
	MOVL         beta+12(FP), AX;  \
	SHLL         $1, AX;           \
	JZ           beta0;            \
	STORE_32(Z0, Z1);              \
	STORE_32(Z2, Z3);              \
	STORE_32(Z4, Z5);              \
	STORE_32(Z6, Z7);              \
	STORE_32(Z8, Z9);              \
	STORE_32(Z10, Z11);            \
	STORE_32(Z12, Z13);            \
	STORE_32(Z14, Z15);            \
	STORE_32(Z16, Z17);            \
	STORE_32(Z18, Z19);            \
	STORE_32(Z20, Z21);            \
	STORE_32(Z22, Z23);            \
	VZEROUPPER;                    \
	RET;                           \
beta0:                             \
	STORE0_32(Z0, Z1);             \
	STORE0_32(Z2, Z3);             \
	STORE0_32(Z4, Z5);             \
	STORE0_32(Z6, Z7);             \
	STORE0_32(Z8, Z9);             \
	STORE0_32(Z10, Z11);           \
	STORE0_32(Z12, Z13);           \
	STORE0_32(Z14, Z15);           \
	STORE0_32(Z16, Z17);           \
	STORE0_32(Z18, Z19);           \
	STORE0_32(Z20, Z21);           \
	STORE0_32(Z22, Z23);           \
done:                              \
	VZEROUPPER;                    \
	RET

#define EPILOGUE16 \
	VBROADCASTSS alpha+8(FP), Z31; \
	VBROADCASTSS beta+12(FP), Z30; \
	MOVL         beta+12(FP), AX;  \
	SHLL         $1, AX;           \
	JZ           beta0;            \
	STORE_16(Z0);                  \
	STORE_16(Z1);                  \
	STORE_16(Z2);                  \
	STORE_16(Z3);                  \
	STORE_16(Z4);                  \
	STORE_16(Z5);                  \
	STORE_16(Z6);                  \
	STORE_16(Z7);                  \
	STORE_16(Z8);                  \
	STORE_16(Z9);                  \
	STORE_16(Z10);                 \
	STORE_16(Z11);                 \
	VZEROUPPER;                    \
	RET;                           \
beta0:                             \
	STORE0_16(Z0);                 \
	STORE0_16(Z1);                 \
	STORE0_16(Z2);                 \
	STORE0_16(Z3);                 \
	STORE0_16(Z4);                 \
	STORE0_16(Z5);                 \
	STORE0_16(Z6);                 \
	STORE0_16(Z7);                 \
	STORE0_16(Z8);                 \
	STORE0_16(Z9);                 \
	STORE0_16(Z10);                \
	STORE0_16(Z11);                \
done:                              \
	VZEROUPPER;                    \
	RET

// Sets up the row pointers of the rows kernels from a and lda (elements).
#define ROWPOINTERS \
	MOVQ a+16(FP), R10;         \
	MOVQ lda+24(FP), R11;       \
	SHLQ $2, R11;               \
	LEAQ (R11)(R11*2), R12;     \
	LEAQ (R10)(R11*4), R13;     \
	ADDQ R11, R13;              \
	LEAQ (R13)(R11*4), R14;     \
	ADDQ R11, R14

// PACKEDKERNEL32 and PACKEDKERNEL16 are the whole of a kernel on packed A for 32 and 16
// columns: body (PACKED32 or PACKED32R8, PACKED16 or PACKED16R8) is one step of k, run four at
// a time and then one at a time; each kernel passes its own labels.
#define PACKEDKERNEL32(body, loop4, tail, loop1, store) \
	MOVQ  k+0(FP), CX      \
	MOVQ  a+16(FP), SI     \
	MOVQ  b+24(FP), DI     \
	MOVQ  CX, R8           \
	SHLQ  $6, R8           \
	ADDQ  DI, R8           \
	MOVQ  c+32(FP), DX     \
	MOVQ  ldc+40(FP), R9   \
	SHLQ  $2, R9           \
	MOVQ  mask+48(FP), AX  \
	KMOVW AX, K1           \
	SHRQ  $16, AX          \
	KMOVW AX, K2           \
	PREFETCHC              \
	ZERO24                 \
	MOVQ  CX, BX           \
	SHRQ  $2, BX           \
	ANDQ  $3, CX           \
	TESTQ BX, BX           \
	JZ    tail             \
loop4:                         \
	body(0, 0)             \
	body(48, 64)           \
	body(96, 128)          \
	body(144, 192)         \
	ADDQ $192, SI          \
	ADDQ $256, DI          \
	ADDQ $256, R8          \
	DECQ BX                \
	JNZ  loop4             \
tail:                          \
	TESTQ CX, CX           \
	JZ    store            \
loop1:                         \
	body(0, 0)             \
	ADDQ $48, SI           \
	ADDQ $64, DI           \
	ADDQ $64, R8           \
	DECQ CX                \
	JNZ  loop1             \
store:                         \
	MOVQ rows+56(FP), BX   \
	EPILOGUE32

#define PACKEDKERNEL16(body, loop4, tail, loop1, store) \
	MOVQ  k+0(FP), CX      \
	MOVQ  a+16(FP), SI     \
	MOVQ  b+24(FP), DI     \
	MOVQ  c+32(FP), DX     \
	MOVQ  ldc+40(FP), R9   \
	SHLQ  $2, R9           \
	MOVQ  mask+48(FP), AX  \
	KMOVW AX, K1           \
	PREFETCHC              \
	ZERO12                 \
	MOVQ  CX, BX           \
	SHRQ  $2, BX           \
	ANDQ  $3, CX           \
	TESTQ BX, BX           \
	JZ    tail             \
loop4:                         \
	body(0, 0)             \
	body(48, 64)           \
	body(96, 128)          \
	body(144, 192)         \
	ADDQ $192, SI          \
	ADDQ $256, DI          \
	DECQ BX                \
	JNZ  loop4             \
tail:                          \
	TESTQ CX, CX           \
	JZ    store            \
loop1:                         \
	body(0, 0)             \
	ADDQ $48, SI           \
	ADDQ $64, DI           \
	DECQ CX                \
	JNZ  loop1             \
store:                         \
	MOVQ rows+56(FP), BX   \
	EPILOGUE16

// func sgemm512Packed12x32(k int, alpha, beta float32, a, b, c *float32, ldc, mask, rows int)
TEXT ·sgemm512Packed12x32(SB), NOSPLIT, $0-64
	PACKEDKERNEL32(PACKED32, p32loop4, p32tail, p32loop1, p32store)

// func sgemm512Packed12x16(k int, alpha, beta float32, a, b, c *float32, ldc, mask, rows int)
TEXT ·sgemm512Packed12x16(SB), NOSPLIT, $0-64
	PACKEDKERNEL16(PACKED16, p16loop4, p16tail, p16loop1, p16store)

// func sgemm512Rows12x32(k int, alpha, beta float32, a *float32, lda int, b, c *float32, ldc, mask, rows int)
TEXT ·sgemm512Rows12x32(SB), NOSPLIT, $0-72
	MOVQ  k+0(FP), CX
	ROWPOINTERS
	MOVQ  b+32(FP), DI
	MOVQ  CX, R8
	SHLQ  $6, R8
	ADDQ  DI, R8
	MOVQ  c+40(FP), DX
	MOVQ  ldc+48(FP), R9
	SHLQ  $2, R9
	MOVQ  mask+56(FP), AX
	KMOVW AX, K1
	SHRQ  $16, AX
	KMOVW AX, K2
	PREFETCHC
	ZERO24
	MOVQ  CX, BX
	SHRQ  $2, BX
	ANDQ  $3, CX
	TESTQ BX, BX
	JZ    r32tail

r32loop4:
	ROWS32(0, 0)
	ROWS32(4, 64)
	ROWS32(8, 128)
	ROWS32(12, 192)
	ADDQ $16, R10
	ADDQ $16, R13
	ADDQ $16, R14
	ADDQ $256, DI
	ADDQ $256, R8
	DECQ BX
	JNZ  r32loop4

r32tail:
	TESTQ CX, CX
	JZ    r32store

r32loop1:
	ROWS32(0, 0)
	ADDQ $4, R10
	ADDQ $4, R13
	ADDQ $4, R14
	ADDQ $64, DI
	ADDQ $64, R8
	DECQ CX
	JNZ  r32loop1

r32store:
	MOVQ rows+64(FP), BX
	EPILOGUE32

// func sgemm512Rows12x16(k int, alpha, beta float32, a *float32, lda int, b, c *float32, ldc, mask, rows int)
TEXT ·sgemm512Rows12x16(SB), NOSPLIT, $0-72
	MOVQ  k+0(FP), CX
	ROWPOINTERS
	MOVQ  b+32(FP), DI
	MOVQ  c+40(FP), DX
	MOVQ  ldc+48(FP), R9
	SHLQ  $2, R9
	MOVQ  mask+56(FP), AX
	KMOVW AX, K1
	PREFETCHC
	ZERO12
	MOVQ  CX, BX
	SHRQ  $2, BX
	ANDQ  $3, CX
	TESTQ BX, BX
	JZ    r16tail

r16loop4:
	ROWS16(0, 0)
	ROWS16(4, 64)
	ROWS16(8, 128)
	ROWS16(12, 192)
	ADDQ $16, R10
	ADDQ $16, R13
	ADDQ $16, R14
	ADDQ $256, DI
	DECQ BX
	JNZ  r16loop4

r16tail:
	TESTQ CX, CX
	JZ    r16store

r16loop1:
	ROWS16(0, 0)
	ADDQ $4, R10
	ADDQ $4, R13
	ADDQ $4, R14
	ADDQ $64, DI
	DECQ CX
	JNZ  r16loop1

r16store:
	MOVQ rows+64(FP), BX
	EPILOGUE16

// The 8-row kernels: the first 8 rows of a 12-row packed sliver (a[12p+i], i < 8), for the
// last rows of a product whose height leaves 4 or 8 over after its 12-row slivers (16 rows run
// as 8 + 8 rather than 12 + 4 of a 12-row kernel with a third of its work wasted). They share
// the 12-row kernels' epilogues, which stop after rows ≤ 8 stores (the registers of rows 8–11
// are zeroed, never stored).

// func sgemm512Packed8x32(k int, alpha, beta float32, a, b, c *float32, ldc, mask, rows int)
TEXT ·sgemm512Packed8x32(SB), NOSPLIT, $0-64
	PACKEDKERNEL32(PACKED32R8, q32loop4, q32tail, q32loop1, q32store)

// func sgemm512Packed8x16(k int, alpha, beta float32, a, b, c *float32, ldc, mask, rows int)
TEXT ·sgemm512Packed8x16(SB), NOSPLIT, $0-64
	PACKEDKERNEL16(PACKED16R8, q16loop4, q16tail, q16loop1, q16store)
