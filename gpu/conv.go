package gpu

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
)

// The convolution family: conv2d, locally connected (untied) layers, and spatial L2 pooling.
// Every backward op is a gather (each output element sums what reaches it), so no op needs
// atomics and every op overwrites its output completely.

// The tiled shaders (conv2d_forward.comp, conv2d_backward_data.comp) run work groups of
// convTW×convTH invocations, each computing up to convPY pixels of a column for a block of
// channels. What they stage in shared memory must fit the XS and WS floats of their #defines
// (checked by the Go side before choosing them): 16 KiB for the forward, 24 KiB for backward
// data, within llvmpipe's 32 KiB and NVIDIA's 48 KiB.
const (
	convTW, convTH, convPY = 8, 4, 4
	convLocal              = convTW * convTH
	fwdXS, fwdWS           = 2048, 2048
	bwdXS, bwdWS           = 4096, 2048
)

// Work-group width of the one-invocation-per-element shaders, and of the reduction groups of
// conv2d_backward_filter.comp (a power of two, at least 16).
const (
	convElemLocal   = 256
	convReduceLocal = 64
)

// A tiled variant: its block of channels per invocation, its pixels per invocation, and its
// #defines. The strings are constants, so that program lookups allocate nothing.
type convVariant struct {
	block, py int
	defines   string
}

// fwdVariants: KB output channels per invocation (a multiple of 4: the shader holds them as
// vec4), 4 pixels each.
var fwdVariants = [...]convVariant{
	{4, 4, "TILED\nTW 8\nTH 4\nPY 4\nXS 2048\nWS 2048\nKB 4"},
	{8, 4, "TILED\nTW 8\nTH 4\nPY 4\nXS 2048\nWS 2048\nKB 8"},
	{16, 4, "TILED\nTW 8\nTH 4\nPY 4\nXS 2048\nWS 2048\nKB 16"},
}

// bwdVariants: CB input channels per invocation, with 4 pixels each (when convTH is a multiple
// of the vertical stride) or 1.
var bwdVariants = [...]convVariant{
	{1, 4, "TILED\nTW 8\nTH 4\nPY 4\nXS 4096\nWS 2048\nCB 1"},
	{2, 4, "TILED\nTW 8\nTH 4\nPY 4\nXS 4096\nWS 2048\nCB 2"},
	{4, 4, "TILED\nTW 8\nTH 4\nPY 4\nXS 4096\nWS 2048\nCB 4"},
	{8, 4, "TILED\nTW 8\nTH 4\nPY 4\nXS 4096\nWS 2048\nCB 8"},
	{1, 1, "TILED\nTW 8\nTH 4\nPY 1\nXS 4096\nWS 2048\nCB 1"},
	{2, 1, "TILED\nTW 8\nTH 4\nPY 1\nXS 4096\nWS 2048\nCB 2"},
	{4, 1, "TILED\nTW 8\nTH 4\nPY 1\nXS 4096\nWS 2048\nCB 4"},
	{8, 1, "TILED\nTW 8\nTH 4\nPY 1\nXS 4096\nWS 2048\nCB 8"},
}

// pickVariant returns the variant with py pixels and the smallest block that covers ch channels,
// or the largest whose block·floats per channel fits limit; ok is false when none fits.
func pickVariant(vs []convVariant, py, ch, perChannel, limit int) (v convVariant, ok bool) {
	for _, c := range vs {
		if c.py != py || c.block*perChannel > limit {
			continue
		}
		v, ok = c, true
		if c.block >= ch {
			break
		}
	}
	return v, ok
}

// convUniforms sets the sizes every convolution shader declares, at locations 0–12.
func convUniforms(c *command, d kernels.ConvDims) {
	c.i32(d.N).i32(d.C).i32(d.H).i32(d.W).i32(d.K).i32(d.KH).i32(d.KW).i32(d.Ho).i32(d.Wo)
	c.i32(d.StrideH).i32(d.StrideW).i32(d.PadH).i32(d.PadW)
}

// Conv2DForward: y[n,k,i,j] = Σ_{c,p,q} w[k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw] (zero outside x).
// x [N,C,H,W], w [K,C,KH,KW], y [N,K,Ho,Wo].
func (b *Backend) Conv2DForward(y, x, w kernels.Tensor, g kernels.Conv2D) {
	d := kernels.CheckConv("Conv2DForward", x, w, y, g, false)
	b.conv2DForward(y, x, w, d, true)
}

