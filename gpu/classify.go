package gpu

import "github.com/drsae/drsae/kernels"

// Classification: logits [B,k], one work group per sample. Rows are short (k classes), so the
// groups are narrower than the other reductions'.
const classifyLocal = 64

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
	defines := ""
	if loss != nil {
		defines = "HAS_LOSS"
	}
	c := b.kernel(op, b.program("softmax_xent.comp", classifyLocal, "GROUP_REDUCE\n"+defines))
	c.out(gt).in(lt).in(labt)
	if loss != nil {
		c.out(b.t(op, loss))
	}
	c.u32(batch).u32(k)
	b.groups(&c, batch)
}

// Argmax: dst[b] = the first index of the largest logits[b,:].
func (b *Backend) Argmax(dst, logits kernels.Tensor) {
	batch, k := kernels.CheckClassify("Argmax", logits, dst)
	d, lt := b.t("Argmax", dst), b.t("Argmax", logits)
	c := b.kernel("Argmax", b.program("argmax.comp", classifyLocal, ""))
	c.out(d).in(lt).u32(batch).u32(k)
	b.groups(&c, batch)
}
