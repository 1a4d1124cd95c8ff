package cpu

import "github.com/drsae/drsae/kernels"

// Convolutions (NCHW), as cross-correlations with zero padding: input position
// (h, w) = (i·sh + p − ph, j·sw + q − pw) for output (i, j) and window offset (p, q).

// validRange returns the outputs j ∈ [j0, j1) ⊆ [0, outs) whose input j·stride + off lies in
// [0, size): the columns of one window offset that read real input rather than padding.
func validRange(off, stride, size, outs int) (j0, j1 int) {
	if off < 0 {
		j0 = min((-off+stride-1)/stride, outs)
	}
	if last := size - 1 - off; last >= 0 {
		j1 = min(last/stride+1, outs)
	}
	return j0, max(j0, j1)
}

// Conv2DForward: y[n,k,i,j] = Σ_{c,p,q} w[k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], w [K,C,KH,KW], y [N,K,Ho,Wo].
func (be *Backend) Conv2DForward(y, x, w kernels.Tensor, g kernels.Conv2D) {
	const op = "Conv2DForward"
	yd, xd, wd := data(op, y), data(op, x), data(op, w)
	d := kernels.CheckConv(op, x, w, y, g, false)
	noAlias(op, y, x, w)
	if convMACs(d) < convGemmMACs {
		be.conv2DForwardDirect(yd, xd, wd, d)
		return
	}
	be.conv2DForwardGemm(yd, xd, wd, d)
}

// Conv2DBackwardData: dx = the adjoint of Conv2DForward in x applied to dy:
// dx[n,c,h,w] = Σ_{k,p,q,i,j: i·sh+p−ph = h, j·sw+q−pw = w} w[k,c,p,q]·dy[n,k,i,j].
// dx [N,C,H,W], dy [N,K,Ho,Wo].
func (be *Backend) Conv2DBackwardData(dx, dy, w kernels.Tensor, g kernels.Conv2D) {
	const op = "Conv2DBackwardData"
	dxd, dyd, wd := data(op, dx), data(op, dy), data(op, w)
	d := kernels.CheckConv(op, dx, w, dy, g, false)
	noAlias(op, dx, dy, w)
	if convMACs(d) < convGemmMACs {
		be.conv2DBackwardDataDirect(dxd, dyd, wd, d)
		return
	}
	be.conv2DBackwardDataGemm(dxd, dyd, wd, d)
}

// Conv2DBackwardFilter: dw[k,c,p,q] = Σ_{n,i,j} dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// dw [K,C,KH,KW].
func (be *Backend) Conv2DBackwardFilter(dw, x, dy kernels.Tensor, g kernels.Conv2D) {
	const op = "Conv2DBackwardFilter"
	dwd, xd, dyd := data(op, dw), data(op, x), data(op, dy)
	d := kernels.CheckConv(op, x, dw, dy, g, false)
	noAlias(op, dw, x, dy)
	if convMACs(d) < convGemmMACs {
		be.conv2DBackwardFilterDirect(dwd, xd, dyd, d)
		return
	}
	be.conv2DBackwardFilterGemm(dwd, xd, dyd, d)
}

// convMACs is the multiply-adds of each convolution op.
func convMACs(d kernels.ConvDims) int { return d.N * d.K * d.Ho * d.Wo * d.C * d.KH * d.KW }

// convGemmMACs is the size from which the patch-matrix products beat the direct loops.
const convGemmMACs = 64 << 10

