package kerneltest

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// The references below compute every op of kernels.Backend in float64 with plain loops, straight
// from the formulas in kernels/backend.go. They share no code with any backend: the geometry of a
// convolution is worked out here again, and the backward passes scatter (they follow "the adjoint
// of the forward" literally), where a backend usually gathers. Inputs are float32 values widened
// exactly, so the references' own rounding (about 1e-16) is negligible against float32 tolerances.
// reference_test.go proves every backward reference against its forward by finite differences.

// refGemm returns α·op(A)·op(B) + β·C, op(A) [m,k] and op(B) [k,n] (A is stored [k,m] when
// transA, B is stored [n,k] when transB). With β = 0, C is not read.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a, b []float64, beta float64, c []float64) []float64 {
	opA, opB := a, b
	if transA {
		opA = transpose(k, m, a)
	}
	if transB {
		opB = transpose(n, k, b)
	}
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		row := out[i*n : (i+1)*n]
		for l := 0; l < k; l++ {
			av := opA[i*k+l]
			for j, bv := range opB[l*n : (l+1)*n] {
				row[j] += av * bv
			}
		}
		for j := range row {
			row[j] *= alpha
			if beta != 0 {
				row[j] += beta * c[i*n+j]
			}
		}
	}
	return out
}

// transpose returns the [cols, rows] transpose of x [rows, cols].
func transpose(rows, cols int, x []float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[c*rows+r] = x[r*cols+c]
		}
	}
	return out
}

// refAxpby returns α·x + β·y; with β = 0, y is not read.
func refAxpby(alpha float64, x []float64, beta float64, y []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = alpha * x[i]
		if beta != 0 {
			out[i] += beta * y[i]
		}
	}
	return out
}

// refDiv returns x ⊘ y.
func refDiv(x, y []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] / y[i]
	}
	return out
}

// refHadamard returns x ⊙ y.
func refHadamard(x, y []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * y[i]
	}
	return out
}

// refBroadcastAdd: x [rows, cols]; PerCol adds α·v[c], PerRow adds α·v[r].
func refBroadcastAdd(rows, cols int, x []float64, alpha float64, v []float64, axis kernels.Axis) []float64 {
	out := make([]float64, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			var vv float64
			if axis == kernels.PerRow {
				vv = v[r]
			} else {
				vv = v[c]
			}
			out[r*cols+c] = x[r*cols+c] + alpha*vv
		}
	}
	return out
}

// refBroadcastMul: x [rows, cols]; PerCol multiplies by v[c], PerRow by v[r].
func refBroadcastMul(rows, cols int, x, v []float64, axis kernels.Axis) []float64 {
	out := make([]float64, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			var vv float64
			if axis == kernels.PerRow {
				vv = v[r]
			} else {
				vv = v[c]
			}
			out[r*cols+c] = x[r*cols+c] * vv
		}
	}
	return out
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// refSoftShrink: x [rows, m], θ [m]: sign(x)·max(|x| − θ, 0).
func refSoftShrink(m int, x, theta []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = sign(x[i]) * math.Max(math.Abs(x[i])-theta[i%m], 0)
	}
	return out
}

// refPosShrink: max(x − θ, 0).
func refPosShrink(m int, x, theta []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = math.Max(x[i]-theta[i%m], 0)
	}
	return out
}

// refSoftShrinkBackward: dx = dy·[|x| > θ], dθ[i] = −Σ_r dy·sign(x)·[|x| > θ].
func refSoftShrinkBackward(m int, dy, x, theta []float64) (dx, dtheta []float64) {
	dx = make([]float64, len(x))
	dtheta = make([]float64, m)
	for i := range x {
		if math.Abs(x[i]) > theta[i%m] {
			dx[i] = dy[i]
			dtheta[i%m] -= dy[i] * sign(x[i])
		}
	}
	return dx, dtheta
}

