package cpu

import (
	"os"
	"strings"
	"sync"

	"github.com/drsae/drsae/kernels"
)

// gemmKernel is a micro-kernel of the blocked product: it adds the product of an mr×k sliver of
// packed A and a k×nr sliver of packed B, times α, to an mr×nr block of C:
// c[i·ldc+j] += α·Σ_{p<k} a[p·mr+i]·b[p·nr+j], for k ≥ 1.
//
// A kernel with a product of its own (blocking, packing and threads fitted to it) runs that
// for every product with m, n, k ≥ 1 and α ≠ 0, with op(B) packed beforehand by its prepack
// (pre) or not (pre nil); the others run gemmBlocked.
type gemmKernel struct {
	name    string
	mr, nr  int
	fn      func(k int, alpha float32, a, b, c []float32, ldc int)
	product func(be *Backend, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, pre []float32)
	prepack func(be *Backend, transB bool, n, k int, b []float32, ldb int) []float32
}

// bestGemmKernel is the fastest micro-kernel this CPU runs, or the one DRSAE_CPU_GEMM names
// by the first word of its name (avx512, avx2, go) where this CPU runs it; a name it cannot
// run leaves the fastest (Info().Extra["gemm"] says which runs).
func bestGemmKernel() *gemmKernel {
	ks := gemmKernels()
	if want := os.Getenv("DRSAE_CPU_GEMM"); want != "" {
		for _, k := range ks {
			if first, _, _ := strings.Cut(k.name, " "); first == want {
				return k
			}
		}
	}
	return ks[0]
}

// Block sizes of the blocked product (Goto and van de Geijn, "Anatomy of high-performance matrix
// multiplication", 2008). A k×nr sliver of packed B (16 KiB at kc = 256) stays in L1 while it
// meets every mr×k sliver of the packed mc×kc block of A, which stays in L2; the kc×nc panel
// of packed B lives in L3. Blocks are split evenly, so these are upper bounds.
const (
	gemmKC = 256
	gemmMC = 480
	gemmNC = 4096
	// gemmSmall is the m·n·k below which packing costs more than it saves: the reference loops
	// run instead.
	gemmSmall = 2048
)

// Gemm: C = α·op(A)·op(B) + β·C with op(X) = X or Xᵀ; op(A) [M,K], op(B) [K,N], C [M,N].
// With β = 0, C is not read (NaN in C does not propagate); with α = 0, A and B are not read.
func (be *Backend) Gemm(transA, transB bool, alpha float32, a, b kernels.Tensor, beta float32, c kernels.Tensor) {
	ad, bd, cd := data("Gemm", a), data("Gemm", b), data("Gemm", c)
	m, n, k := kernels.CheckGemm(transA, transB, a, b, c)
	noAlias("Gemm", c, a, b)
	be.gemmSlices(transA, transB, m, n, k, alpha, ad, a.Shape()[1], bd, b.Shape()[1], beta, cd, n)
}

// gemmSlices is Gemm on row-major slices with leading dimensions: the reference loops for
// small products, the blocked product otherwise.
func (be *Backend) gemmSlices(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m*n*k < gemmSmall {
		gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	be.gemmFast(be.gemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmFast is gemmRef's contract (same arguments) computed by the blocked product with the
// micro-kernel kern, in float32.
func (be *Backend) gemmFast(kern *gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if kern.product != nil && alpha != 0 && m > 0 && n > 0 && k > 0 {
		kern.product(be, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
		return
	}
	be.scaleC(beta, m, n, c, ldc)
	if alpha == 0 || k == 0 || m == 0 || n == 0 {
		return
	}
	be.gemmBlocked(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, nil)
}

// scaleC sets C = β·C (C = 0 for β = 0, whatever it held).
func (be *Backend) scaleC(beta float32, m, n int, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	be.parallelFor(m, m*n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] *= beta
			}
		}
	})
}

