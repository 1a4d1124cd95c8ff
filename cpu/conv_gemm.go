package cpu

import "github.com/drsae/drsae/kernels"

// The convolutions as matrix products over patch matrices ("im2col", Chellapilla et al. 2006).
// For a chunk of nb images starting at n0, the patch matrix cols [C·KH·KW, nb·Ho·Wo] is
//
//	cols[(c·KH+p)·KW+q, (b·Ho+i)·Wo+j] = x[n0+b, c, i·sh+p−ph, j·sw+q−pw]   (0 in the padding)
//
// and with dy' [K, nb·Ho·Wo] the chunk of dy with its image and channel axes swapped,
//
//	forward:          y' = W·cols            (W as [K, C·KH·KW])
//	backward data:    dx = col2im(Wᵀ·dy')     (col2im adds each entry back where im2col read it)
//	backward filter:  dW = Σ_chunks dy'·colsᵀ
//
// so almost all the work runs in the blocked Gemm.

// convPatchValues bounds the patch matrix of one chunk (1 MiB), so that it is still in the
// caches when the product reads it after im2col wrote it (and col2im after the product): on a
// 2-core Zen 4 the 28×28 B = 256 ConvStep took 64–68 ms with it against 75–87 ms at 16 MiB.
// An image whose patch matrix is larger is a chunk of its own.
const convPatchValues = 1 << 18

// convChunk is the number of images per product.
func convChunk(d kernels.ConvDims) int {
	return max(1, min(d.N, convPatchValues/(d.C*d.KH*d.KW*d.Ho*d.Wo)))
}

// im2col fills cols [C·KH·KW, nb·Ho·Wo] with the patches of images [n0, n0+nb) of x.
// Parallel over rows of cols.
func (be *Backend) im2col(cols, x []float32, d kernels.ConvDims, n0, nb int) {
	ckk, hw, howo := d.C*d.KH*d.KW, d.H*d.W, d.Ho*d.Wo
	cw := nb * howo
	be.parallelFor(ckk, ckk*cw, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c, p, q := r/(d.KH*d.KW), r/d.KW%d.KH, r%d.KW
			i0, i1 := validRange(p-d.PadH, d.StrideH, d.H, d.Ho)
			j0, j1 := validRange(q-d.PadW, d.StrideW, d.W, d.Wo)
			for b := 0; b < nb; b++ {
				xp := x[((n0+b)*d.C+c)*hw : ((n0+b)*d.C+c+1)*hw]
				out := cols[r*cw+b*howo : r*cw+(b+1)*howo]
				clear(out[:i0*d.Wo])
				clear(out[i1*d.Wo:])
				for i := i0; i < i1; i++ {
					o := out[i*d.Wo : (i+1)*d.Wo]
					clear(o[:j0])
					clear(o[j1:])
					xr := xp[(i*d.StrideH+p-d.PadH)*d.W : (i*d.StrideH+p-d.PadH+1)*d.W]
					if d.StrideW == 1 && j0 < j1 {
						copy(o[j0:j1], xr[j0+q-d.PadW:])
						continue
					}
					for j := j0; j < j1; j++ {
						o[j] = xr[j*d.StrideW+q-d.PadW]
					}
				}
			}
		}
	})
}

// col2im overwrites images [n0, n0+nb) of dx with the sum of the entries of cols
// [C·KH·KW, nb·Ho·Wo] at the positions im2col read them from. Parallel over planes (b, c), each
// written by one goroutine.
func (be *Backend) col2im(dx, cols []float32, d kernels.ConvDims, n0, nb int) {
	hw, howo := d.H*d.W, d.Ho*d.Wo
	cw := nb * howo
	be.parallelFor(nb*d.C, nb*d.C*d.KH*d.KW*howo, func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			b, c := bc/d.C, bc%d.C
			xp := dx[((n0+b)*d.C+c)*hw : ((n0+b)*d.C+c+1)*hw]
			clear(xp)
			for p := 0; p < d.KH; p++ {
				i0, i1 := validRange(p-d.PadH, d.StrideH, d.H, d.Ho)
				for q := 0; q < d.KW; q++ {
					j0, j1 := validRange(q-d.PadW, d.StrideW, d.W, d.Wo)
					r := (c*d.KH+p)*d.KW + q
					in := cols[r*cw+b*howo : r*cw+(b+1)*howo]
					for i := i0; i < i1; i++ {
						xr := xp[(i*d.StrideH+p-d.PadH)*d.W : (i*d.StrideH+p-d.PadH+1)*d.W]
						ir := in[i*d.Wo : (i+1)*d.Wo]
						for j := j0; j < j1; j++ {
							xr[j*d.StrideW+q-d.PadW] += ir[j]
						}
					}
				}
			}
		}
	})
}

// swapImageChannel copies between a chunk of a [N, K, S] tensor and its [K, nb·S] form:
// flat[k, b·S+s] = t[n0+b, k, s] when toFlat, the reverse otherwise.
func (be *Backend) swapImageChannel(toFlat bool, flat, t []float32, k, s, n0, nb int) {
	be.parallelFor(nb*k, nb*k*s, func(lo, hi int) {
		for bk := lo; bk < hi; bk++ {
			b, kk := bk/k, bk%k
			f := flat[kk*nb*s+b*s : kk*nb*s+(b+1)*s]
			x := t[((n0+b)*k+kk)*s : ((n0+b)*k+kk+1)*s]
			if toFlat {
				copy(f, x)
			} else {
				copy(x, f)
			}
		}
	})
}

