package cpu

// The AVX-512 product. Its micro-kernel keeps a 12×32 block of C in 24 zmm registers; a step of
// the sum is two loads of B, 12 broadcasts of A into registers and 24 independent FMAs, enough
// to keep two 512-bit FMA pipes with 4 cycles of latency busy. On a Zen 5 core the broadcast
// into a register, shared by the two FMAs of a row, measured 8% faster than an embedded
// broadcast from memory in each FMA (211 against 195 GFLOP/s at k = 512, one run). A 12×16 kernel takes a right-hand edge of 16 columns or fewer at
// no wasted work, which makes every width that is a multiple of 16 (400, 784, …) run whole; 8-row
// kernels take the last rows where 12-row slivers would leave 4 (16 rows run as 8 + 8) or
// fewer than 9.
//
// Blocking, for a core with 32–48 KiB of L1 and 1 MiB of L2 (Zen 4, Zen 5): a kc×nc block of B
// is packed into 32-column slivers (kc ≤ 512, nc ≤ 384: at most 768 KiB, in L2); a 12×kc sliver
// of A (at most 24 KiB) stays in L1 while every sliver of the block passes it. On a 2-core Zen 4,
// kc = 512 measured 3–8% faster than 256 at the DrSAE shapes (fewer passes over C). A is read
// where it lies when it is stored row-major (the rows kernel), unless its rows are a multiple of
// 512 values apart: then the 12 rows of a sliver fall into one or two sets of L1 and evict each
// other (at 1024³ that cost 15%), and each sliver is first copied into a small buffer (8 steps
// at a time, transposed in registers: gemmPackA12), as it is when A is stored transposed
// (contiguous runs of 12 values) and for the 8-row kernels. The threads split the columns of
// C in multiples of 16, the units that do not divide evenly split again by rows (or, when C is
// narrow, the rows in multiples of 12): each packs its own part of B and writes its own part of
// C, so they share nothing that is written and never wait for each other inside a product.

const (
	gemm512KC = 512
	gemm512NC = 384
)

var kernelAVX512 = &gemmKernel{name: "avx512 12x32", mr: 12, nr: 32, fn: gemmKernelAVX512, product: gemmAVX512}

// gemmKernelAVX512 is the packed 12×32 kernel in gemmKernel's form (c += α·a·b), for the
// micro-kernel benchmark.
func gemmKernelAVX512(k int, alpha float32, a, b, c []float32, ldc int) {
	_, _, _ = a[12*k-1], b[32*k-1], c[11*ldc+31]
	sgemm512Packed12x32(k, alpha, 1, &a[0], &b[0], &c[0], ldc, 1<<32-1)
}

// The kernels: c[i·ldc+j] = α·Σ_{p<k} A(i,p)·b[w·p+j] + β·c[i·ldc+j] for i < 12 and the columns
// j < w (32 or 16) whose bit is set in mask; k ≥ 1; β = 0 does not read C. A(i,p) is
// a[12p+i] (packed) or a[i·lda+p] (rows).

//go:noescape
func sgemm512Packed12x32(k int, alpha, beta float32, a, b, c *float32, ldc, mask int)

//go:noescape
func sgemm512Packed12x16(k int, alpha, beta float32, a, b, c *float32, ldc, mask int)

//go:noescape
func sgemm512Packed8x32(k int, alpha, beta float32, a, b, c *float32, ldc, mask int)

//go:noescape
func sgemm512Packed8x16(k int, alpha, beta float32, a, b, c *float32, ldc, mask int)

//go:noescape
func sgemm512Rows12x32(k int, alpha, beta float32, a *float32, lda int, b, c *float32, ldc, mask int)

//go:noescape
func sgemm512Rows12x16(k int, alpha, beta float32, a *float32, lda int, b, c *float32, ldc, mask int)

// Packing (gemm_pack512_amd64.s, gemm_transpose_amd64.s); kb ≥ 1.

//go:noescape
func gemmPackB32(dst, b *float32, ldb, kb, mask int)

//go:noescape
func gemmPackB16(dst, b *float32, ldb, kb, mask int)

//go:noescape
func gemmPackA12T(dst, a *float32, lda, kb, mask int)

//go:noescape
func gemmPackA12(dst, a *float32, lda, kb8 int)

//go:noescape
func gemmTranspose8(dst *float32, w int, b *float32, ldb, kb8, jb8 int)