// conv2DForwardDirect is Conv2DForward as plain loops, parallel over output planes (n, k).
func (be *Backend) conv2DForwardDirect(yd, xd, wd []float32, d kernels.ConvDims) {
	hw, howo := d.H*d.W, d.Ho*d.Wo
	be.parallelFor(d.N*d.K, convMACs(d), func(lo, hi int) {
		for nk := lo; nk < hi; nk++ {
			n, k := nk/d.K, nk%d.K
			yp := yd[nk*howo : (nk+1)*howo]
			clear(yp)
			for c := 0; c < d.C; c++ {
				xp := xd[(n*d.C+c)*hw : (n*d.C+c+1)*hw]
				for p := 0; p < d.KH; p++ {
					i0, i1 := validRange(p-d.PadH, d.StrideH, d.H, d.Ho)
					for q := 0; q < d.KW; q++ {
						wv := wd[((k*d.C+c)*d.KH+p)*d.KW+q]
						j0, j1 := validRange(q-d.PadW, d.StrideW, d.W, d.Wo)
						for i := i0; i < i1; i++ {
							xr := xp[(i*d.StrideH+p-d.PadH)*d.W:]
							yr := yp[i*d.Wo : (i+1)*d.Wo]
							for j := j0; j < j1; j++ {
								yr[j] += wv * xr[j*d.StrideW+q-d.PadW]
							}
						}
					}
				}
			}
		}
	})
}

// conv2DBackwardDataDirect is Conv2DBackwardData as plain loops, parallel over input planes
// (n, c), each scattered into by one goroutine.
func (be *Backend) conv2DBackwardDataDirect(dxd, dyd, wd []float32, d kernels.ConvDims) {
	hw, howo := d.H*d.W, d.Ho*d.Wo
	be.parallelFor(d.N*d.C, convMACs(d), func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			n, c := nc/d.C, nc%d.C
			xp := dxd[nc*hw : (nc+1)*hw]
			clear(xp)
			for k := 0; k < d.K; k++ {
				yp := dyd[(n*d.K+k)*howo : (n*d.K+k+1)*howo]
				for p := 0; p < d.KH; p++ {
					i0, i1 := validRange(p-d.PadH, d.StrideH, d.H, d.Ho)
					for q := 0; q < d.KW; q++ {
						wv := wd[((k*d.C+c)*d.KH+p)*d.KW+q]
						j0, j1 := validRange(q-d.PadW, d.StrideW, d.W, d.Wo)
						for i := i0; i < i1; i++ {
							xr := xp[(i*d.StrideH+p-d.PadH)*d.W:]
							yr := yp[i*d.Wo : (i+1)*d.Wo]
							for j := j0; j < j1; j++ {
								xr[j*d.StrideW+q-d.PadW] += wv * yr[j]
							}
						}
					}
				}
			}
		}
	})
}

// conv2DBackwardFilterDirect is Conv2DBackwardFilter as plain loops, summed in float64 over
// rows (float32 along a row), parallel over filter planes (k, c).
func (be *Backend) conv2DBackwardFilterDirect(dwd, xd, dyd []float32, d kernels.ConvDims) {
	hw, howo := d.H*d.W, d.Ho*d.Wo
	be.parallelFor(d.K*d.C, convMACs(d), func(lo, hi int) {
		for kc := lo; kc < hi; kc++ {
			k, c := kc/d.C, kc%d.C
			for p := 0; p < d.KH; p++ {
				i0, i1 := validRange(p-d.PadH, d.StrideH, d.H, d.Ho)
				for q := 0; q < d.KW; q++ {
					j0, j1 := validRange(q-d.PadW, d.StrideW, d.W, d.Wo)
					var s float64
					for n := 0; n < d.N; n++ {
						xp := xd[(n*d.C+c)*hw : (n*d.C+c+1)*hw]
						yp := dyd[(n*d.K+k)*howo : (n*d.K+k+1)*howo]
						for i := i0; i < i1; i++ {
							xr := xp[(i*d.StrideH+p-d.PadH)*d.W:]
							yr := yp[i*d.Wo : (i+1)*d.Wo]
							var r float32
							for j := j0; j < j1; j++ {
								r += yr[j] * xr[j*d.StrideW+q-d.PadW]
							}
							s += float64(r)
						}
					}
					dwd[(kc*d.KH+p)*d.KW+q] = float32(s)
				}
			}
		}
	})
}
