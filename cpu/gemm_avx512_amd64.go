package cpu

// The AVX-512 product. Its micro-kernel keeps a 12×32 block of C in 24 zmm registers; a step of
// the sum is two loads of B, 12 broadcasts of A into registers and 24 independent FMAs, enough
// to keep two 512-bit FMA pipes with 4 cycles of latency busy. On a Zen 5 core the broadcast
// into a register, shared by the two FMAs of a row, measured 8% faster than an embedded
// broadcast from memory in each FMA (211 against 195 GFLOP/s at k = 512, one run). A 12×16
// kernel takes a right-hand edge of 16 columns or fewer at no wasted work, which makes every
// width that is a multiple of 16 (400, 784, …) run whole; 8-row kernels take the last rows where
// 12-row slivers would leave 4 (16 rows run as 8 + 8) or fewer than 9, and a kernel stores only
// the rows C has. Packed B is in panels of 16 columns, so that B packed once for many products
// (prepack512: the recurrent encoder's S) serves any split of the columns between threads.
//
// Blocking, for a core with 32–48 KiB of L1 and 1 MiB of L2 (Zen 4, Zen 5): a kc×nc block of B
// is packed into 16-column panels, two to a 32-column sliver (kc ≤ 512, nc ≤ 384: at most
// 768 KiB, in L2); a 12×kc sliver of A (at most 24 KiB) stays in L1 while every sliver of the
// block passes it. On a 2-core Zen 4,
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

var kernelAVX512 = &gemmKernel{name: "avx512 12x32", mr: 12, nr: 32, fn: gemmKernelAVX512, product: gemmAVX512, prepack: prepack512}

// gemmKernelAVX512 is the packed 12×32 kernel in gemmKernel's form (c += α·a·b, but with b in
// two panels of 16 columns, b[16p+j] and b[16k+16p+j−16]), for the micro-kernel benchmark.
func gemmKernelAVX512(k int, alpha float32, a, b, c []float32, ldc int) {
	_, _, _ = a[12*k-1], b[32*k-1], c[11*ldc+31]
	sgemm512Packed12x32(k, alpha, 1, &a[0], &b[0], &c[0], ldc, 1<<32-1, 12)
}

// The kernels: c[i·ldc+j] = α·Σ_{p<k} A(i,p)·B(p,j) + β·c[i·ldc+j] for the rows i < rows (1 to
// the kernel's 12 or 8) and the columns j < w (32 or 16) whose bit is set in mask; k ≥ 1; β = 0
// does not read C. A(i,p) is a[12p+i] (packed) or a[i·lda+p] (rows); B(p,j) is b[16p+j] for
// j < 16 and b[16k+16p+j−16] for 16 ≤ j < 32 (two panels of 16 columns).

//go:noescape
func sgemm512Packed12x32(k int, alpha, beta float32, a, b, c *float32, ldc, mask, rows int)

//go:noescape
func sgemm512Packed12x16(k int, alpha, beta float32, a, b, c *float32, ldc, mask, rows int)

//go:noescape
func sgemm512Packed8x32(k int, alpha, beta float32, a, b, c *float32, ldc, mask, rows int)

//go:noescape
func sgemm512Packed8x16(k int, alpha, beta float32, a, b, c *float32, ldc, mask, rows int)

//go:noescape
func sgemm512Rows12x32(k int, alpha, beta float32, a *float32, lda int, b, c *float32, ldc, mask, rows int)

//go:noescape
func sgemm512Rows12x16(k int, alpha, beta float32, a *float32, lda int, b, c *float32, ldc, mask, rows int)

// Packing (gemm_pack512_amd64.s, gemm_transpose_amd64.s); kb ≥ 1.

//go:noescape
func gemmPackB16N(dst, b *float32, ldb, kb, panels, mask int)

//go:noescape
func gemmPackA12T(dst, a *float32, lda, kb, mask int)

//go:noescape
func gemmPackA12(dst, a *float32, lda, kb8 int)

//go:noescape
func gemmTranspose8(dst *float32, w int, b *float32, ldb, kb8, jb8 int)