// gemmAVX512: C = α·op(A)·op(B) + β·C (gemmRef's contract) for m, n, k ≥ 1 and α ≠ 0.
func gemmAVX512(be *Backend, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	parts := min(be.threads, max(1, m*n*k/(4*parallelWork)))
	colUnits, rowUnits := ceilDiv(n, 16), ceilDiv(m, 12)
	byCols := colUnits >= 2*parts || colUnits >= rowUnits
	if byCols {
		parts = min(parts, colUnits)
	} else {
		parts = min(parts, rowUnits)
	}
	be.parallelFor(parts, parts*4*parallelWork, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			// A band of rows in multiples of 12: the t-th of parts.
			i0, i1 := 12*(t*rowUnits/parts), min(m, 12*((t+1)*rowUnits/parts))
			if !byCols {
				gemm512Part(transA, transB, i0, i1, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				continue
			}
			// Each part takes the same number of whole 16-column units over every row; the
			// units left over (fewer than parts) are split by rows, so that 25 units on 2
			// threads cost each 12½ rather than 12 and 13.
			whole := colUnits / parts
			if j0, j1 := 16*t*whole, min(n, 16*(t+1)*whole); j1 > j0 {
				gemm512Part(transA, transB, 0, m, j0, j1, k, alpha, a, lda, b, ldb, beta, c, ldc)
			}
			if left := 16 * parts * whole; left < n && i1 > i0 {
				gemm512Part(transA, transB, i0, i1, left, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			}
		}
	})
}

// sliverWidth is the width of the packed sliver that starts cols columns from the right edge.
func sliverWidth(cols int) int {
	if cols > 16 {
		return 32
	}
	return 16
}

// colMask has a bit set for each of the first cols columns of a sliver.
func colMask(cols int) int { return 1<<min(cols, 32) - 1 }

// gemm512Part computes the rows [i0, i1) and columns [j0, j1) of C.
func gemm512Part(transA, transB bool, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kc := blockSize(k, gemm512KC, 1)
	nc := blockSize(j1-j0, gemm512NC, 16)
	pb, pa := getBuf(kc*nc), getBuf(12*kc)
	defer putBuf(pb)
	defer putBuf(pa)
	var edge [12 * 32]float32
	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			for jj, off := 0, 0; jj < nb; {
				w := sliverWidth(nb - jj)
				packB512(pb[off:off+kb*w], transB, b, ldb, pc, kb, jc+jj, min(w, nb-jj), w)
				jj, off = jj+w, off+kb*w
			}
			for ic, rows := i0, 0; ic < i1; ic += rows {
				// Slivers of 12 rows, the last 16 as 8 + 8, the rest by the 8-row kernel
				// where it fits (h: the kernel's height).
				rows = min(12, i1-ic)
				if i1-ic == 16 {
					rows = 8
				}
				h := 12
				if rows <= 8 {
					h = 8
				}
				direct := !transA && rows == 12 && lda%512 != 0
				if !direct {
					packA512(pa[:12*kb], transA, a, lda, ic, rows, pc, kb)
				}
				for jj, off := 0, 0; jj < nb; {
					w := sliverWidth(nb - jj)
					cols := min(w, nb-jj)
					bp := pb[off : off+kb*w]
					j := jc + jj
					jj, off = jj+w, off+kb*w
					if rows < h { // through a whole block in edge, then into C
						kernel512(direct, h, w, kb, alpha, 0, a, ic*lda+pc, lda, pa, bp, edge[:], 0, 32, cols)
						for i := 0; i < rows; i++ {
							dst := c[(ic+i)*ldc+j : (ic+i)*ldc+j+cols]
							src := edge[32*i : 32*i+cols]
							switch bet {
							case 0:
								copy(dst, src)
							case 1:
								for x, v := range src {
									dst[x] += v
								}
							default:
								for x, v := range src {
									dst[x] = bet*dst[x] + v
								}
							}
						}
						continue
					}
					kernel512(direct, h, w, kb, alpha, bet, a, ic*lda+pc, lda, pa, bp, c, ic*ldc+j, ldc, cols)
				}
			}
		}
	}
}

