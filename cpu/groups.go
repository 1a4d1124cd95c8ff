package cpu

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// pools is a layout "on the device": the host layout itself, which must not change.
type pools struct {
	layout  *kernels.PoolLayout
	blocked *blocked // for the blocked ops of groups8.go; nil for an inconsistent layout
	freed   bool
}

// Layout returns the host layout.
func (p *pools) Layout() *kernels.PoolLayout { return p.layout }

// layoutOf returns p's layout, and panics if p is nil, from another backend, or freed.
func layoutOf(op string, p kernels.Pools) *kernels.PoolLayout {
	return poolsOf(op, p).layout
}

func poolsOf(op string, p kernels.Pools) *pools {
	cp, ok := p.(*pools)
	if !ok || cp == nil {
		panic(fmt.Sprintf("kernels: %s: pools %T are not from the cpu backend", op, p))
	}
	if cp.freed {
		panic(fmt.Sprintf("kernels: %s: use of freed pools", op))
	}
	return cp
}

// blockedOf returns p's blocked form where this path runs the blocked ops, else nil.
func (be *Backend) blockedOf(op string, p kernels.Pools) *blocked {
	if be.vec.poolGather8 == nil {
		return nil
	}
	return poolsOf(op, p).blocked
}

// NewPools keeps layout for the ops below. It panics on a layout whose transpose was not built
// (one not made by kernels.NewPoolLayout or its relatives).
func (be *Backend) NewPools(layout *kernels.PoolLayout) (kernels.Pools, error) {
	if layout == nil || len(layout.Start) < 1 || len(layout.MemberStart) != layout.Units+1 ||
		len(layout.Member) != len(layout.Index) || len(layout.PoolOf) != len(layout.Index) {
		panic("kernels: NewPools: layout is nil or incomplete; build it with kernels.NewPoolLayout")
	}
	return &pools{layout: layout, blocked: newBlocked(layout)}, nil
}

// FreePools forgets p; using it afterwards panics.
func (be *Backend) FreePools(p kernels.Pools) {
	layoutOf("FreePools", p)
	p.(*pools).freed = true
}

// PoolNorms: dst[b,j] = √(ε + Σ_k w_jk·z[b, i_jk]²) over the members i_jk of pool j.
// z [B, units], dst [B, P].
func (be *Backend) PoolNorms(dst, z kernels.Tensor, p kernels.Pools, eps float32) {
	l := layoutOf("PoolNorms", p)
	dd, zd := data("PoolNorms", dst), data("PoolNorms", z)
	rows := kernels.CheckPools("PoolNorms", dst, z, l)
	noAlias("PoolNorms", dst, z)
	if be.blockedOf("PoolNorms", p) != nil {
		be.poolNorms8(dd, zd, l, rows, eps)
		return
	}
	m, np := l.Units, l.NumPools()
	be.parallelFor(rows, rows*len(l.Index), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			zs, ds := zd[b*m:(b+1)*m], dd[b*np:(b+1)*np]
			for j := range ds {
				s := float64(eps)
				for k := l.Start[j]; k < l.Start[j+1]; k++ {
					v := float64(zs[l.Index[k]])
					s += float64(l.Weight[k]) * v * v
				}
				ds[j] = float32(math.Sqrt(s))
			}
		}
	})
}

// PoolNormsBackward: dz[b,i] = Σ_{(j,k): i_jk = i} dy[b,j]·w_jk·z[b,i]/norms[b,j], gathered
// per unit through the layout's transpose, so each dz[b,i] has one writer. Units in no pool get
// 0. dz, z [B, units]; dy, norms [B, P].
func (be *Backend) PoolNormsBackward(dz, dy, z, norms kernels.Tensor, p kernels.Pools) {
	const op = "PoolNormsBackward"
	l := layoutOf(op, p)
	dzd, dyd, zd, nd := data(op, dz), data(op, dy), data(op, z), data(op, norms)
	rows := kernels.CheckPools(op, dy, z, l)
	kernels.CheckLen(op, dy, norms)
	kernels.CheckLen(op, dz, z)
	noAlias(op, dz, dy, z, norms)
	if bl := be.blockedOf(op, p); bl != nil {
		be.poolNormsBackward8(dzd, dyd, zd, nd, l, bl, rows)
		return
	}
	m, np := l.Units, l.NumPools()
	be.parallelFor(rows, rows*len(l.Index), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			dzs, zs := dzd[b*m:(b+1)*m], zd[b*m:(b+1)*m]
			dys, ns := dyd[b*np:(b+1)*np], nd[b*np:(b+1)*np]
			for i := range dzs {
				var s float64
				for _, k := range l.Member[l.MemberStart[i]:l.MemberStart[i+1]] {
					j := l.PoolOf[k]
					s += float64(dys[j]) * float64(l.Weight[k]) / float64(ns[j])
				}
				dzs[i] = float32(s * float64(zs[i]))
			}
		}
	})
}

// BlockSoftThreshold, the proximal operator of τ·Σ_j ‖z_{P_j}‖₂ over disjoint pools (weights
// ignored): dst[b,P_j] = max(0, 1 − τ/‖x[b,P_j]‖₂)·x[b,P_j]; units in no pool are copied.
// x, dst [B, units]. Panics if pools overlap.
func (be *Backend) BlockSoftThreshold(dst, x kernels.Tensor, p kernels.Pools, tau float32) {
	const op = "BlockSoftThreshold"
	l := layoutOf(op, p)
	dd, xd := data(op, dst), data(op, x)
	kernels.CheckLen(op, dst, x)
	rows, m := kernels.Dims2(x)
	if m != l.Units {
		panic(fmt.Sprintf("kernels: %s: x is %v, pools are over %d units", op, x.Shape(), l.Units))
	}
	noAlias(op, dst, x)
	if !l.Disjoint {
		panic(fmt.Sprintf("kernels: %s: the %d pools overlap; the proximal operator needs disjoint pools", op, l.NumPools()))
	}
	if bl := be.blockedOf(op, p); bl != nil {
		be.blockSoftThreshold8(dd, xd, l, bl, rows, tau)
		return
	}
	be.parallelFor(rows, rows*m, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			xs, ds := xd[b*m:(b+1)*m], dd[b*m:(b+1)*m]
			for i := range ds {
				if l.MemberStart[i] == l.MemberStart[i+1] {
					ds[i] = xs[i]
				}
			}
			for j := 0; j < l.NumPools(); j++ {
				members := l.Index[l.Start[j]:l.Start[j+1]]
				var s float64
				for _, i := range members {
					s += float64(xs[i]) * float64(xs[i])
				}
				// A pool with ‖x‖ ≤ τ (including ‖x‖ = 0) is set to zero; NaN stays NaN.
				scale := 0.0
				if norm := math.Sqrt(s); norm > float64(tau) {
					scale = 1 - float64(tau)/norm
				} else if math.IsNaN(norm) {
					scale = norm
				}
				for _, i := range members {
					ds[i] = float32(scale * float64(xs[i]))
				}
			}
		}
	})
}
