package cpu

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// AdamUpdate: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − α·m/(√v + ε) with the new m and
// v, elementwise, computed in float64 and rounded once per output. α and ε carry the bias
// corrections (see kernels.Backend). g is read only; no two operands may share storage.
func (be *Backend) AdamUpdate(p, g, m, v kernels.Tensor, alpha, beta1, beta2, eps float32) {
	const op = "AdamUpdate"
	pd, gd, md, vd := data(op, p), data(op, g), data(op, m), data(op, v)
	n := kernels.CheckLen(op, p, g, m, v)
	kernels.CheckNoAlias(op, sameStorage, []string{"p", "g", "m", "v"}, p, g, m, v)
	a, b1, b2, e := float64(alpha), float64(beta1), float64(beta2), float64(eps)
	be.parallelFor(n, 4*n, func(lo, hi int) {
		ps, gs, ms, vs := pd[lo:hi], gd[lo:hi], md[lo:hi], vd[lo:hi]
		for i, gv := range gs {
			g64 := float64(gv)
			mi := b1*float64(ms[i]) + (1-b1)*g64
			vi := b2*float64(vs[i]) + (1-b2)*g64*g64
			ms[i], vs[i] = float32(mi), float32(vi)
			ps[i] = float32(float64(ps[i]) - a*mi/(math.Sqrt(vi)+e))
		}
	})
}