// refPosShrinkBackward: dx = dy·[x > θ], dθ[i] = −Σ_r dy·[x > θ].
func refPosShrinkBackward(m int, dy, x, theta []float64) (dx, dtheta []float64) {
	dx = make([]float64, len(x))
	dtheta = make([]float64, m)
	for i := range x {
		if x[i] > theta[i%m] {
			dx[i] = dy[i]
			dtheta[i%m] -= dy[i]
		}
	}
	return dx, dtheta
}

// refPoolNorms: z [batch, units] → [batch, P], √(ε + Σ_k w_k·z[i_k]²) per pool.
func refPoolNorms(l *kernels.PoolLayout, batch int, z []float64, eps float64) []float64 {
	np := l.NumPools()
	out := make([]float64, batch*np)
	for b := 0; b < batch; b++ {
		for j := 0; j < np; j++ {
			idx, w := l.Pool(j)
			s := eps
			for k, i := range idx {
				v := z[b*l.Units+int(i)]
				s += float64(w[k]) * v * v
			}
			out[b*np+j] = math.Sqrt(s)
		}
	}
	return out
}

// refPoolNormsBackward: dz[b,i] = Σ over (pool j, member k) with i_jk = i of dy[b,j]·w_jk·z[b,i]/norms[b,j],
// scattered pool by pool.
func refPoolNormsBackward(l *kernels.PoolLayout, batch int, dy, z, norms []float64) []float64 {
	np := l.NumPools()
	dz := make([]float64, batch*l.Units)
	for b := 0; b < batch; b++ {
		for j := 0; j < np; j++ {
			idx, w := l.Pool(j)
			for k, i := range idx {
				p := b*l.Units + int(i)
				dz[p] += dy[b*np+j] * float64(w[k]) * z[p] / norms[b*np+j]
			}
		}
	}
	return dz
}

// refBlockSoftThreshold: per disjoint pool, x·max(0, 1 − τ/‖x_pool‖) (weights ignored); units in no
// pool are copied.
func refBlockSoftThreshold(l *kernels.PoolLayout, batch int, x []float64, tau float64) []float64 {
	out := append([]float64(nil), x...)
	for b := 0; b < batch; b++ {
		for j := 0; j < l.NumPools(); j++ {
			idx, _ := l.Pool(j)
			s := 0.0
			for _, i := range idx {
				v := x[b*l.Units+int(i)]
				s += v * v
			}
			f := 0.0
			if n := math.Sqrt(s); n > tau {
				f = 1 - tau/n
			}
			for _, i := range idx {
				out[b*l.Units+int(i)] = f * x[b*l.Units+int(i)]
			}
		}
	}
	return out
}

// convGeom is the geometry of a convolution, a locally connected layer or a pooling window,
// computed here independently of kernels.CheckConv.
type convGeom struct {
	N, C, H, W     int // input
	K, KH, KW      int // output channels (= C for pooling), window
	SH, SW, PH, PW int // strides, padding
	Ho, Wo         int // output
}

func newConvGeom(n, c, h, w, k, kh, kw int, g kernels.Conv2D) convGeom {
	return convGeom{
		N: n, C: c, H: h, W: w, K: k, KH: kh, KW: kw,
		SH: g.StrideH, SW: g.StrideW, PH: g.PadH, PW: g.PadW,
		Ho: (h+2*g.PadH-kh)/g.StrideH + 1,
		Wo: (w+2*g.PadW-kw)/g.StrideW + 1,
	}
}

func (g convGeom) geometry() kernels.Conv2D {
	return kernels.Conv2D{StrideH: g.SH, StrideW: g.SW, PadH: g.PH, PadW: g.PW}
}

