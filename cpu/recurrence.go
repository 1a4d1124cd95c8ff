package cpu

import "github.com/drsae/drsae/kernels"

// The fused recurrent shrinkage encoder. On the CPU the fusion saves no memory traffic worth
// having (each step is a [B,m]×[m,m] product the blocked Gemm runs near its peak), so the steps
// are the same products and shrinkages as the unfused ops, in the same order and with the same
// roundings: a model gets bit-identical codes either way.

// ShrinkRecurrence: z⁰ = 0, z^t = h(c + z^{t−1}·Sᵀ), t = 1 … T; zs [(T−1)·B, m] gets
// z¹ … z^{T−1}, code [B,m] gets z^T. c [B,m], s [m,m], θ [m].
func (be *Backend) ShrinkRecurrence(zs, code, c, s, theta kernels.Tensor, nonNegative bool) {
	const op = "ShrinkRecurrence"
	b, m, steps := kernels.CheckShrinkRecurrence(op, zs, code, c, s, theta)
	kernels.CheckNoAlias(op, sameStorage, []string{"zs", "code", "c", "s", "theta"}, zs, code, c, s, theta)
	zd, cod, cd, sd, td := data(op, zs), data(op, code), data(op, c), data(op, s), data(op, theta)
	n := b * m
	var pre []float32 // Sᵀ packed once for the T−1 products
	if steps > 2 {
		if pre = be.prepackB(true, b, m, m, sd, m); pre != nil {
			defer putBuf(pre)
		}
	}
	for t := 1; t <= steps; t++ {
		dst := cod
		if t < steps {
			dst = zd[(t-1)*n : t*n]
		}
		be.parallelFor(n, memoryWork(n), func(lo, hi int) { copy(dst[lo:hi], cd[lo:hi]) })
		if t > 1 {
			be.gemmPacked(pre, true, b, m, m, 1, zd[(t-2)*n:(t-1)*n], m, sd, m, 1, dst, m) // += z^{t−1}·Sᵀ
		}
		be.parallelFor(b, memoryWork(n), func(lo, hi int) {
			rows := dst[lo*m : hi*m]
			be.vec.shrink(rows, rows, td[:m], !nonNegative)
		})
	}
}

// ShrinkRecurrenceBackward: δ^T = delta; for t = T … 1, g^t = δ^t ⊙ [z^t ≠ 0], stored in g's
// rows of z^{t−1} for t ≥ 2, δ^{t−1} = g^t·S; gsum = Σ_t g^t, gsign (if not nil)
// = Σ_t sign(z^t)·g^t, summed from t = T down in float32. δ^{t−1} is formed where g^{t−1} goes
// and masked there in place; δ¹ in a scratch buffer.
func (be *Backend) ShrinkRecurrenceBackward(g, gsum, gsign, delta, zs, code, s kernels.Tensor) {
	const op = "ShrinkRecurrenceBackward"
	b, m, steps := kernels.CheckShrinkRecurrenceBackward(op, g, gsum, gsign, delta, zs, code, s)
	ts, names := []kernels.Tensor{g, gsum, delta, zs, code, s}, []string{"g", "gsum", "delta", "zs", "code", "s"}
	var sgd []float32
	if gsign != nil {
		ts, names = append(ts, gsign), append(names, "gsign")
		sgd = data(op, gsign)
	}
	kernels.CheckNoAlias(op, sameStorage, names, ts...)
	gd, sumd, dd, zd, cod, sd := data(op, g), data(op, gsum), data(op, delta), data(op, zs), data(op, code), data(op, s)
	n := b * m
	var first []float32 // δ¹, g¹
	if steps > 1 {
		first = getBuf(n)
		defer putBuf(first)
	}
	var pre []float32 // S packed once for the T−1 products
	if steps > 2 {
		if pre = be.prepackB(false, b, m, m, sd, m); pre != nil {
			defer putBuf(pre)
		}
	}
	zeros := getBuf(m)
	defer putBuf(zeros)
	clear(zeros)
	at := func(t int) []float32 { // where g^t is formed
		if t == 1 {
			return first
		}
		return gd[(t-2)*n : (t-1)*n]
	}
	for t := steps; t >= 1; t-- {
		gt, z := at(t), cod
		if t < steps {
			z = zd[(t-1)*n : t*n]
			be.gemmPacked(pre, false, b, m, m, 1, at(t+1), m, sd, m, 0, gt, m) // δ^t = g^{t+1}·S
		} else if t > 1 {
			be.parallelFor(n, memoryWork(n), func(lo, hi int) { copy(gt[lo:hi], dd[lo:hi]) })
		} else {
			gt = dd // T = 1: δ¹ is delta, g¹ is never stored
		}
		if t > 1 || steps > 1 {
			// g^t = δ^t ⊙ [z^t ≠ 0], in place: SoftShrinkBackward's mask [|z| > θ] at θ = 0.
			be.parallelFor(b, memoryWork(n), func(lo, hi int) {
				be.vec.shrinkBackward(gt[lo*m:], gt[lo*m:], z[lo*m:], m, hi-lo, zeros, nil, true)
			})
		} else {
			be.parallelFor(b, memoryWork(n), func(lo, hi int) { // T = 1: g¹ goes to gsum only
				be.vec.shrinkBackward(sumd[lo*m:], gt[lo*m:], z[lo*m:], m, hi-lo, zeros, nil, true)
			})
			gt = sumd
		}
		last := t == steps
		be.parallelFor(n, memoryWork(n), func(lo, hi int) {
			switch {
			case last && steps > 1:
				copy(sumd[lo:hi], gt[lo:hi])
			case !last:
				be.vec.axpby(1, gt[lo:hi], 1, sumd[lo:hi])
			}
			if sgd == nil {
				return
			}
			for i := lo; i < hi; i++ {
				if last {
					sgd[i] = sign(z[i]) * gt[i]
				} else {
					sgd[i] = sign(z[i])*gt[i] + sgd[i]
				}
			}
		})
	}
}