// conv2DForward runs the tiled shader when tiled is set and the input window of a tile and a
// block of filters fit in shared memory, else the direct one.
func (b *Backend) conv2DForward(y, x, w kernels.Tensor, d kernels.ConvDims, tiled bool) {
	const op = "Conv2DForward"
	xt, wt, yt := b.t(op, x), b.t(op, w), b.t(op, y)
	v, ok := pickVariant(fwdVariants[:], convPY, d.K, d.KH*d.KW, fwdWS)
	window := ((convTH*convPY-1)*d.StrideH + d.KH) * ((convTW-1)*d.StrideW + d.KW)
	if tiled && ok && window <= fwdXS {
		c := b.kernel(op, b.program("conv2d_forward.comp", convLocal, v.defines))
		c.in(xt).in(wt).out(yt)
		convUniforms(&c, d)
		tiles := convTiles(d.Ho, convTH*v.py) * convTiles(d.Wo, convTW)
		b.groups(&c, d.N*convTiles(d.K, v.block)*tiles)
		return
	}
	c := b.kernel(op, b.program("conv2d_forward.comp", convElemLocal, ""))
	c.in(xt).in(wt).out(yt)
	convUniforms(&c, d)
	b.elements(&c, yt.n)
}

// Conv2DBackwardData: dx = the adjoint of Conv2DForward in x, applied to dy:
// dx[n,c,h,v] = Σ_{k,p,q} w[k,c,p,q]·dy[n,k,i,j] over h+ph−p = i·sh, v+pw−q = j·sw.
// dy [N,K,Ho,Wo], w [K,C,KH,KW], dx [N,C,H,W] (overwritten).
func (b *Backend) Conv2DBackwardData(dx, dy, w kernels.Tensor, g kernels.Conv2D) {
	d := kernels.CheckConv("Conv2DBackwardData", dx, w, dy, g, false)
	b.conv2DBackwardData(dx, dy, w, d, true)
}

// conv2DBackwardData runs the tiled shader when tiled is set and the rows of dy that a tile
// reaches and a block of filters fit in shared memory, else the direct one.
func (b *Backend) conv2DBackwardData(dx, dy, w kernels.Tensor, d kernels.ConvDims, tiled bool) {
	const op = "Conv2DBackwardData"
	dyt, wt, dxt := b.t(op, dy), b.t(op, w), b.t(op, dx)
	py := 1
	if convTH%d.StrideH == 0 {
		py = convPY // the pixels of an invocation, convTH rows apart, then share their taps
	}
	// Staged as vec4 (four output channels): filters and the rows and columns of dy that a
	// tile reaches, as in the shader.
	v, ok := pickVariant(bwdVariants[:], py, d.C, 4*d.KH*d.KW, bwdWS)
	window := 4 * ((convTH*py+d.KH-2+d.StrideH-1)/d.StrideH + 1) * ((convTW+d.KW-2+d.StrideW-1)/d.StrideW + 1)
	if tiled && ok && window <= bwdXS {
		c := b.kernel(op, b.program("conv2d_backward_data.comp", convLocal, v.defines))
		c.in(dyt).in(wt).out(dxt)
		convUniforms(&c, d)
		tiles := convTiles(d.H, convTH*v.py) * convTiles(d.W, convTW)
		b.groups(&c, d.N*convTiles(d.C, v.block)*tiles)
		return
	}
	c := b.kernel(op, b.program("conv2d_backward_data.comp", convElemLocal, ""))
	c.in(dyt).in(wt).out(dxt)
	convUniforms(&c, d)
	b.elements(&c, dxt.n)
}

// Conv2DBackwardFilter: dw[k,c,p,q] = Σ_{n,i,j} dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], dy [N,K,Ho,Wo], dw [K,C,KH,KW] (overwritten).
func (b *Backend) Conv2DBackwardFilter(dw, x, dy kernels.Tensor, g kernels.Conv2D) {
	const op = "Conv2DBackwardFilter"
	d := kernels.CheckConv(op, x, dw, dy, g, false)
	xt, dyt, dwt := b.t(op, x), b.t(op, dy), b.t(op, dw)
	c := b.kernel(op, b.program("conv2d_backward_filter.comp", convReduceLocal, ""))
	c.in(xt).in(dyt).out(dwt)
	convUniforms(&c, d)
	// One group per 4 filters × 4 taps of a row.
	b.groups(&c, convTiles(d.K, 4)*d.C*d.KH*convTiles(d.KW, 4))
}

// LocalForward: y[n,k,i,j] = Σ_{c,p,q} w[i,j,k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], w [Ho,Wo,K,C,KH,KW], y [N,K,Ho,Wo].
func (b *Backend) LocalForward(y, x, w kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalForward"
	d := kernels.CheckConv(op, x, w, y, g, true)
	xt, wt, yt := b.t(op, x), b.t(op, w), b.t(op, y)
	c := b.kernel(op, b.program("local_forward.comp", convElemLocal, ""))
	c.in(xt).in(wt).out(yt)
	convUniforms(&c, d)
	b.elements(&c, yt.n)
}