func (g convGeom) xShape() []int     { return []int{g.N, g.C, g.H, g.W} }
func (g convGeom) yShape() []int     { return []int{g.N, g.K, g.Ho, g.Wo} }
func (g convGeom) wShape() []int     { return []int{g.K, g.C, g.KH, g.KW} }
func (g convGeom) localShape() []int { return []int{g.Ho, g.Wo, g.K, g.C, g.KH, g.KW} }
func (g convGeom) xLen() int         { return g.N * g.C * g.H * g.W }
func (g convGeom) yLen() int         { return g.N * g.K * g.Ho * g.Wo }
func (g convGeom) wLen() int         { return g.K * g.C * g.KH * g.KW }
func (g convGeom) localLen() int     { return g.Ho * g.Wo * g.wLen() }

// xAt returns the flat index of x[n,c, i·sh+p−ph, j·sw+q−pw], or −1 where that lies in the padding.
func (g convGeom) xAt(n, c, i, j, p, q int) int {
	h, w := i*g.SH+p-g.PH, j*g.SW+q-g.PW
	if h < 0 || h >= g.H || w < 0 || w >= g.W {
		return -1
	}
	return ((n*g.C+c)*g.H+h)*g.W + w
}

func (g convGeom) yAt(n, k, i, j int) int { return ((n*g.K+k)*g.Ho+i)*g.Wo + j }

func (g convGeom) wAt(k, c, p, q int) int { return ((k*g.C+c)*g.KH+p)*g.KW + q }

func (g convGeom) localAt(i, j, k, c, p, q int) int {
	return ((((i*g.Wo+j)*g.K+k)*g.C+c)*g.KH+p)*g.KW + q
}

// convTerms calls f for every term y[yi] += w[wi]·x[xi] of the convolution (local: untied weights),
// skipping the padding. Forward and both backward references are this one loop, read three ways.
func (g convGeom) convTerms(local bool, f func(yi, wi, xi int)) {
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for i := 0; i < g.Ho; i++ {
				for j := 0; j < g.Wo; j++ {
					yi := g.yAt(n, k, i, j)
					for c := 0; c < g.C; c++ {
						for p := 0; p < g.KH; p++ {
							for q := 0; q < g.KW; q++ {
								xi := g.xAt(n, c, i, j, p, q)
								if xi < 0 {
									continue
								}
								wi := g.wAt(k, c, p, q)
								if local {
									wi = g.localAt(i, j, k, c, p, q)
								}
								f(yi, wi, xi)
							}
						}
					}
				}
			}
		}
	}
}

// refConvForward: y[n,k,i,j] = Σ_{c,p,q} w·x (w [K,C,KH,KW], or [Ho,Wo,K,C,KH,KW] when local).
func refConvForward(g convGeom, local bool, x, w []float64) []float64 {
	y := make([]float64, g.yLen())
	g.convTerms(local, func(yi, wi, xi int) { y[yi] += w[wi] * x[xi] })
	return y
}

// refConvBackwardData: dx = the adjoint of the forward in x, applied to dy.
func refConvBackwardData(g convGeom, local bool, dy, w []float64) []float64 {
	dx := make([]float64, g.xLen())
	g.convTerms(local, func(yi, wi, xi int) { dx[xi] += w[wi] * dy[yi] })
	return dx
}

// refConvBackwardFilter: dw = Σ dy·x over the terms that use each weight.
func refConvBackwardFilter(g convGeom, local bool, x, dy []float64) []float64 {
	n := g.wLen()
	if local {
		n = g.localLen()
	}
	dw := make([]float64, n)
	g.convTerms(local, func(yi, wi, xi int) { dw[wi] += dy[yi] * x[xi] })
	return dw
}

// refL2Pool2D: y[n,c,i,j] = √(ε + Σ_{p,q} k[p,q]·x[n,c,…]²), zero outside the image (g.K = g.C).
func refL2Pool2D(g convGeom, x, k []float64, eps float64) []float64 {
	y := make([]float64, g.yLen())
	for n := 0; n < g.N; n++ {
		for c := 0; c < g.C; c++ {
			for i := 0; i < g.Ho; i++ {
				for j := 0; j < g.Wo; j++ {
					s := eps
					for p := 0; p < g.KH; p++ {
						for q := 0; q < g.KW; q++ {
							if xi := g.xAt(n, c, i, j, p, q); xi >= 0 {
								s += k[p*g.KW+q] * x[xi] * x[xi]
							}
						}
					}
					y[g.yAt(n, c, i, j)] = math.Sqrt(s)
				}
			}
		}
	}
	return y
}