// gemmAVX512: C = α·op(A)·op(B) + β·C (gemmRef's contract) for m, n, k ≥ 1 and α ≠ 0; with op(B)
// packed beforehand by prepack512 in pre (for the same transB, n, k and B), or pre nil.
func gemmAVX512(be *Backend, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, pre []float32) {
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
				gemm512Part(transA, transB, i0, i1, 0, n, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pre)
				continue
			}
			// Each part takes the same number of whole 16-column units over every row; the
			// units left over (fewer than parts) are split by rows, so that 25 units on 2
			// threads cost each 12½ rather than 12 and 13.
			whole := colUnits / parts
			if j0, j1 := 16*t*whole, min(n, 16*(t+1)*whole); j1 > j0 {
				gemm512Part(transA, transB, 0, m, j0, j1, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pre)
			}
			if left := 16 * parts * whole; left < n && i1 > i0 {
				gemm512Part(transA, transB, i0, i1, left, n, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pre)
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

// gemm512PackAll is the most values of packed A a part keeps for a whole k-block, so that an A
// that must be packed (stored transposed, or rows 512 values apart) is packed once rather than
// once per column block (at 1024³ on one thread, packing it three times took 6% of the time).
const gemm512PackAll = 1 << 22

// gemm512Part computes the rows [i0, i1) and columns [j0, j1) of C (n columns), with B from pre
// where prepack512 packed it. For each block (k-block, column block): B's panels, then each
// sliver of A (sliverRows) against every panel pair of B. Each value of C sums its k-blocks in
// order.
func gemm512Part(transA, transB bool, i0, i1, j0, j1, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, pre []float32) {
	kc := blockSize(k, gemm512KC, 1)
	nc := blockSize(j1-j0, gemm512NC, 16)
	nk, nj := ceilDiv(k, kc), ceilDiv(j1-j0, nc)
	packed := transA || lda%512 == 0 // else 12-row slivers are read where they lie
	all := packed && nj > 1 && 12*ceilDiv(i1-i0, 8)*kc <= gemm512PackAll
	slivers := 1 // packed at a time: one, or every sliver (no more than one per 8 rows)
	if all {
		slivers = ceilDiv(i1-i0, 8)
	}
	pa := getBuf(12 * slivers * kc)
	defer putBuf(pa)
	var pb []float32
	if pre == nil {
		pb = getBuf(kc * nc)
		defer putBuf(pb)
	}
	// Column block by column block, so that C's block takes its k-blocks while it is in the
	// caches; k-block by k-block where A is packed whole for each.
	for x := 0; x < nk*nj; x++ {
		xk, xj := x%nk, x/nk
		if all {
			xk, xj = x/nj, x%nj
		}
		pc, jc := xk*kc, j0+xj*nc
		kb, nb := min(kc, k-pc), min(nc, j1-jc)
		bet := beta
		if pc > 0 {
			bet = 1
		}
		if all && xj == 0 {
			for s, ic, rows := 0, i0, 0; ic < i1; s, ic = s+1, ic+rows {
				rows, _ = sliverRows(ic, i1)
				packA512(pa[s*12*kb:(s+1)*12*kb], transA, a, lda, ic, rows, pc, kb)
			}
		}
		if pre != nil { // this block's panels: pc·n16 values on, then jc/16 panels of 16·kb
			pb = pre[pc*16*ceilDiv(n, 16)+jc*kb:]
		} else {
			packB512(pb[:kb*16*ceilDiv(nb, 16)], transB, b, ldb, pc, kb, jc, nb)
		}
		for s, ic, rows := 0, i0, 0; ic < i1; s, ic = s+1, ic+rows {
			var h int
			rows, h = sliverRows(ic, i1)
			direct := !packed && rows == 12
			ps := pa[:12*kb]
			switch {
			case all:
				ps = pa[s*12*kb : (s+1)*12*kb]
			case !direct:
				packA512(ps, transA, a, lda, ic, rows, pc, kb)
			}
			for jj, off := 0, 0; jj < nb; {
				w := sliverWidth(nb - jj)
				cols := min(w, nb-jj)
				bp := pb[off : off+kb*w]
				j := jc + jj
				jj, off = jj+w, off+kb*w
				kernel512(direct, h, w, kb, alpha, bet, a, ic*lda+pc, lda, ps, bp, c, ic*ldc+j, ldc, rows, cols)
			}
		}
	}
}

// sliverRows is the height of the sliver of A that starts at row ic of a part ending at i1, and
// the kernel's (h): 12 rows, the last 16 as 8 + 8, and the rest by the 8-row kernel where it fits.
func sliverRows(ic, i1 int) (rows, h int) {
	rows = min(12, i1-ic)
	if i1-ic == 16 {
		rows = 8
	}
	if rows <= 8 {
		return rows, 8
	}
	return rows, 12
}

// kernel512 runs the kernel of height h (12, or 8 from a packed sliver) and width w on the
// block of C at c[ci:] (its first rows rows, of stride ldc, and its first cols columns): with A
// read where it lies at a[ai:] (row stride lda) when direct, else from the packed sliver pa
// (zero-padded to h rows). Bounds are checked here, so the assembly stays inside the slices.
func kernel512(direct bool, h, w, kb int, alpha, beta float32, a []float32, ai, lda int, pa, bp, c []float32, ci, ldc, rows, cols int) {
	mask := colMask(cols)
	_ = c[ci+(rows-1)*ldc+cols-1]
	_ = bp[w*kb-1]
	if direct {
		_ = a[ai+11*lda+kb-1]
		if w == 32 {
			sgemm512Rows12x32(kb, alpha, beta, &a[ai], lda, &bp[0], &c[ci], ldc, mask, rows)
		} else {
			sgemm512Rows12x16(kb, alpha, beta, &a[ai], lda, &bp[0], &c[ci], ldc, mask, rows)
		}
		return
	}
	_ = pa[12*kb-1]
	switch {
	case h == 8 && w == 32:
		sgemm512Packed8x32(kb, alpha, beta, &pa[0], &bp[0], &c[ci], ldc, mask, rows)
	case h == 8:
		sgemm512Packed8x16(kb, alpha, beta, &pa[0], &bp[0], &c[ci], ldc, mask, rows)
	case w == 32:
		sgemm512Packed12x32(kb, alpha, beta, &pa[0], &bp[0], &c[ci], ldc, mask, rows)
	default:
		sgemm512Packed12x16(kb, alpha, beta, &pa[0], &bp[0], &c[ci], ldc, mask, rows)
	}
}

// packB512 writes op(B)[p0:p0+kb, j0:j0+cols] into dst as panels of 16 columns (panel u holds
// dst[16·kb·u + 16p + j] = op(B)[p0+p, j0+16u+j]), the last one zero-padded.
func packB512(dst []float32, transB bool, b []float32, ldb, p0, kb, j0, cols int) {
	panels := ceilDiv(cols, 16)
	if !transB { // rows of op(B) are contiguous in b: read them in order, a row at a time
		first := p0*ldb + j0
		_ = dst[16*kb*panels-1]
		_ = b[first+(kb-1)*ldb+cols-1]
		gemmPackB16N(&dst[0], &b[first], ldb, kb, panels, colMask(cols-16*(panels-1)))
		return
	}
	for u := range panels {
		packTransposed(dst[16*kb*u:16*kb*(u+1)], 16, b, ldb, j0+16*u, min(16, cols-16*u), p0, kb)
	}
}

// prepack512 packs op(B) [k, n] whole for gemmAVX512, as gemm512Part packs it block by block:
// for each k-block, 16-column panels over all n columns (so that any part of the columns a
// thread takes finds its panels in place). Release the result with putBuf.
func prepack512(be *Backend, transB bool, n, k int, b []float32, ldb int) []float32 {
	kc, panels := blockSize(k, gemm512KC, 1), ceilDiv(n, 16)
	dst := getBuf(16 * panels * k)
	be.parallelFor(panels, 16*panels*k, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			for pc := 0; pc < k; pc += kc {
				kb := min(kc, k-pc)
				off := pc*16*panels + 16*kb*u
				packB512(dst[off:off+16*kb], transB, b, ldb, pc, kb, 16*u, min(16, n-16*u))
			}
		}
	})
	return dst
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