// prepackB packs op(B) [k, n] whole, as gemmBlocked packs it block by block, for products with
// m rows that use one B many times in a row: the recurrent encoder's S, T−1 times forward and
// again backward, whose packing (a transpose, forward) costs about what the product by a
// minibatch of 10 rows does. A kernel with a product of its own packs by its prepack. It
// returns nil where gemmSlices would not pack (small products); gemmPacked then runs
// gemmSlices. Release the result with putBuf.
func (be *Backend) prepackB(transB bool, m, n, k int, b []float32, ldb int) []float32 {
	kern := be.gemm
	if m*n*k < gemmSmall || m <= 0 || n <= 0 || k <= 0 || (kern.product != nil && kern.prepack == nil) {
		return nil
	}
	if kern.product != nil {
		return kern.prepack(be, transB, n, k, b, ldb)
	}
	nr, kc, nc := kern.nr, blockSize(k, gemmKC, 1), blockSize(n, gemmNC, kern.nr)
	slabs := ceilDiv(n, nr)
	dst := getBuf(slabs * nr * k)
	be.parallelFor(slabs, slabs*nr*k, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			j0 := t * nr
			jc := j0 / nc * nc
			for pc := 0; pc < k; pc += kc {
				kb := min(kc, k-pc)
				off := packedPanel(jc, pc, n, k, nc, nr) + (j0-jc)*kb
				packB(dst[off:off+nr*kb], transB, b, ldb, pc, kb, j0, min(nr, n-j0), nr)
			}
		}
	})
	return dst
}

// packedPanel is where prepackB puts the panel of block (jc, pc): after the whole panels of the
// earlier column blocks (nc columns each, all k rows) and the earlier row blocks of this one.
func packedPanel(jc, pc, n, k, nc, nr int) int {
	return jc*k + ceilDiv(min(nc, n-jc), nr)*nr*pc
}

// gemmPacked is gemmSlices(false, transB, …) with op(B) packed beforehand by prepackB (for the
// same transB, m, n, k and B); with pre nil it is gemmSlices. The sums are the same, in the
// same order, as gemmSlices's.
func (be *Backend) gemmPacked(pre []float32, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if pre == nil {
		be.gemmSlices(false, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if kern := be.gemm; kern.product != nil && alpha != 0 {
		kern.product(be, false, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pre)
		return
	}
	be.scaleC(beta, m, n, c, ldc)
	if alpha != 0 {
		be.gemmBlocked(be.gemm, false, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, pre)
	}
}

// gemmBlocked: C += α·op(A)·op(B). For each block, A and B are first packed (padded with zeros
// to whole slivers, in parallel), then its mr×nr tiles are shared among the threads;
// every tile of C is written by one goroutine in a fixed order of sums. pre, if not nil, is
// op(B) packed whole by prepackB, and B is not packed again.
func (be *Backend) gemmBlocked(kern *gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, pre []float32) {
	mr, nr := kern.mr, kern.nr
	kc := blockSize(k, gemmKC, 1)
	mc := blockSize(m, gemmMC, mr)
	nc := blockSize(n, gemmNC, nr)
	pa := getBuf(mc * kc)
	defer putBuf(pa)
	var pb []float32
	if pre == nil {
		pb = getBuf(kc * nc)
		defer putBuf(pb)
	}
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		slabsB := ceilDiv(nb, nr)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			if pre != nil {
				pb = pre[packedPanel(jc, pc, n, k, nc, nr):]
			}
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				slabsA := ceilDiv(mb, mr)
				packsB := 0
				if ic == 0 && pre == nil { // B's panel is packed once and used by every block of A.
					packsB = slabsB
				}
				be.parallelFor(slabsA+packsB, (slabsA*mr+packsB*nr)*kb, func(lo, hi int) {
					for s := lo; s < hi; s++ {
						if s < slabsA {
							packA(pa[s*mr*kb:(s+1)*mr*kb], transA, a, lda, ic+s*mr, min(mr, mb-s*mr), pc, kb, mr)
						} else {
							t := s - slabsA
							packB(pb[t*nr*kb:(t+1)*nr*kb], transB, b, ldb, pc, kb, jc+t*nr, min(nr, nb-t*nr), nr)
						}
					}
				})
				// Tiles run column sliver by column sliver, so a sliver of B is reused from L1
				// against the whole block of A.
				be.parallelFor(slabsA*slabsB, mb*nb*kb, func(lo, hi int) {
					var edge []float32
					for t := lo; t < hi; t++ {
						jr, ir := t/slabsA, t%slabsA
						i0, j0 := ic+ir*mr, jc+jr*nr
						rows, cols := min(mr, m-i0), min(nr, n-j0)
						ap, bp := pa[ir*mr*kb:(ir+1)*mr*kb], pb[jr*nr*kb:(jr+1)*nr*kb]
						if rows == mr && cols == nr {
							kern.fn(kb, alpha, ap, bp, c[i0*ldc+j0:], ldc)
							continue
						}
						// A partial tile at the bottom or right edge goes through a whole one.
						if edge == nil {
							edge = make([]float32, mr*nr)
						} else {
							clear(edge)
						}
						kern.fn(kb, alpha, ap, bp, edge, nr)
						for i := 0; i < rows; i++ {
							dst := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+cols]
							for j, v := range edge[i*nr : i*nr+cols] {
								dst[j] += v
							}
						}
					}
				})
			}
		}
	}
}

