package gpu

import "github.com/drsae/drsae/kernels"

// Work-group width of the elementwise shaders.
const elemLocal = 256

// Fill: dst[i] = v.
func (b *Backend) Fill(dst kernels.Tensor, v float32) {
	d := b.t("Fill", dst)
	c := b.kernel("Fill", b.program("fill.comp", elemLocal, ""))
	c.out(d).u32(d.n).f32(v)
	b.elements(&c, d.n)
}

// Axpby: y[i] = α·x[i] + β·y[i]; with β = 0, y's old contents are ignored.
func (b *Backend) Axpby(alpha float32, x kernels.Tensor, beta float32, y kernels.Tensor) {
	n := kernels.CheckLen("Axpby", x, y)
	xt, yt := b.t("Axpby", x), b.t("Axpby", y)
	c := b.kernel("Axpby", b.program("axpby.comp", elemLocal, ""))
	c.in(xt).out(yt).u32(n).f32(alpha).f32(beta)
	b.elements(&c, n)
}

// Hadamard: dst[i] = x[i]·y[i]. dst may alias x or y.
func (b *Backend) Hadamard(dst, x, y kernels.Tensor) {
	n := kernels.CheckLen("Hadamard", dst, x, y)
	d, xt, yt := b.t("Hadamard", dst), b.t("Hadamard", x), b.t("Hadamard", y)
	c := b.kernel("Hadamard", b.program("hadamard.comp", elemLocal, ""))
	c.out(d).in(xt).in(yt).u32(n)
	b.elements(&c, n)
}

// Div: dst[i] = x[i]/y[i]. dst may alias x or y.
func (b *Backend) Div(dst, x, y kernels.Tensor) {
	n := kernels.CheckLen("Div", dst, x, y)
	d, xt, yt := b.t("Div", dst), b.t("Div", x), b.t("Div", y)
	c := b.kernel("Div", b.program("hadamard.comp", elemLocal, "DIV"))
	c.out(d).in(xt).in(yt).u32(n)
	b.elements(&c, n)
}

// Variants of broadcast.comp, by op and axis.
var broadcastDefines = [2][2]string{
	{"", "PER_ROW"},         // BroadcastMul: PerCol, PerRow
	{"ADD", "ADD\nPER_ROW"}, // BroadcastAdd
}

// BroadcastAdd: PerCol: dst[r,c] = x[r,c] + α·v[c]; PerRow: dst[r,c] = x[r,c] + α·v[r].
func (b *Backend) BroadcastAdd(dst, x kernels.Tensor, alpha float32, v kernels.Tensor, axis kernels.Axis) {
	b.broadcast("BroadcastAdd", true, dst, x, alpha, v, axis)
}

// BroadcastMul: PerCol: dst[r,c] = x[r,c]·v[c]; PerRow: dst[r,c] = x[r,c]·v[r].
func (b *Backend) BroadcastMul(dst, x, v kernels.Tensor, axis kernels.Axis) {
	b.broadcast("BroadcastMul", false, dst, x, 0, v, axis)
}

func (b *Backend) broadcast(op string, add bool, dst, x kernels.Tensor, alpha float32, v kernels.Tensor, axis kernels.Axis) {
	rows, cols := kernels.CheckBroadcast(op, dst, x, v, axis)
	d, xt, vt := b.t(op, dst), b.t(op, x), b.t(op, v)
	defs := broadcastDefines[b2i(add)][b2i(axis == kernels.PerRow)]
	c := b.kernel(op, b.program("broadcast.comp", elemLocal, defs))
	c.out(d).in(xt).in(vt).u32(rows * cols).u32(cols)
	if add {
		c.f32(alpha)
	}
	b.elements(&c, rows*cols)
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