// conv2DForwardGemm is Conv2DForward as y' = W·cols per chunk of images.
func (be *Backend) conv2DForwardGemm(yd, xd, wd []float32, d kernels.ConvDims) {
	ckk, howo := d.C*d.KH*d.KW, d.Ho*d.Wo
	be.convChunks(d, ckk, d.K, 0, func(sb *Backend, cols, out []float32, _, _, n0, nb int) {
		cw := nb * howo
		sb.im2col(cols, xd, d, n0, nb)
		sb.gemmFast(sb.gemm, false, false, d.K, cw, ckk, 1, wd, ckk, cols, cw, 0, out, cw)
		sb.swapImageChannel(false, out, yd, d.K, howo, n0, nb)
	})
}

// conv2DBackwardDataGemm is Conv2DBackwardData as dx = col2im(Wᵀ·dy') per chunk of images.
func (be *Backend) conv2DBackwardDataGemm(dxd, dyd, wd []float32, d kernels.ConvDims) {
	ckk, howo := d.C*d.KH*d.KW, d.Ho*d.Wo
	be.convChunks(d, ckk, d.K, 0, func(sb *Backend, cols, dyf []float32, _, _, n0, nb int) {
		cw := nb * howo
		sb.swapImageChannel(true, dyf, dyd, d.K, howo, n0, nb)
		sb.gemmFast(sb.gemm, true, false, ckk, cw, d.K, 1, wd, ckk, dyf, cw, 0, cols, cw)
		sb.col2im(dxd, cols, d, n0, nb)
	})
}

// conv2DBackwardFilterGemm is Conv2DBackwardFilter as dW = Σ_chunks dy'·colsᵀ: the chunks
// are split into at most convFilterGroups groups of consecutive chunks, each group's sum is
// formed on its own (the first in dW, the others in scratch), and the groups' sums are added
// to dW in order. The groups do not depend on the threads, so neither do the bits.
func (be *Backend) conv2DBackwardFilterGemm(dwd, xd, dyd []float32, d kernels.ConvDims) {
	ckk, howo, kw := d.C*d.KH*d.KW, d.Ho*d.Wo, d.K*d.C*d.KH*d.KW
	groups := min(ceilDiv(d.N, convChunk(d)), convFilterGroups)
	sums := getBuf((groups - 1) * kw)
	defer putBuf(sums)
	be.convChunks(d, ckk, d.K, groups, func(sb *Backend, cols, dyf []float32, g, c, n0, nb int) {
		cw := nb * howo
		dst, beta := dwd, float32(1)
		if g > 0 {
			dst = sums[(g-1)*kw : g*kw]
		}
		if c == 0 {
			beta = 0 // the group's first chunk
		}
		sb.im2col(cols, xd, d, n0, nb)
		sb.swapImageChannel(true, dyf, dyd, d.K, howo, n0, nb)
		sb.gemmFast(sb.gemm, false, true, d.K, ckk, cw, 1, dyf, cw, cols, cw, beta, dst, ckk)
	})
	for g := 1; g < groups; g++ {
		be.vec.axpby(1, sums[(g-1)*kw:g*kw], 1, dwd)
	}
}

// convFilterGroups bounds the groups of chunks whose filter gradients are summed apart: at
// most this many threads share a filter gradient's chunks.
const convFilterGroups = 16

// convParallelValues bounds the buffers of all threads when each runs chunks of its own (256 MiB):
// past it (an image's patch matrix of tens of MiB, many threads) the chunks run in turn, in one
// pair of buffers.
const convParallelValues = 64 << 20

// convChunks calls chunk for every chunk of images [n0, n0+nb), with a patch matrix cols
// [rows, nb·Ho·Wo] and a second buffer flat [k, nb·Ho·Wo] of its own. The chunks are split
// into groups of consecutive ones (groups = 0: a group per chunk), and chunk learns its group g
// and its place c in it. With at least as many groups as threads, the groups are shared among
// the threads and each runs on one (sb is be without threads): the patch matrix stays in the
// cache of the core that wrote it, and no chunk waits for another thread. Otherwise, or when
// the threads' buffers would pass convParallelValues, the groups run in turn, each op over all
// threads. Both ways run the same sums (Gemm's do not depend on its threads), so they give the
// same bits.
func (be *Backend) convChunks(d kernels.ConvDims, rows, k, groups int, chunk func(sb *Backend, cols, flat []float32, g, c, n0, nb int)) {
	howo, per := d.Ho*d.Wo, convChunk(d)
	chunks := ceilDiv(d.N, per)
	if groups == 0 {
		groups = chunks
	}
	run := func(sb *Backend, lo, hi int) {
		cols, flat := getBuf(rows*per*howo), getBuf(k*per*howo)
		defer putBuf(cols)
		defer putBuf(flat)
		for g := lo; g < hi; g++ {
			c0, c1 := g*chunks/groups, (g+1)*chunks/groups
			for c := c0; c < c1; c++ {
				n0 := c * per
				chunk(sb, cols, flat, g, c-c0, n0, min(per, d.N-n0))
			}
		}
	}
	if be.threads < 2 || groups < be.threads || be.threads*(rows+k)*per*howo > convParallelValues {
		run(be, 0, groups)
		return
	}
	sb := *be
	sb.threads = 1
	be.parallelFor(groups, convMACs(d), func(lo, hi int) { run(&sb, lo, hi) })
}