// packA writes op(A)[i0:i0+rows, p0:p0+kb] into dst [kb·mr] as kb groups of mr values
// (dst[p·mr+i] = op(A)[i0+i, p0+p]), zero-padded to mr rows.
func packA(dst []float32, transA bool, a []float32, lda, i0, rows, p0, kb, mr int) {
	dst = dst[:kb*mr]
	first := i0*lda + p0 // op(A)[i0, p0]
	if transA {
		first = p0*lda + i0
	}
	if packWholeA(dst, transA, a[first:], lda, rows, kb, mr) {
		return
	}
	if transA { // op(A)[i,p] = a[p·lda+i]: each p copies rows contiguous values.
		for p := 0; p < kb; p++ {
			d := dst[p*mr : p*mr+mr]
			copy(d, a[(p0+p)*lda+i0:(p0+p)*lda+i0+rows])
			clear(d[rows:])
		}
		return
	}
	clear(dst) // op(A)[i,p] = a[i·lda+p]

	for i := 0; i < rows; i++ {
		for p, v := range a[(i0+i)*lda+p0 : (i0+i)*lda+p0+kb] {
			dst[p*mr+i] = v
		}
	}
}

// packB writes op(B)[p0:p0+kb, j0:j0+cols] into dst [kb·nr] as kb groups of nr values
// (dst[p·nr+j] = op(B)[p0+p, j0+j]), zero-padded to nr columns.
func packB(dst []float32, transB bool, b []float32, ldb, p0, kb, j0, cols, nr int) {
	dst = dst[:kb*nr]
	first := p0*ldb + j0 // op(B)[p0, j0]
	if transB {
		first = j0*ldb + p0
	}
	if packWholeB(dst, transB, b[first:], ldb, cols, kb, nr) {
		return
	}
	if !transB { // op(B)[p,j] = b[p·ldb+j]: each p copies cols contiguous values.
		for p := 0; p < kb; p++ {
			d := dst[p*nr : p*nr+nr]
			copy(d, b[(p0+p)*ldb+j0:(p0+p)*ldb+j0+cols])
			clear(d[cols:])
		}
		return
	}
	clear(dst) // op(B)[p,j] = b[j·ldb+p]
	for j := 0; j < cols; j++ {
		for p, v := range b[(j0+j)*ldb+p0 : (j0+j)*ldb+p0+kb] {
			dst[p*nr+j] = v
		}
	}
}

// blockSize splits n into ⌈n/limit⌉ blocks of nearly equal size, rounded up to a multiple of
// align.
func blockSize(n, limit, align int) int {
	if n <= 0 {
		return align
	}
	blocks := ceilDiv(n, limit)
	return ceilDiv(ceilDiv(n, blocks), align) * align
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// bufs recycles packing buffers between calls.
var bufs sync.Pool

func getBuf(n int) []float32 {
	if p, ok := bufs.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func putBuf(b []float32) { bufs.Put(&b) }
