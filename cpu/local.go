package cpu

import "github.com/drsae/drsae/kernels"

// Locally connected layers: convolutions with untied weights, one filter per output position.
// w [Ho,Wo,K,C,KH,KW]; the filter of output (i, j, k) is the [C,KH,KW] block w[i,j,k]. The loops
// run over the window rows p and the valid columns q ∈ [q0, q1) of each, so the innermost loop is
// a contiguous dot product or update of length ≤ KW.

// windowRange returns the window offsets q ∈ [q0, q1) ⊆ [0, kw) that output position j reads
// from inside the input (0 ≤ j·stride + q − pad < size).
func windowRange(j, stride, pad, size, kw int) (q0, q1 int) {
	start := j*stride - pad
	q0, q1 = max(0, -start), min(kw, size-start)
	return q0, max(q0, q1)
}

// LocalForward: y[n,k,i,j] = Σ_{c,p,q} w[i,j,k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], y [N,K,Ho,Wo]. Parallel over output planes (n, k).
func (be *Backend) LocalForward(y, x, w kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalForward"
	yd, xd, wd := data(op, y), data(op, x), data(op, w)
	d := kernels.CheckConv(op, x, w, y, g, true)
	noAlias(op, y, x, w)
	hw, howo, ckk := d.H*d.W, d.Ho*d.Wo, d.C*d.KH*d.KW
	be.parallelFor(d.N*d.K, y.Len()*ckk, func(lo, hi int) {
		for nk := lo; nk < hi; nk++ {
			n, k := nk/d.K, nk%d.K
			yp := yd[nk*howo : (nk+1)*howo]
			for i := 0; i < d.Ho; i++ {
				p0, p1 := windowRange(i, d.StrideH, d.PadH, d.H, d.KH)
				for j := 0; j < d.Wo; j++ {
					q0, q1 := windowRange(j, d.StrideW, d.PadW, d.W, d.KW)
					f := wd[((i*d.Wo+j)*d.K+k)*ckk : ((i*d.Wo+j)*d.K+k+1)*ckk]
					var s float32
					for c := 0; c < d.C; c++ {
						xp := xd[(n*d.C+c)*hw : (n*d.C+c+1)*hw]
						for p := p0; p < p1; p++ {
							xo := (i*d.StrideH+p-d.PadH)*d.W + j*d.StrideW - d.PadW
							fs := f[(c*d.KH+p)*d.KW+q0 : (c*d.KH+p)*d.KW+q1]
							xs := xp[xo+q0 : xo+q1]
							for q, fv := range fs {
								s += fv * xs[q]
							}
						}
					}
					yp[i*d.Wo+j] = s
				}
			}
		}
	})
}

// LocalBackwardData: the adjoint of LocalForward in x applied to dy:
// dx[n,c,h,w] = Σ_{i,j,k,p,q: i·sh+p−ph = h, j·sw+q−pw = w} w[i,j,k,c,p,q]·dy[n,k,i,j].
// dx [N,C,H,W], dy [N,K,Ho,Wo]. Parallel over input planes (n, c), each scattered into by one
// goroutine.
func (be *Backend) LocalBackwardData(dx, dy, w kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalBackwardData"
	dxd, dyd, wd := data(op, dx), data(op, dy), data(op, w)
	d := kernels.CheckConv(op, dx, w, dy, g, true)
	noAlias(op, dx, dy, w)
	hw, howo, ckk := d.H*d.W, d.Ho*d.Wo, d.C*d.KH*d.KW
	be.parallelFor(d.N*d.C, dy.Len()*ckk, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			n, c := nc/d.C, nc%d.C
			xp := dxd[nc*hw : (nc+1)*hw]
			clear(xp)
			for i := 0; i < d.Ho; i++ {
				p0, p1 := windowRange(i, d.StrideH, d.PadH, d.H, d.KH)
				for j := 0; j < d.Wo; j++ {
					q0, q1 := windowRange(j, d.StrideW, d.PadW, d.W, d.KW)
					for k := 0; k < d.K; k++ {
						gy := dyd[(n*d.K+k)*howo+i*d.Wo+j]
						f := wd[((i*d.Wo+j)*d.K+k)*ckk+c*d.KH*d.KW:][:d.KH*d.KW]
						for p := p0; p < p1; p++ {
							xo := (i*d.StrideH+p-d.PadH)*d.W + j*d.StrideW - d.PadW
							fs := f[p*d.KW+q0 : p*d.KW+q1]
							xs := xp[xo+q0 : xo+q1]
							for q, fv := range fs {
								xs[q] += fv * gy
							}
						}
					}
				}
			}
		}
	})
}

// LocalBackwardFilter: dw[i,j,k,c,p,q] = Σ_n dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw]
// (0 where the window reads padding), summed over n in order. Parallel over output positions
// (i, j).
func (be *Backend) LocalBackwardFilter(dw, x, dy kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalBackwardFilter"
	dwd, xd, dyd := data(op, dw), data(op, x), data(op, dy)
	d := kernels.CheckConv(op, x, dw, dy, g, true)
	noAlias(op, dw, x, dy)
	hw, howo, ckk := d.H*d.W, d.Ho*d.Wo, d.C*d.KH*d.KW
	be.parallelFor(howo, dy.Len()*ckk, func(lo, hi int) {
		for ij := lo; ij < hi; ij++ {
			i, j := ij/d.Wo, ij%d.Wo
			p0, p1 := windowRange(i, d.StrideH, d.PadH, d.H, d.KH)
			q0, q1 := windowRange(j, d.StrideW, d.PadW, d.W, d.KW)
			for k := 0; k < d.K; k++ {
				f := dwd[(ij*d.K+k)*ckk : (ij*d.K+k+1)*ckk]
				clear(f)
				for n := 0; n < d.N; n++ {
					gy := dyd[(n*d.K+k)*howo+ij]
					for c := 0; c < d.C; c++ {
						xp := xd[(n*d.C+c)*hw : (n*d.C+c+1)*hw]
						for p := p0; p < p1; p++ {
							xo := (i*d.StrideH+p-d.PadH)*d.W + j*d.StrideW - d.PadW
							fs := f[(c*d.KH+p)*d.KW+q0 : (c*d.KH+p)*d.KW+q1]
							xs := xp[xo+q0 : xo+q1]
							for q, xv := range xs {
								fs[q] += gy * xv
							}
						}
					}
				}
			}
		}
	})
}