// LocalBackwardData: the adjoint of LocalForward in x,
// dx[n,c,h,v] = Σ_{k,p,q} w[i,j,k,c,p,q]·dy[n,k,i,j] over h+ph−p = i·sh, v+pw−q = j·sw.
// dy [N,K,Ho,Wo], w [Ho,Wo,K,C,KH,KW], dx [N,C,H,W] (overwritten).
func (b *Backend) LocalBackwardData(dx, dy, w kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalBackwardData"
	d := kernels.CheckConv(op, dx, w, dy, g, true)
	dyt, wt, dxt := b.t(op, dy), b.t(op, w), b.t(op, dx)
	c := b.kernel(op, b.program("local_backward_data.comp", convElemLocal, ""))
	c.in(dyt).in(wt).out(dxt)
	convUniforms(&c, d)
	b.elements(&c, dxt.n)
}

// LocalBackwardFilter: dw[i,j,k,c,p,q] = Σ_n dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], dy [N,K,Ho,Wo], dw [Ho,Wo,K,C,KH,KW] (overwritten).
func (b *Backend) LocalBackwardFilter(dw, x, dy kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalBackwardFilter"
	d := kernels.CheckConv(op, x, dw, dy, g, true)
	xt, dyt, dwt := b.t(op, x), b.t(op, dy), b.t(op, dw)
	c := b.kernel(op, b.program("local_backward_filter.comp", convElemLocal, ""))
	c.in(xt).in(dyt).out(dwt)
	convUniforms(&c, d)
	b.elements(&c, dwt.n)
}

// L2Pool2D: y[n,c,i,j] = √(ε + Σ_{p,q} k[p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw]²).
// x [N,C,H,W], window k [KH,KW], y [N,C,Ho,Wo].
func (b *Backend) L2Pool2D(y, x, k kernels.Tensor, g kernels.Conv2D, eps float32) {
	const op = "L2Pool2D"
	d := kernels.CheckPool2D(op, x, k, y, g)
	xt, kt, yt := b.t(op, x), b.t(op, k), b.t(op, y)
	c := b.kernel(op, b.program("l2pool2d.comp", convElemLocal, ""))
	c.in(xt).in(kt).out(yt)
	poolUniforms(&c, d)
	c.f32(eps)
	b.elements(&c, yt.n)
}

// L2Pool2DBackward: dx[n,c,h,v] = Σ over the windows (i,j) and taps (p,q) that read (h,v) of
// dy[n,c,i,j]·k[p,q]·x[n,c,h,v]/y[n,c,i,j], with y from L2Pool2D. dx [N,C,H,W] (overwritten).
func (b *Backend) L2Pool2DBackward(dx, dy, x, y, k kernels.Tensor, g kernels.Conv2D) {
	const op = "L2Pool2DBackward"
	d := kernels.CheckPool2D(op, x, k, y, g)
	kernels.CheckLen(op, dx, x)
	kernels.CheckLen(op, dy, y)
	dyt, xt, yt, kt, dxt := b.t(op, dy), b.t(op, x), b.t(op, y), b.t(op, k), b.t(op, dx)
	c := b.kernel(op, b.program("l2pool2d_backward.comp", convElemLocal, ""))
	c.in(dyt).in(xt).in(yt).in(kt).out(dxt)
	poolUniforms(&c, d)
	b.elements(&c, dxt.n)
}

// poolUniforms sets the sizes the pooling shaders declare, at locations 0–11.
func poolUniforms(c *command, d kernels.ConvDims) {
	c.i32(d.N).i32(d.C).i32(d.H).i32(d.W).i32(d.KH).i32(d.KW).i32(d.Ho).i32(d.Wo)
	c.i32(d.StrideH).i32(d.StrideW).i32(d.PadH).i32(d.PadW)
}

// convTiles is the number of tiles (blocks) of size t that cover n: ⌈n/t⌉.
func convTiles(n, t int) int { return (n + t - 1) / t }

// notImplemented records the sticky error "gpu: <op> not implemented yet" (after checking that
// the operands are live tensors of this backend). The stubs of ops still to be written use it.
func (b *Backend) notImplemented(op string, ts ...kernels.Tensor) {
	for _, t := range ts {
		b.t(op, t)
	}
	b.submit(&command{kind: cmdHost, op: op, fn: func() error {
		return fmt.Errorf("gpu: %s not implemented yet", op)
	}})
}
