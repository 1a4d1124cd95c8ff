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
	ckk, howo, chunk := d.C*d.KH*d.KW, d.Ho*d.Wo, convChunk(d)
	cols, out := getBuf(ckk*chunk*howo), getBuf(d.K*chunk*howo)
	defer putBuf(cols)
	defer putBuf(out)
	for n0 := 0; n0 < d.N; n0 += chunk {
		nb := min(chunk, d.N-n0)
		cw := nb * howo
		be.im2col(cols, xd, d, n0, nb)
		be.gemmFast(be.gemm, false, false, d.K, cw, ckk, 1, wd, ckk, cols, cw, 0, out, cw)
		be.swapImageChannel(false, out, yd, d.K, howo, n0, nb)
	}
}

// conv2DBackwardDataGemm is Conv2DBackwardData as dx = col2im(Wᵀ·dy') per chunk of images.
func (be *Backend) conv2DBackwardDataGemm(dxd, dyd, wd []float32, d kernels.ConvDims) {
	ckk, howo, chunk := d.C*d.KH*d.KW, d.Ho*d.Wo, convChunk(d)
	cols, dyf := getBuf(ckk*chunk*howo), getBuf(d.K*chunk*howo)
	defer putBuf(cols)
	defer putBuf(dyf)
	for n0 := 0; n0 < d.N; n0 += chunk {
		nb := min(chunk, d.N-n0)
		cw := nb * howo
		be.swapImageChannel(true, dyf, dyd, d.K, howo, n0, nb)
		be.gemmFast(be.gemm, true, false, ckk, cw, d.K, 1, wd, ckk, dyf, cw, 0, cols, cw)
		be.col2im(dxd, cols, d, n0, nb)
	}
}

// conv2DBackwardFilterGemm is Conv2DBackwardFilter as dW = Σ_chunks dy'·colsᵀ.
func (be *Backend) conv2DBackwardFilterGemm(dwd, xd, dyd []float32, d kernels.ConvDims) {
	ckk, howo, chunk := d.C*d.KH*d.KW, d.Ho*d.Wo, convChunk(d)
	cols, dyf := getBuf(ckk*chunk*howo), getBuf(d.K*chunk*howo)
	defer putBuf(cols)
	defer putBuf(dyf)
	for n0 := 0; n0 < d.N; n0 += chunk {
		nb := min(chunk, d.N-n0)
		cw := nb * howo
		be.im2col(cols, xd, d, n0, nb)
		be.swapImageChannel(true, dyf, dyd, d.K, howo, n0, nb)
		beta := float32(1)
		if n0 == 0 {
			beta = 0
		}
		be.gemmFast(be.gemm, false, true, d.K, ckk, cw, 1, dyf, cw, cols, cw, beta, dwd, ckk)
	}
}