// refL2Pool2DBackward: dx[…] = Σ over windows that read it of dy·k·x/y, scattered window by window.
func refL2Pool2DBackward(g convGeom, dy, x, y, k []float64) []float64 {
	dx := make([]float64, g.xLen())
	for n := 0; n < g.N; n++ {
		for c := 0; c < g.C; c++ {
			for i := 0; i < g.Ho; i++ {
				for j := 0; j < g.Wo; j++ {
					yi := g.yAt(n, c, i, j)
					for p := 0; p < g.KH; p++ {
						for q := 0; q < g.KW; q++ {
							if xi := g.xAt(n, c, i, j, p, q); xi >= 0 {
								dx[xi] += dy[yi] * k[p*g.KW+q] * x[xi] / y[yi]
							}
						}
					}
				}
			}
		}
	}
	return dx
}

// refNorms: PerRow ‖x[r,:]‖ [rows]; PerCol ‖x[:,c]‖ [cols].
func refNorms(rows, cols int, x []float64, axis kernels.Axis) []float64 {
	n := rows
	if axis == kernels.PerCol {
		n = cols
	}
	out := make([]float64, n)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			v := x[r*cols+c]
			if axis == kernels.PerRow {
				out[r] += v * v
			} else {
				out[c] += v * v
			}
		}
	}
	for i := range out {
		out[i] = math.Sqrt(out[i])
	}
	return out
}

// refProjectNormBall scales each row (PerRow) or column (PerCol) with norm > radius to norm radius.
func refProjectNormBall(rows, cols int, x []float64, radius float64, axis kernels.Axis) []float64 {
	norms := refNorms(rows, cols, x, axis)
	out := append([]float64(nil), x...)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			var n float64
			if axis == kernels.PerRow {
				n = norms[r]
			} else {
				n = norms[c]
			}
			if n > radius {
				out[r*cols+c] *= radius / n
			}
		}
	}
	return out
}

// refNormalizeRows: norms[r] = √(ε + ‖x[r,:]‖²), y = x/norms[r].
func refNormalizeRows(rows, cols int, x []float64, eps float64) (y, norms []float64) {
	y = make([]float64, rows*cols)
	norms = make([]float64, rows)
	for r := 0; r < rows; r++ {
		s := eps
		for c := 0; c < cols; c++ {
			s += x[r*cols+c] * x[r*cols+c]
		}
		norms[r] = math.Sqrt(s)
		for c := 0; c < cols; c++ {
			y[r*cols+c] = x[r*cols+c] / norms[r]
		}
	}
	return y, norms
}

// refNormalizeRowsBackward: dx = (dy − y·⟨y[r,:], dy[r,:]⟩)/norms[r].
func refNormalizeRowsBackward(rows, cols int, dy, y, norms []float64) []float64 {
	dx := make([]float64, rows*cols)
	for r := 0; r < rows; r++ {
		s := 0.0
		for c := 0; c < cols; c++ {
			s += y[r*cols+c] * dy[r*cols+c]
		}
		for c := 0; c < cols; c++ {
			dx[r*cols+c] = (dy[r*cols+c] - y[r*cols+c]*s) / norms[r]
		}
	}
	return dx
}

