package cpu

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// L2Pool2D, spatial L2 pooling per channel:
// y[n,c,i,j] = √(ε + Σ_{p,q} k[p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw]²) (zero outside), summed in
// float64. x [N,C,H,W], window k [KH,KW], y [N,C,Ho,Wo]. Parallel over planes (n, c).
func (be *Backend) L2Pool2D(y, x, k kernels.Tensor, g kernels.Conv2D, eps float32) {
	const op = "L2Pool2D"
	yd, xd, kd := data(op, y), data(op, x), data(op, k)
	d := kernels.CheckPool2D(op, x, k, y, g)
	noAlias(op, y, x, k)
	hw, howo := d.H*d.W, d.Ho*d.Wo
	be.parallelFor(d.N*d.C, y.Len()*d.KH*d.KW, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			xp, yp := xd[nc*hw:(nc+1)*hw], yd[nc*howo:(nc+1)*howo]
			for i := 0; i < d.Ho; i++ {
				for j := 0; j < d.Wo; j++ {
					s := float64(eps)
					for p := 0; p < d.KH; p++ {
						h := i*d.StrideH + p - d.PadH
						if h < 0 || h >= d.H {
							continue
						}
						for q := 0; q < d.KW; q++ {
							if v := j*d.StrideW + q - d.PadW; v >= 0 && v < d.W {
								xv := float64(xp[h*d.W+v])
								s += float64(kd[p*d.KW+q]) * xv * xv
							}
						}
					}
					yp[i*d.Wo+j] = float32(math.Sqrt(s))
				}
			}
		}
	})
}

// L2Pool2DBackward: dx[n,c,h,w] = Σ over windows (i,j,p,q) that read (h,w) of
// dy[n,c,i,j]·k[p,q]·x[n,c,h,w]/y[n,c,i,j]. dx, x [N,C,H,W]; dy, y [N,C,Ho,Wo].
// Parallel over planes (n, c), each scattered into by one goroutine.
func (be *Backend) L2Pool2DBackward(dx, dy, x, y, k kernels.Tensor, g kernels.Conv2D) {
	const op = "L2Pool2DBackward"
	dxd, dyd, xd, yd, kd := data(op, dx), data(op, dy), data(op, x), data(op, y), data(op, k)
	d := kernels.CheckPool2D(op, x, k, y, g)
	kernels.CheckLen(op, dx, x)
	kernels.CheckLen(op, dy, y)
	noAlias(op, dx, dy, x, y, k)
	hw, howo := d.H*d.W, d.Ho*d.Wo
	be.parallelFor(d.N*d.C, y.Len()*d.KH*d.KW, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			xp, dxp := xd[nc*hw:(nc+1)*hw], dxd[nc*hw:(nc+1)*hw]
			yp, dyp := yd[nc*howo:(nc+1)*howo], dyd[nc*howo:(nc+1)*howo]
			clear(dxp)
			for i := 0; i < d.Ho; i++ {
				for j := 0; j < d.Wo; j++ {
					gy := dyp[i*d.Wo+j] / yp[i*d.Wo+j]
					for p := 0; p < d.KH; p++ {
						h := i*d.StrideH + p - d.PadH
						if h < 0 || h >= d.H {
							continue
						}
						for q := 0; q < d.KW; q++ {
							if v := j*d.StrideW + q - d.PadW; v >= 0 && v < d.W {
								dxp[h*d.W+v] += gy * kd[p*d.KW+q] * xp[h*d.W+v]
							}
						}
					}
				}
			}
		}
	})
}
