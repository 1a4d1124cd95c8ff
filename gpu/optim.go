package gpu

import "github.com/drsae/drsae/kernels"

// AdamUpdate: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − α·m/(√v + ε) with the new m and
// v, elementwise in float32. α and ε carry the bias corrections (see kernels.Backend). g is read
// only; no two operands may share storage.
func (b *Backend) AdamUpdate(p, g, m, v kernels.Tensor, alpha, beta1, beta2, eps float32) {
	const op = "AdamUpdate"
	n := kernels.CheckLen(op, p, g, m, v)
	pt, gt, mt, vt := b.t(op, p), b.t(op, g), b.t(op, m), b.t(op, v)
	kernels.CheckNoAlias(op, sameBuffer, []string{"p", "g", "m", "v"}, p, g, m, v)
	c := b.kernel(op, b.program("adam.comp", elemLocal, ""))
	c.out(pt).in(gt).out(mt).out(vt).u32(n).f32(alpha).f32(beta1).f32(beta2).f32(eps)
	b.elements(&c, n)
}