// kernel512 runs the kernel of height h (12, or 8 from a packed sliver) and width w on the
// block of C at c[ci:] (h rows of stride ldc, the first cols columns): with A read where it
// lies at a[ai:] (row stride lda) when direct, else from the packed sliver pa. Bounds are
// checked here, so the assembly stays inside the slices.
func kernel512(direct bool, h, w, kb int, alpha, beta float32, a []float32, ai, lda int, pa, bp, c []float32, ci, ldc, cols int) {
	mask := colMask(cols)
	_ = c[ci+(h-1)*ldc+cols-1]
	_ = bp[w*kb-1]
	if direct {
		_ = a[ai+11*lda+kb-1]
		if w == 32 {
			sgemm512Rows12x32(kb, alpha, beta, &a[ai], lda, &bp[0], &c[ci], ldc, mask)
		} else {
			sgemm512Rows12x16(kb, alpha, beta, &a[ai], lda, &bp[0], &c[ci], ldc, mask)
		}
		return
	}
	_ = pa[12*kb-1]
	if h == 8 {
		if w == 32 {
			sgemm512Packed8x32(kb, alpha, beta, &pa[0], &bp[0], &c[ci], ldc, mask)
		} else {
			sgemm512Packed8x16(kb, alpha, beta, &pa[0], &bp[0], &c[ci], ldc, mask)
		}
		return
	}
	if w == 32 {
		sgemm512Packed12x32(kb, alpha, beta, &pa[0], &bp[0], &c[ci], ldc, mask)
	} else {
		sgemm512Packed12x16(kb, alpha, beta, &pa[0], &bp[0], &c[ci], ldc, mask)
	}
}

// packB512 writes op(B)[p0:p0+kb, j0:j0+cols] into dst [kb·w] (dst[p·w+j] = op(B)[p0+p, j0+j]),
// zero-padded to w columns.
func packB512(dst []float32, transB bool, b []float32, ldb, p0, kb, j0, cols, w int) {
	dst = dst[:kb*w]
	if !transB { // rows of op(B) are contiguous in b
		first := p0*ldb + j0
		_ = b[first+(kb-1)*ldb+cols-1]
		if w == 32 {
			gemmPackB32(&dst[0], &b[first], ldb, kb, colMask(cols))
		} else {
			gemmPackB16(&dst[0], &b[first], ldb, kb, colMask(cols))
		}
		return
	}
	packTransposed(dst, w, b, ldb, j0, cols, p0, kb)
}

// packTransposed writes dst[p·w+j] = b[(j0+j)·ldb + p0+p] for p < kb, j < cols, and zeros for
// cols ≤ j < w: whole 8×8 blocks by gemmTranspose8, the remainder by loops.
func packTransposed(dst []float32, w int, b []float32, ldb, j0, cols, p0, kb int) {
	kb8, jb8 := kb/8, cols/8
	if kb8 > 0 && jb8 > 0 {
		_ = dst[(8*kb8-1)*w+8*jb8-1]
		_ = b[(j0+8*jb8-1)*ldb+p0+8*kb8-1]
		gemmTranspose8(&dst[0], w, &b[j0*ldb+p0], ldb, kb8, jb8)
	}
	for j := 0; j < cols; j++ {
		row := b[(j0+j)*ldb+p0 : (j0+j)*ldb+p0+kb]
		p := 0
		if j < 8*jb8 {
			p = 8 * kb8
		}
		for ; p < kb; p++ {
			dst[p*w+j] = row[p]
		}
	}
	if cols < w {
		for p := 0; p < kb; p++ {
			clear(dst[p*w+cols : p*w+w])
		}
	}
}

// packA512 writes op(A)[i0:i0+rows, p0:p0+kb] into dst [12·kb] (dst[12p+i] = op(A)[i0+i, p0+p]),
// zero-padded to 12 rows.
func packA512(dst []float32, transA bool, a []float32, lda, i0, rows, p0, kb int) {
	dst = dst[:12*kb]
	if transA { // op(A)[i,p] = a[p·lda+i]: 12 neighbouring values per p
		first := p0*lda + i0
		_ = a[first+(kb-1)*lda+rows-1]
		gemmPackA12T(&dst[0], &a[first], lda, kb, 1<<rows-1)
		return
	}
	// op(A)[i,p] = a[i·lda+p]
	if rows == 12 && kb >= 8 { // 8 steps at a time in registers, the rest by packTransposed
		kb8 := kb / 8
		_ = a[(i0+11)*lda+p0+8*kb8-1]
		gemmPackA12(&dst[0], &a[i0*lda+p0], lda, kb8)
		if rest := kb - 8*kb8; rest > 0 {
			packTransposed(dst[96*kb8:], 12, a, lda, i0, rows, p0+8*kb8, rest)
		}
		return
	}
	packTransposed(dst, 12, a, lda, i0, rows, p0, kb)
}
