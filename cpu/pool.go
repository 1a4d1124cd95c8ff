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
			l2PoolPlane(yd[nc*howo:(nc+1)*howo], xd[nc*hw:(nc+1)*hw], kd, &d, eps)
		}
	})
}

// l2PoolPlane pools one plane. A window that lies inside the plane (every one, without padding)
// reads its rows as slices with no test per tap; the taps and their order are those of the
// checked loop that takes the windows over the border, so both give the same sums.
func l2PoolPlane(yp, xp, kd []float32, d *kernels.ConvDims, eps float32) {
	kh, kw, h, w, wo := d.KH, d.KW, d.H, d.W, d.Wo
	if tiled(d) {
		l2PoolTiles(yp, xp, kd, d, eps)
		return
	}
	for i := 0; i < d.Ho; i++ {
		h0 := i*d.StrideH - d.PadH
		rowsIn := h0 >= 0 && h0+kh <= h
		yr := yp[i*wo : i*wo+wo]
		for j := range yr {
			v0 := j*d.StrideW - d.PadW
			s := float64(eps)
			if rowsIn && v0 >= 0 && v0+kw <= w {
				for p := 0; p < kh; p++ {
					at := (h0+p)*w + v0
					row, kr := xp[at:at+kw], kd[p*kw:p*kw+kw]
					for q := range row {
						x := float64(row[q])
						s += float64(kr[q]) * x * x
					}
				}
			} else {
				for p := 0; p < kh; p++ {
					hp := h0 + p
					if hp < 0 || hp >= h {
						continue
					}
					for q := 0; q < kw; q++ {
						if v := v0 + q; v >= 0 && v < w {
							x := float64(xp[hp*w+v])
							s += float64(kd[p*kw+q]) * x * x
						}
					}
				}
			}
			yr[j] = float32(math.Sqrt(s))
		}
	}
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
			l2PoolPlaneBackward(dxd[nc*hw:(nc+1)*hw], dyd[nc*howo:(nc+1)*howo], xd[nc*hw:(nc+1)*hw], yd[nc*howo:(nc+1)*howo], kd, &d)
		}
	})
}

// l2PoolPlaneBackward is L2Pool2DBackward on one plane, with l2PoolPlane's two paths.
func l2PoolPlaneBackward(dxp, dyp, xp, yp, kd []float32, d *kernels.ConvDims) {
	clear(dxp)
	kh, kw, h, w, wo := d.KH, d.KW, d.H, d.W, d.Wo
	if tiled(d) {
		l2PoolTilesBackward(dxp, dyp, xp, yp, kd, d)
		return
	}
	for i := 0; i < d.Ho; i++ {
		h0 := i*d.StrideH - d.PadH
		rowsIn := h0 >= 0 && h0+kh <= h
		dyr, yr := dyp[i*wo:i*wo+wo], yp[i*wo:i*wo+wo]
		for j, dyv := range dyr {
			v0 := j*d.StrideW - d.PadW
			gy := dyv / yr[j]
			if rowsIn && v0 >= 0 && v0+kw <= w {
				for p := 0; p < kh; p++ {
					at := (h0+p)*w + v0
					row, drow, kr := xp[at:at+kw], dxp[at:at+kw], kd[p*kw:p*kw+kw]
					for q := range row {
						drow[q] += gy * kr[q] * row[q]
					}
				}
				continue
			}
			for p := 0; p < kh; p++ {
				hp := h0 + p
				if hp < 0 || hp >= h {
					continue
				}
				for q := 0; q < kw; q++ {
					if v := v0 + q; v >= 0 && v < w {
						dxp[hp*w+v] += gy * kd[p*kw+q] * xp[hp*w+v]
					}
				}
			}
		}
	}
}

// tiled reports whether the windows tile the plane without overlap or padding (stride = window,
// as for complex cells and groups of maps): each pixel is then read by at most one window, and
// the pooling runs along whole rows of the input.
func tiled(d *kernels.ConvDims) bool {
	return d.StrideH == d.KH && d.StrideW == d.KW && d.PadH == 0 && d.PadW == 0
}

// poolChunk is the number of outputs of a row that the tiled loops take at a time.
const poolChunk = 64

// l2PoolTiles is l2PoolPlane for tiled windows: for each output row, the sums of a chunk of
// outputs are built tap row by tap row, in the checked loop's order of taps (p, then q).
func l2PoolTiles(yp, xp, kd []float32, d *kernels.ConvDims, eps float32) {
	kh, kw, w, wo := d.KH, d.KW, d.W, d.Wo
	var acc [poolChunk]float64
	for i := 0; i < d.Ho; i++ {
		for j0 := 0; j0 < wo; j0 += poolChunk {
			a := acc[:min(poolChunk, wo-j0)]
			for j := range a {
				a[j] = float64(eps)
			}
			for p := 0; p < kh; p++ {
				at := (i*kh+p)*w + j0*kw
				row, kr := xp[at:at+len(a)*kw], kd[p*kw:p*kw+kw]
				if kw == 1 {
					k0 := float64(kr[0])
					row = row[:len(a)]
					for j, x := range row {
						a[j] += k0 * float64(x) * float64(x)
					}
					continue
				}
				if kw == 2 {
					k0, k1 := float64(kr[0]), float64(kr[1])
					for j := range a {
						x0, x1 := float64(row[2*j]), float64(row[2*j+1])
						a[j] = a[j] + k0*x0*x0 + k1*x1*x1
					}
					continue
				}
				for j := range a {
					t := row[j*kw : j*kw+kw]
					for q, k := range kr {
						x := float64(t[q])
						a[j] += float64(k) * x * x
					}
				}
			}
			yr := yp[i*wo+j0 : i*wo+j0+len(a)]
			for j, v := range a {
				yr[j] = float32(math.Sqrt(v))
			}
		}
	}
}

// l2PoolTilesBackward is l2PoolPlaneBackward for tiled windows (dxp cleared): each pixel of a
// window gets its one term.
func l2PoolTilesBackward(dxp, dyp, xp, yp, kd []float32, d *kernels.ConvDims) {
	kh, kw, w, wo := d.KH, d.KW, d.W, d.Wo
	var gy [poolChunk]float32
	for i := 0; i < d.Ho; i++ {
		for j0 := 0; j0 < wo; j0 += poolChunk {
			g := gy[:min(poolChunk, wo-j0)]
			dyr, yr := dyp[i*wo+j0:i*wo+j0+len(g)], yp[i*wo+j0:i*wo+j0+len(g)]
			for j := range g {
				g[j] = dyr[j] / yr[j]
			}
			for p := 0; p < kh; p++ {
				at := (i*kh+p)*w + j0*kw
				row, drow, kr := xp[at:at+len(g)*kw], dxp[at:at+len(g)*kw], kd[p*kw:p*kw+kw]
				switch kw {
				case 1:
					k := kr[0]
					row, drow = row[:len(g)], drow[:len(g)]
					for j, gj := range g {
						drow[j] += gj * k * row[j]
					}
					continue
				case 2:
					k0, k1 := kr[0], kr[1]
					row, drow = row[:2*len(g)], drow[:2*len(g)]
					for j, gj := range g {
						drow[2*j] += gj * k0 * row[2*j]
						drow[2*j+1] += gj * k1 * row[2*j+1]
					}
					continue
				}
				for j, gj := range g {
					t, dt := row[j*kw:j*kw+kw], drow[j*kw:j*kw+kw]
					for q, k := range kr {
						dt[q] += gj * k * t[q]
					}
				}
			}
		}
	}
}