// refSoftmaxXent: loss[b] = −log softmax(logits[b,:])[label], grad = softmax − onehot; a label that
// is not an index in [0,k) gives NaN loss and a NaN grad row.
func refSoftmaxXent(batch, k int, logits, labels []float64) (loss, grad []float64) {
	loss = make([]float64, batch)
	grad = make([]float64, batch*k)
	for b := 0; b < batch; b++ {
		z := logits[b*k : (b+1)*k]
		lab := labels[b]
		if !(lab >= 0 && lab < float64(k)) || lab != math.Trunc(lab) {
			loss[b] = math.NaN()
			for c := range z {
				grad[b*k+c] = math.NaN()
			}
			continue
		}
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, v)
		}
		s := 0.0
		for _, v := range z {
			s += math.Exp(v - m)
		}
		lse := m + math.Log(s)
		loss[b] = lse - z[int(lab)]
		for c, v := range z {
			grad[b*k+c] = math.Exp(v - lse)
			if c == int(lab) {
				grad[b*k+c]--
			}
		}
	}
	return loss, grad
}

// refArgmax: the first index of the largest value of each row.
func refArgmax(batch, k int, logits []float64) []float64 {
	out := make([]float64, batch)
	for b := 0; b < batch; b++ {
		best := 0
		for c := 1; c < k; c++ {
			if logits[b*k+c] > logits[b*k+best] {
				best = c
			}
		}
		out[b] = float64(best)
	}
	return out
}

// refReduce: PerRow Σ_c f(x[r,c]) [rows]; PerCol Σ_r f(x[r,c]) [cols], f(v) = v, |v| or v².
func refReduce(rows, cols int, x []float64, op kernels.ReduceOp, axis kernels.Axis) []float64 {
	f := func(v float64) float64 { return v }
	switch op {
	case kernels.ReduceAbs:
		f = math.Abs
	case kernels.ReduceSquares:
		f = func(v float64) float64 { return v * v }
	}
	return refSumOver(rows, cols, x, f, axis)
}

// refCountAbove: the number of |x| > θ per row (PerRow) or column (PerCol); NaN is not above.
func refCountAbove(rows, cols int, x []float64, theta float64, axis kernels.Axis) []float64 {
	return refSumOver(rows, cols, x, func(v float64) float64 {
		if math.Abs(v) > theta {
			return 1
		}
		return 0
	}, axis)
}

// refSumOver sums f over the rows (PerRow: one sum per row) or the columns of x [rows, cols].
func refSumOver(rows, cols int, x []float64, f func(float64) float64, axis kernels.Axis) []float64 {
	n := rows
	if axis == kernels.PerCol {
		n = cols
	}
	out := make([]float64, n)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if axis == kernels.PerRow {
				out[r] += f(x[r*cols+c])
			} else {
				out[c] += f(x[r*cols+c])
			}
		}
	}
	return out
}

// refScatterCols: dst [n, m] with column idx[j] replaced by column j of src [n, k], for every j
// whose idx[j] is a whole number in [0, m); the other columns as they were.
func refScatterCols(n, m, k int, dst, src, idx []float64) []float64 {
	out := append([]float64(nil), dst...)
	for j := 0; j < k; j++ {
		col := idx[j]
		if !(col >= 0 && col < float64(m) && col == math.Floor(col)) {
			continue
		}
		for i := 0; i < n; i++ {
			out[i*m+int(col)] = src[i*k+j]
		}
	}
	return out
}

// refAdam: m' = β1·m + (1−β1)·g, v' = β2·v + (1−β2)·g², p' = p − α·m'/(√v' + ε).
func refAdam(p, g, m, v []float64, alpha, beta1, beta2, eps float64) (p2, m2, v2 []float64) {
	p2, m2, v2 = make([]float64, len(p)), make([]float64, len(p)), make([]float64, len(p))
	for i := range p {
		m2[i] = beta1*m[i] + (1-beta1)*g[i]
		v2[i] = beta2*v[i] + (1-beta2)*g[i]*g[i]
		p2[i] = p[i] - alpha*m2[i]/(math.Sqrt(v2[i])+eps)
	}
	return p2, m2, v2
}

