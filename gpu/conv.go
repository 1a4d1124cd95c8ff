package gpu

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
)

// The convolution family: conv2d, locally connected (untied) layers, and spatial L2 pooling.
// Every backward op is a gather (each output element sums what reaches it), so no op needs
// atomics and every op overwrites its output completely.

// The tiled shaders (conv2d_forward.comp, conv2d_backward_data.comp) run work groups of
// convTW×convTH invocations, each computing a block of PY×PX pixels (PY, PX ∈ {1, 4}) for a
// block of channels. What they stage in shared memory must fit the XS and WS floats of their
// #defines (checked here before choosing them): 16 KiB for the forward, 24 KiB for backward
// data, within llvmpipe's 32 KiB and NVIDIA's 48 KiB. convMaxAcc bounds the sums an invocation
// holds in registers (PY·PX·block).
const (
	convTW, convTH = 8, 4
	convLocal      = convTW * convTH
	fwdXS, fwdWS   = 2048, 2048
	bwdXS, bwdWS   = 4096, 2048
	convMaxAcc     = 64
)

// Work-group width of the one-invocation-per-element shaders, and the widths of the reduction
// groups of conv2d_backward_filter.comp (powers of two, at least 16): the wider one when there
// are enough terms to give each invocation at least as many as the narrow one would have.
const (
	convElemLocal   = 256
	convReduceLocal = 64
	convReduceWide  = 256
)

// loopBudget bounds the loop iterations of one dispatch in each invocation, for the shaders whose
// loops are as long as a sum of the op (a convolution's channels and taps, a pool's members, a
// window's taps). Mesa llvmpipe ends a shader invocation's loops after 65,535 iterations in all
// (LP_MAX_TGSI_LOOP_ITERATIONS, shared by every loop of the shader; see gemmSplitK): thousands of
// channels with 5×5 kernels, 70,000 samples, a pool of 70,000 units or a 300×300 window came
// back silently wrong. So the Go side sums over parts of those, each dispatch after the first
// adding into the output (for the convolutions P0, P1, ADD_TO: convDispatch). What cannot be
// split further — one channel's taps, one row of a pooling window, the windows that reach one
// pixel in L2Pool2DBackward — is refused past loopMax (loopFits), with an error naming the limit.
const (
	loopBudget = 32768
	loopMax    = 65535 - 1024 // llvmpipe's limit, less a margin for the grid-stride loop
)

// loopPart is how many items of a sum, costing perItem iterations each, one dispatch takes.
func loopPart(perItem int) int { return max(1, loopBudget/max(1, perItem)) }

// loopFits reports whether an item of perItem loop iterations, which op cannot split, fits in
// one dispatch; when it does not, op is refused: the next Sync returns an error naming what and
// the limit, and later ops are skipped.
func (b *Backend) loopFits(op, what string, perItem int) bool {
	if perItem <= loopMax {
		return true
	}
	err := fmt.Errorf("gpu: %s: %s takes %d loop iterations in one shader invocation, past the %d this backend "+
		"allows (Mesa llvmpipe's LP_MAX_TGSI_LOOP_ITERATIONS, 65,535, cuts longer loops short)", op, what, perItem, loopMax)
	b.submit(&command{kind: cmdHost, op: op, fn: func() error { return err }})
	return false
}

// convDispatch submits c once per part of [0, total) of size part, with P0, P1 and ADD_TO set
// after the sizes, each part adding into the output of the ones before: over count work
// groups, or with elements set, over one invocation per element of count.
func (b *Backend) convDispatch(c command, total, part, count int, elements bool) {
	for p0 := 0; p0 == 0 || p0 < total; p0 += part {
		cmd := c
		cmd.i32(p0).i32(min(total, p0+part)).u32(b2i(p0 > 0))
		if elements {
			b.elements(&cmd, count)
		} else {
			b.groups(&cmd, count)
		}
	}
}

// convVariant is a tiled variant: channels per invocation (block), pixels per invocation
// (py rows, px columns), and its #defines.
type convVariant struct {
	block, py, px int
	defines       string
}

