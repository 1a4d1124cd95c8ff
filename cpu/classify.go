package cpu

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// SoftmaxXent: p = softmax(logits[b,:]); loss[b] = −log p[labels[b]];
// grad[b,c] = p[c] − [c = labels[b]] (per sample). logits, grad [B,k]; labels, loss [B]; loss
// may be nil. A label that is not an integer in [0,k) gives loss[b] = NaN and grad[b,:] = NaN.
// grad may be logits, and loss may be labels.
// The maximum logit is subtracted before exponentiating, and the normalizer is summed in
// float64, so large logits neither overflow nor lose the small probabilities.
func (be *Backend) SoftmaxXent(loss, grad, logits, labels kernels.Tensor) {
	const op = "SoftmaxXent"
	gd, zd, yd := data(op, grad), data(op, logits), data(op, labels)
	var ld []float32
	if loss != nil {
		ld = data(op, loss)
		kernels.CheckClassify(op, logits, loss)
	}
	rows, k := kernels.CheckClassify(op, logits, labels)
	kernels.CheckLen(op, grad, logits)
	be.parallelFor(rows, rows*k*8, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			zs, gs := zd[b*k:(b+1)*k], gd[b*k:(b+1)*k]
			label := float64(yd[b])
			if !(label >= 0 && label < float64(k) && label == math.Trunc(label)) {
				nan := float32(math.NaN())
				for c := range gs {
					gs[c] = nan
				}
				if ld != nil {
					ld[b] = nan
				}
				continue
			}
			y := int(label)
			top := zs[0]
			for _, v := range zs[1:] {
				top = max(top, v)
			}
			var sum float64
			for _, v := range zs {
				sum += math.Exp(float64(v - top))
			}
			// −log p[y] = log Σ exp(z − max) − (z[y] − max), taken before grad may overwrite
			// logits.
			l := math.Log(sum) - float64(zs[y]-top)
			for c, v := range zs {
				gs[c] = float32(math.Exp(float64(v-top)) / sum)
			}
			gs[y]--
			if ld != nil {
				ld[b] = float32(l)
			}
		}
	})
}

// Argmax: dst[b] = the first index of the largest logits[b,:]. logits [B,k], dst [B].
// NaN logits are never the largest; a row of NaN gives 0.
func (be *Backend) Argmax(dst, logits kernels.Tensor) {
	dd, zd := data("Argmax", dst), data("Argmax", logits)
	rows, k := kernels.CheckClassify("Argmax", logits, dst)
	be.parallelFor(rows, rows*k, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			best, top := 0, float32(math.NaN())
			for c, v := range zd[b*k : (b+1)*k] {
				if v > top || (top != top && v == v) {
					best, top = c, v
				}
			}
			dd[b] = float32(best)
		}
	})
}