// refShrinkStep returns one step of ShrinkRecurrence, h(c + z·Sᵀ) for z, c [b,m] and s [m,m],
// and the same on absolute values, |c| + |z|·|S|ᵀ + |θ|, which bounds what rounding can do to it
// (h is 1-Lipschitz).
func refShrinkStep(b, m int, c, z, s, theta []float64, nonNegative bool) (out, scale []float64) {
	out, scale = make([]float64, b*m), make([]float64, b*m)
	for r := range b {
		for i := range m {
			v, a := c[r*m+i], math.Abs(c[r*m+i])+math.Abs(theta[i])
			for k := range m {
				v += z[r*m+k] * s[i*m+k]
				a += math.Abs(z[r*m+k] * s[i*m+k])
			}
			if nonNegative {
				out[r*m+i] = math.Max(v-theta[i], 0)
			} else {
				out[r*m+i] = sign(v) * math.Max(math.Abs(v)-theta[i], 0)
			}
			scale[r*m+i] = a
		}
	}
	return out, scale
}

// refShrinkRecurrence returns zs = z¹ … z^{T−1} [(T−1)·b·m] and code = z^T [b·m] of
// ShrinkRecurrence; round, if not nil, is applied to every z^t as a float32 backend stores it.
func refShrinkRecurrence(b, m, steps int, c, s, theta []float64, nonNegative bool, round func([]float64) []float64) (zs, code []float64) {
	zs = make([]float64, (steps-1)*b*m)
	z := make([]float64, b*m)
	for t := 1; t <= steps; t++ {
		z, _ = refShrinkStep(b, m, c, z, s, theta, nonNegative)
		if round != nil {
			z = round(z)
		}
		if t < steps {
			copy(zs[(t-1)*b*m:], z)
		}
	}
	return zs, z
}

// refShrinkBackStep returns g = (δ·S)⊙[z ≠ 0] for δ, z [b,m] (δ·S is the [b,m] product with
// s [m,m]), and the same on absolute values, (|δ|·|S|)⊙[z ≠ 0].
func refShrinkBackStep(b, m int, delta, z, s []float64) (g, scale []float64) {
	g, scale = make([]float64, b*m), make([]float64, b*m)
	for r := range b {
		for k := range m {
			if z[r*m+k] == 0 {
				continue
			}
			for i := range m {
				g[r*m+k] += delta[r*m+i] * s[i*m+k]
				scale[r*m+k] += math.Abs(delta[r*m+i] * s[i*m+k])
			}
		}
	}
	return g, scale
}

// refShrinkRecurrenceBackward returns g [(T−1)·b·m] (g² … g^T, g^{t+1} in the rows of z^t),
// gsum = Σ_t g^t and gsign = Σ_t sign(z^t)·g^t of ShrinkRecurrenceBackward, given δ = ∂L/∂z^T
// [b,m] and the forward's zs and code; round, if not nil, is applied to every g^t as a float32
// backend stores it.
func refShrinkRecurrenceBackward(b, m, steps int, delta, zs, code, s []float64, round func([]float64) []float64) (g, gsum, gsign []float64) {
	n := b * m
	g, gsum, gsign = make([]float64, (steps-1)*n), make([]float64, n), make([]float64, n)
	var gt []float64
	for t := steps; t >= 1; t-- {
		z := code
		if t < steps {
			z = zs[(t-1)*n : t*n]
		}
		if t == steps {
			gt = make([]float64, n)
			for i := range gt {
				if z[i] != 0 {
					gt[i] = delta[i]
				}
			}
		} else {
			gt, _ = refShrinkBackStep(b, m, gt, z, s)
		}
		if round != nil {
			gt = round(gt)
		}
		if t >= 2 {
			copy(g[(t-2)*n:], gt)
		}
		for i := range gt {
			gsum[i] += gt[i]
			gsign[i] += sign(z[i]) * gt[i]
		}
	}
	return g, gsum, gsign
}