// The variants, made once so that choosing one allocates nothing: the forward blocks output
// channels by KB ∈ {4, 8, 16} (vec4 in the shader) with PY = 4, PX = 1; backward data blocks
// input channels by CB ∈ {1, 2, 4, 8} with PY, PX ∈ {4, 1}, smallest block first.
var fwdVariants, bwdVariants = func() (fwd, bwd []convVariant) {
	for _, kb := range []int{4, 8, 16} {
		fwd = append(fwd, convVariant{kb, 4, 1, fmt.Sprintf("TILED\nTW %d\nTH %d\nPY 4\nXS %d\nWS %d\nKB %d",
			convTW, convTH, fwdXS, fwdWS, kb)})
	}
	for _, cb := range []int{1, 2, 4, 8} {
		for _, pyx := range [][2]int{{4, 4}, {4, 1}, {1, 4}, {1, 1}} {
			bwd = append(bwd, convVariant{cb, pyx[0], pyx[1], fmt.Sprintf("TILED\nTW %d\nTH %d\nPY %d\nPX %d\nXS %d\nWS %d\nCB %d",
				convTW, convTH, pyx[0], pyx[1], bwdXS, bwdWS, cb)})
		}
	}
	return fwd, bwd
}()

// pickVariant returns the variant with py×px pixels and the smallest block that covers ch
// channels, or else the largest block whose filters (perChannel floats a channel) fit limit
// floats and whose sums fit convMaxAcc; ok is false when none fits.
func pickVariant(vs []convVariant, py, px, ch, perChannel, limit int) (v convVariant, ok bool) {
	for _, c := range vs {
		if c.py != py || c.px != px || c.block*perChannel > limit || c.block*py*px > convMaxAcc {
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
	if v, ok := pickVariant(fwdVariants, 4, 1, d.K, d.KH*d.KW, fwdWS); tiled && ok {
		rows, cols := (convTH*v.py-1)*d.StrideH+d.KH, (convTW*v.px-1)*d.StrideW+d.KW
		if rows*cols <= fwdXS {
			c := b.kernel(op, b.program("conv2d_forward.comp", convLocal, v.defines))
			c.in(xt).in(wt).out(yt)
			convUniforms(&c, d)
			tiles := convTiles(d.Ho, convTH*v.py) * convTiles(d.Wo, convTW*v.px)
			// Per input channel: staging the window and the filters, then the taps.
			perC := 2 + convTiles(rows*cols, convLocal) + convTiles(v.block/4*d.KH*d.KW, convLocal) + d.KH*(1+d.KW)
			b.convDispatch(c, d.C, loopPart(perC), d.N*convTiles(d.K, v.block)*tiles, false)
			return
		}
	}
	if !b.loopFits(op, "one channel of a kernel of "+taps(d), 1+d.KH*(1+d.KW)) {
		return
	}
	c := b.kernel(op, b.program("conv2d_forward.comp", convElemLocal, ""))
	c.in(xt).in(wt).out(yt)
	convUniforms(&c, d)
	b.convDispatch(c, d.C, loopPart(1+d.KH*(1+d.KW)), yt.n, true)
}

// Conv2DBackwardData: dx = the adjoint of Conv2DForward in x, applied to dy:
// dx[n,c,h,v] = Σ_{k,p,q} w[k,c,p,q]·dy[n,k,i,j] over h+ph−p = i·sh, v+pw−q = j·sw.
// dy [N,K,Ho,Wo], w [K,C,KH,KW], dx [N,C,H,W] (overwritten).
func (b *Backend) Conv2DBackwardData(dx, dy, w kernels.Tensor, g kernels.Conv2D) {
	d := kernels.CheckConv("Conv2DBackwardData", dx, w, dy, g, false)
	b.conv2DBackwardData(dx, dy, w, d, true)
}

// conv2DBackwardData runs the tiled shader when tiled is set and the rows of dy that a tile
// reaches and a block of filters fit in shared memory, else the direct one. It takes the most
// pixels per invocation that the strides allow and shared memory holds.
func (b *Backend) conv2DBackwardData(dx, dy, w kernels.Tensor, d kernels.ConvDims, tiled bool) {
	const op = "Conv2DBackwardData"
	dyt, wt, dxt := b.t(op, dy), b.t(op, w), b.t(op, dx)
	for _, pyx := range [...][2]int{{4, 4}, {4, 1}, {1, 4}, {1, 1}} {
		py, px := pyx[0], pyx[1]
		// The rows of an invocation share their taps only when convTH is a multiple of the
		// vertical stride, its columns a sliding window only at horizontal stride 1.
		if !tiled || py > 1 && convTH%d.StrideH != 0 || px > 1 && d.StrideW != 1 {
			continue
		}
		// Staged as vec4 (four output channels): the filters of a block, and the rows and
		// columns of dy that a tile reaches, as in the shader.
		v, ok := pickVariant(bwdVariants, py, px, d.C, 4*d.KH*d.KW, bwdWS)
		rows := (convTH*py+d.KH-2+d.StrideH-1)/d.StrideH + 1
		cols := (convTW*px+d.KW-2+d.StrideW-1)/d.StrideW + 1
		if !ok || 4*rows*cols > bwdXS {
			continue
		}
		c := b.kernel(op, b.program("conv2d_backward_data.comp", convLocal, v.defines))
		c.in(dyt).in(wt).out(dxt)
		convUniforms(&c, d)
		tiles := convTiles(d.H, convTH*py) * convTiles(d.W, convTW*px)
		// Per four output channels (the shader's step): staging dy and the filters, the taps.
		per4 := 2 + convTiles(rows*cols, convLocal) + convTiles(v.block*d.KH*d.KW, convLocal) + d.KH*(1+d.KW)
		b.convDispatch(c, d.K, 4*loopPart(per4), d.N*convTiles(d.C, v.block)*tiles, false)
		return
	}
	if !b.loopFits(op, "one channel of a kernel of "+taps(d), 1+d.KH*(1+d.KW)) {
		return
	}
	c := b.kernel(op, b.program("conv2d_backward_data.comp", convElemLocal, ""))
	c.in(dyt).in(wt).out(dxt)
	convUniforms(&c, d)
	b.convDispatch(c, d.K, loopPart(1+d.KH*(1+d.KW)), dxt.n, true)
}

// Conv2DBackwardFilter: dw[k,c,p,q] = Σ_{n,i,j} dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], dy [N,K,Ho,Wo], dw [K,C,KH,KW] (overwritten).
func (b *Backend) Conv2DBackwardFilter(dw, x, dy kernels.Tensor, g kernels.Conv2D) {
	const op = "Conv2DBackwardFilter"
	d := kernels.CheckConv(op, x, dw, dy, g, false)
	xt, dyt, dwt := b.t(op, x), b.t(op, dy), b.t(op, dw)
	local := convReduceLocal
	if d.N*d.Ho*d.Wo >= convReduceLocal*convReduceWide {
		local = convReduceWide
	}
	prog := b.program("conv2d_backward_filter.comp", local, "")
	// One group per 4 filters × 4 taps of a row, each invocation taking every local-th term, in
	// parts of loopBudget terms per invocation.
	terms, part := d.N*d.Ho*d.Wo, loopBudget*local
	for t0 := 0; t0 == 0 || t0 < terms; t0 += part {
		c := b.kernel(op, prog)
		c.in(xt).in(dyt).out(dwt)
		convUniforms(&c, d)
		c.i32(t0).i32(min(terms, t0+part)).u32(b2i(t0 > 0))
		b.groups(&c, convTiles(d.K, 4)*d.C*d.KH*convTiles(d.KW, 4))
	}
}

// LocalForward: y[n,k,i,j] = Σ_{c,p,q} w[i,j,k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], w [Ho,Wo,K,C,KH,KW], y [N,K,Ho,Wo].
func (b *Backend) LocalForward(y, x, w kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalForward"
	d := kernels.CheckConv(op, x, w, y, g, true)
	xt, wt, yt := b.t(op, x), b.t(op, w), b.t(op, y)
	if !b.loopFits(op, "one channel of a kernel of "+taps(d), 1+d.KH*(1+d.KW)) {
		return
	}
	c := b.kernel(op, b.program("local_forward.comp", convElemLocal, ""))
	c.in(xt).in(wt).out(yt)
	convUniforms(&c, d)
	b.convDispatch(c, d.C, loopPart(1+d.KH*(1+d.KW)), yt.n, true)
}

// LocalBackwardData: the adjoint of LocalForward in x,
// dx[n,c,h,v] = Σ_{k,p,q} w[i,j,k,c,p,q]·dy[n,k,i,j] over h+ph−p = i·sh, v+pw−q = j·sw.
// dy [N,K,Ho,Wo], w [Ho,Wo,K,C,KH,KW], dx [N,C,H,W] (overwritten).
func (b *Backend) LocalBackwardData(dx, dy, w kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalBackwardData"
	d := kernels.CheckConv(op, dx, w, dy, g, true)
	dyt, wt, dxt := b.t(op, dy), b.t(op, w), b.t(op, dx)
	// A pixel steps through ⌈KH/sh⌉ kernel rows, through ⌈KW/sw⌉ columns in those inside y, and
	// through the output channels of each tap inside y (the loop that is split). With the
	// weights within a storage block, one channel never passes the limit.
	rows, cols := convTiles(d.KH, d.StrideH), convTiles(d.KW, d.StrideW)
	fixed, reach := rows+min(rows, d.Ho)*cols, min(rows, d.Ho)*min(cols, d.Wo)
	if !b.loopFits(op, "one channel of a kernel of "+taps(d), fixed+reach) {
		return
	}
	c := b.kernel(op, b.program("local_backward_data.comp", convElemLocal, ""))
	c.in(dyt).in(wt).out(dxt)
	convUniforms(&c, d)
	b.convDispatch(c, d.K, max(1, (loopBudget-fixed)/reach), dxt.n, true)
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
	b.convDispatch(c, d.N, loopPart(1), dwt.n, true)
}

// L2Pool2D: y[n,c,i,j] = √(ε + Σ_{p,q} k[p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw]²).
// x [N,C,H,W], window k [KH,KW], y [N,C,Ho,Wo].
func (b *Backend) L2Pool2D(y, x, k kernels.Tensor, g kernels.Conv2D, eps float32) {
	const op = "L2Pool2D"
	d := kernels.CheckPool2D(op, x, k, y, g)
	xt, kt, yt := b.t(op, x), b.t(op, k), b.t(op, y)
	// A window row at a time, in parts of loopBudget iterations, y holding the sums in between.
	if !b.loopFits(op, fmt.Sprintf("one row of a %d-tap-wide window", d.KW), 1+d.KW) {
		return
	}
	prog := b.program("l2pool2d.comp", convElemLocal, "")
	part := loopPart(1 + d.KW)
	for p0 := 0; p0 < d.KH; p0 += part {
		c := b.kernel(op, prog)
		c.in(xt).in(kt).out(yt)
		poolUniforms(&c, d)
		c.f32(eps).i32(p0).i32(min(d.KH, p0+part)).u32(b2i(p0 > 0)).u32(b2i(p0+part >= d.KH))
		b.elements(&c, yt.n)
	}
}

// L2Pool2DBackward: dx[n,c,h,v] = Σ over the windows (i,j) and taps (p,q) that read (h,v) of
// dy[n,c,i,j]·k[p,q]·x[n,c,h,v]/y[n,c,i,j], with y from L2Pool2D. dx [N,C,H,W] (overwritten).
func (b *Backend) L2Pool2DBackward(dx, dy, x, y, k kernels.Tensor, g kernels.Conv2D) {
	const op = "L2Pool2DBackward"
	d := kernels.CheckPool2D(op, x, k, y, g)
	kernels.CheckLen(op, dx, x)
	kernels.CheckLen(op, dy, y)
	dyt, xt, yt, kt, dxt := b.t(op, dy), b.t(op, x), b.t(op, y), b.t(op, k), b.t(op, dx)
	// Each pixel gathers over the windows that reach it: the shader steps through ⌈KH/sh⌉ window
	// rows, and through ⌈KW/sw⌉ columns in those of them inside y.
	rows, cols := convTiles(d.KH, d.StrideH), convTiles(d.KW, d.StrideW)
	if !b.loopFits(op, fmt.Sprintf("the %d×%d windows that reach a pixel", rows, cols), rows+min(rows, d.Ho)*cols) {
		return
	}
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

// taps describes the kernel size of d, for errors.
func taps(d kernels.ConvDims) string { return fmt.Sprintf("%d×%d taps", d.KH, d.KW) }

// convTiles is the number of tiles (blocks) of size t that cover n: ⌈n/t⌉.
func convTiles(n, t int) int { return (n + t - 1) / t }
