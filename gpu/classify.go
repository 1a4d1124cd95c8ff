package gpu

import "github.com/drsae/drsae/kernels"

// Classification: logits [B,k], one work group per sample. Rows are short (k classes), so the
// groups are narrower than the other reductions'.
const classifyLocal = 64

// classifySpan is the most classes one dispatch scans: the shaders loop over a row in strides
// of classifyLocal, up to three times, and Mesa llvmpipe ends an invocation's loops after
// 65,535 iterations in all (see gemmSplitK), which silently broke rows past 1.4 million classes.
// Longer rows are done in parts over several dispatches, their state in a scratch buffer.
const classifySpan = 16384 * classifyLocal

// SoftmaxXent: p = softmax(logits[b,:]); loss[b] = −log p[labels[b]]; grad[b,c] = p[c] −
// [c = labels[b]]. loss may be nil. A label outside [0,k) gives NaN loss and gradient.
func (b *Backend) SoftmaxXent(loss, grad, logits, labels kernels.Tensor) {
	const op = "SoftmaxXent"
	batch, k := kernels.CheckClassify(op, logits, labels)
	kernels.CheckLen(op, logits, grad)
	if loss != nil {
		kernels.CheckVector(op, "loss", loss, batch)
	}
	gt, lt, labt := b.t(op, grad), b.t(op, logits), b.t(op, labels)
	if k <= classifySpan {
		defines := "GROUP_REDUCE"
		if loss != nil {
			defines = "GROUP_REDUCE\nHAS_LOSS"
		}
		c := b.kernel(op, b.program("softmax_xent.comp", classifyLocal, defines))
		c.out(gt).in(lt).in(labt)
		if loss != nil {
			c.out(b.t(op, loss))
		}
		c.u32(batch).u32(k).u32(0).u32(k)
		b.groups(&c, batch)
		return
	}
	// Long rows: each row's maximum and Σ exp(logits − maximum) in parts into a scratch [B,2],
	// then the gradient (and loss) in parts.
	stats := b.scratch(op, batch, 2)
	prog := b.program("softmax_xent.comp", classifyLocal, "GROUP_REDUCE\nSTATS")
	for c0 := 0; c0 < k; c0 += classifySpan {
		c := b.kernel(op, prog)
		c.out(gt).in(lt).in(labt).out(stats).u32(batch).u32(k).u32(c0).u32(min(k, c0+classifySpan)).u32(b2i(c0 > 0))
		b.groups(&c, batch)
	}
	defines := "APPLY"
	if loss != nil {
		defines = "APPLY\nHAS_LOSS"
	}
	prog = b.program("softmax_xent.comp", classifyLocal, defines)
	for c0 := 0; c0 < k; c0 += classifySpan {
		c := b.kernel(op, prog)
		c.out(gt).in(lt).in(labt).in(stats)
		if loss != nil {
			c.out(b.t(op, loss))
		}
		c.u32(batch).u32(k).u32(c0).u32(min(k, c0+classifySpan))
		b.groups(&c, batch)
	}
	b.release(op, stats)
}

// Argmax: dst[b] = the first index of the largest logits[b,:].
func (b *Backend) Argmax(dst, logits kernels.Tensor) {
	batch, k := kernels.CheckClassify("Argmax", logits, dst)
	d, lt := b.t("Argmax", dst), b.t("Argmax", logits)
	if k <= classifySpan {
		c := b.kernel("Argmax", b.program("argmax.comp", classifyLocal, ""))
		c.out(d).in(lt).u32(batch).u32(k).u32(0).u32(k)
		b.groups(&c, batch)
		return
	}
	// Long rows: the best (value, index) so far in a scratch [B,2], merged part by part.
	best := b.scratch("Argmax", batch, 2)
	prog := b.program("argmax.comp", classifyLocal, "SPLIT")
	for c0 := 0; c0 < k; c0 += classifySpan {
		c1 := min(k, c0+classifySpan)
		c := b.kernel("Argmax", prog)
		c.out(d).in(lt).out(best).u32(batch).u32(k).u32(c0).u32(c1).u32(b2i(c0 > 0)).u32(b2i(c1 == k))
		b.groups(&c, batch)
	}
	b.release("Argmax", best)
}
