package kernels

// Tensor is an opaque, row-major float32 array owned by one Backend.
// Host data reaches it only through Backend.Upload and Backend.Download.
type Tensor interface {
	// Shape returns the dimensions, outermost first. The caller must not modify it.
	Shape() []int
	// Len is the product of Shape.
	Len() int
}

// Axis says which way a per-vector operand broadcasts over a [rows, cols] matrix.
type Axis int

const (
	// PerCol: the vector has one value per column ([cols]); it is applied to every row.
	PerCol Axis = iota
	// PerRow: the vector has one value per row ([rows]); it is applied to every column.
	PerRow
)

func (a Axis) String() string {
	switch a {
	case PerCol:
		return "PerCol"
	case PerRow:
		return "PerRow"
	}
	return "Axis(?)"
}

// ReduceOp is the function Reduce applies to every element before summing.
type ReduceOp int

const (
	// ReduceSum: f(v) = v.
	ReduceSum ReduceOp = iota
	// ReduceAbs: f(v) = |v| (an L1 norm).
	ReduceAbs
	// ReduceSquares: f(v) = v² (a squared L2 norm).
	ReduceSquares
)

func (o ReduceOp) String() string {
	switch o {
	case ReduceSum:
		return "ReduceSum"
	case ReduceAbs:
		return "ReduceAbs"
	case ReduceSquares:
		return "ReduceSquares"
	}
	return "ReduceOp(?)"
}

// Info describes a backend and the device it runs on.
type Info struct {
	Name     string // "cpu" or "gpu"
	Device   string // e.g. "AMD EPYC (2 threads)" or the GL renderer
	Vendor   string // GL vendor; empty on the CPU
	Version  string // GL version string; Go version on the CPU
	Threads  int    // worker goroutines (CPU); 0 on the GPU
	MaxBytes int64  // largest single tensor, in bytes (GL max storage block size)
	// Software: the device is a CPU rasterizer (Mesa llvmpipe): correct, but far slower than the
	// cpu backend, so Open("auto") passes it over.
	Software bool
	// GPU compute limits; zero on the CPU.
	MaxWorkGroupCount       [3]int
	MaxWorkGroupSize        [3]int
	MaxWorkGroupInvocations int
	MaxSharedBytes          int
	Extra                   map[string]string // anything else worth printing
}

// Conv2D holds the geometry of a 2D convolution or pooling window.
// Output size: Ho = (H + 2·PadH − KH)/StrideH + 1, likewise Wo.
type Conv2D struct {
	StrideH, StrideW int
	PadH, PadW       int
}

// OutSize returns the output height and width of a window kh×kw over an h×w input.
func (c Conv2D) OutSize(h, w, kh, kw int) (int, int) {
	return (h+2*c.PadH-kh)/c.StrideH + 1, (w+2*c.PadW-kw)/c.StrideW + 1
}

// Pools is a device copy of a PoolLayout, made by Backend.NewPools.
type Pools interface {
	Layout() *PoolLayout
}

// Backend is the set of operations every device implements. Rules (see doc.go):
//   - Shapes are checked; a mismatch panics with a "kernels: <Op>:" message naming both shapes.
//   - dst may alias an input in elementwise ops, the forward shrinkage ops, and ProjectNormBall
//     (in place); never in Gemm, the shrink backward ops, convolutions, pooling, the group ops,
//     NormalizeRows, Transpose, ScatterCols, Reduce, CountAbove or AdamUpdate (the last five
//     panic when their operands share storage).
//   - Ops may run asynchronously; Download and Sync wait. A failure of the device that happens
//     inside an op (lost context, shader compile error) is kept and returned by every later Sync
//     or Download; later ops are then skipped.
type Backend interface {
	// ---- memory ----

	// Info describes the backend and its device.
	Info() Info
	// New allocates a zero-filled tensor. It returns an error if the tensor exceeds the device's
	// size limit (Info().MaxBytes); running out of device memory may surface only at the next Sync.
	New(shape ...int) (Tensor, error)
	// Reshape returns a view of t with another shape of the same length. The view shares storage
	// with t; free only t (freeing a view panics).
	Reshape(t Tensor, shape ...int) Tensor
	// Upload copies src into dst; len(src) must equal dst.Len(). src is not kept after it returns.
	Upload(dst Tensor, src []float32)
	// Download copies src into dst; len(dst) must equal src.Len(). It waits for pending work.
	Download(dst []float32, src Tensor) error
	// Copy: dst[i] = src[i]; lengths must match (shapes may differ).
	Copy(dst, src Tensor)
	// Free releases t. Using t afterwards panics.
	Free(t Tensor)
	// Sync waits for all submitted work and returns the first device error, if any.
	Sync() error
	// Close releases the device. The backend must not be used afterwards.
	Close() error

	// ---- dense ----

	// Gemm: C = α·op(A)·op(B) + β·C with op(X) = X or Xᵀ.
	// op(A) is [M,K], op(B) is [K,N], C is [M,N]. With β = 0, C's old contents are ignored
	// (NaN in C does not propagate).
	Gemm(transA, transB bool, alpha float32, a, b Tensor, beta float32, c Tensor)

	// ---- elementwise (all tensors of equal length unless stated) ----

	// Fill: dst[i] = v.
	Fill(dst Tensor, v float32)
	// Axpby: y[i] = α·x[i] + β·y[i]. With β = 0, y's old contents are ignored.
	Axpby(alpha float32, x Tensor, beta float32, y Tensor)
	// Hadamard: dst[i] = x[i]·y[i].
	Hadamard(dst, x, y Tensor)
	// Div: dst[i] = x[i]/y[i] (IEEE semantics: x/0 is ±Inf, 0/0 is NaN).
	Div(dst, x, y Tensor)
	// BroadcastAdd: x and dst are [rows, cols];
	// PerCol: dst[r,c] = x[r,c] + α·v[c] (v [cols]); PerRow: dst[r,c] = x[r,c] + α·v[r] (v [rows]).
	BroadcastAdd(dst, x Tensor, alpha float32, v Tensor, axis Axis)
	// BroadcastMul: PerCol: dst[r,c] = x[r,c]·v[c]; PerRow: dst[r,c] = x[r,c]·v[r].
	BroadcastMul(dst, x, v Tensor, axis Axis)

	// ---- layout: moving values without arithmetic (exact) ----

	// Transpose: src is [r, c], dst is [c, r] (both matrices): dst[j,i] = src[i,j].
	// dst must not share storage with src.
	Transpose(dst, src Tensor)
	// ScatterCols: dst is [n, m] and src is [n, k] (as Dims2 views them), idx is [k] holding
	// column indices of dst as whole floats: dst[i, idx[j]] = src[i, j] for every i and j; every
	// other column of dst is unchanged. An index that is not a whole number in [0, m) is skipped:
	// column j of src is not written anywhere. Indices must be distinct: where two are equal,
	// which of their src columns ends up in dst is unspecified (and may differ from row to row).
	// dst must not share storage with src or idx.
	ScatterCols(dst, src, idx Tensor)

	// ---- shrinkage: x and dst are [rows, m], θ is [m] (one threshold per unit) ----

	// SoftShrink: dst[r,i] = sign(x[r,i])·max(|x[r,i]| − θ[i], 0).
	SoftShrink(dst, x, theta Tensor)
	// PosShrink (one-sided, a ReLU with threshold): dst[r,i] = max(x[r,i] − θ[i], 0).
	PosShrink(dst, x, theta Tensor)
	// SoftShrinkBackward: given dy = ∂L/∂dst of SoftShrink at pre-activation x,
	// dx[r,i] = dy[r,i]·[|x[r,i]| > θ[i]], and if dtheta is not nil (shape [m]),
	// dtheta[i] = −Σ_r dy[r,i]·sign(x[r,i])·[|x[r,i]| > θ[i]].
	SoftShrinkBackward(dx, dtheta, dy, x, theta Tensor)
	// PosShrinkBackward: dx[r,i] = dy[r,i]·[x[r,i] > θ[i]];
	// if dtheta is not nil, dtheta[i] = −Σ_r dy[r,i]·[x[r,i] > θ[i]].
	PosShrinkBackward(dx, dtheta, dy, x, theta Tensor)

	// ---- groups: z is [B, m]; a pool layout has P pools over m units ----

	// NewPools copies a layout to the device. The layout must not change afterwards.
	NewPools(layout *PoolLayout) (Pools, error)
	// FreePools releases a device pool layout.
	FreePools(p Pools)
	// PoolNorms: dst[b,j] = √(ε + Σ_{k} w_jk·z[b, i_jk]²) over the members i_jk of pool j with
	// weights w_jk. dst is [B, P].
	PoolNorms(dst, z Tensor, pools Pools, eps float32)
	// PoolNormsBackward: the gradient through PoolNorms. With dy = ∂L/∂norms [B,P] and the
	// norms computed by PoolNorms [B,P]:
	// dz[b,i] = Σ_{(j,k): i_jk = i} dy[b,j]·w_jk·z[b,i]/norms[b,j].
	// With dy filled with λ, dz is the gradient of λ·Σ_j √(ε + Σ w z²).
	PoolNormsBackward(dz, dy, z, norms Tensor, pools Pools)
	// BlockSoftThreshold, the proximal operator of τ·Σ_j ‖z_{P_j}‖₂ for disjoint pools (weights
	// ignored): dst[b,P_j] = max(0, 1 − τ/‖x[b,P_j]‖₂)·x[b,P_j]; units in no pool are copied.
	// Panics if the pools overlap.
	BlockSoftThreshold(dst, x Tensor, pools Pools, tau float32)

	// ---- convolution (NCHW) ----

	// Conv2DForward: y[n,k,i,j] = Σ_{c,p,q} w[k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw] (zero outside).
	// x [N,C,H,W], w [K,C,KH,KW], y [N,K,Ho,Wo]. A cross-correlation, as in Torch and PyTorch.
	Conv2DForward(y, x, w Tensor, g Conv2D)
	// Conv2DBackwardData: dx = the adjoint of Conv2DForward in x, applied to dy (overwrites dx).
	Conv2DBackwardData(dx, dy, w Tensor, g Conv2D)
	// Conv2DBackwardFilter: dw[k,c,p,q] = Σ_{n,i,j} dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw]
	// (overwrites dw).
	Conv2DBackwardFilter(dw, x, dy Tensor, g Conv2D)
	// LocalForward, locally connected (untied weights, one filter per output position):
	// y[n,k,i,j] = Σ_{c,p,q} w[i,j,k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw].
	// x [N,C,H,W], w [Ho,Wo,K,C,KH,KW], y [N,K,Ho,Wo].
	LocalForward(y, x, w Tensor, g Conv2D)
	// LocalBackwardData: the adjoint of LocalForward in x (overwrites dx).
	LocalBackwardData(dx, dy, w Tensor, g Conv2D)
	// LocalBackwardFilter: dw[i,j,k,c,p,q] = Σ_n dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw]
	// (overwrites dw).
	LocalBackwardFilter(dw, x, dy Tensor, g Conv2D)
	// L2Pool2D, spatial L2 pooling per channel:
	// y[n,c,i,j] = √(ε + Σ_{p,q} k[p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw]²) (zero outside), window k [KH,KW].
	// x [N,C,H,W], y [N,C,Ho,Wo].
	L2Pool2D(y, x, k Tensor, g Conv2D, eps float32)
	// L2Pool2DBackward: dx[n,c,h,w] = Σ over windows (i,j,p,q) that read (h,w) of
	// dy[n,c,i,j]·k[p,q]·x[n,c,h,w]/y[n,c,i,j] (overwrites dx).
	L2Pool2DBackward(dx, dy, x, y, k Tensor, g Conv2D)

	// ---- reductions and constraints: x is [rows, cols] ----

	// Norms: PerRow: dst[r] = ‖x[r,:]‖₂ (dst [rows]); PerCol: dst[c] = ‖x[:,c]‖₂ (dst [cols]).
	Norms(dst, x Tensor, axis Axis)
	// Reduce: with f(v) = v (ReduceSum), |v| (ReduceAbs) or v² (ReduceSquares),
	// PerRow: dst[r] = Σ_c f(x[r,c]) (dst [rows]); PerCol: dst[c] = Σ_r f(x[r,c]) (dst [cols]).
	// x is viewed as [rows, cols] by Dims2; a whole tensor reduces to one value with
	// Reduce(dst, Reshape(x, 1, x.Len()), op, PerRow). dst must not share storage with x.
	Reduce(dst, x Tensor, op ReduceOp, axis Axis)
	// CountAbove counts the elements whose magnitude exceeds θ:
	// PerRow: dst[r] = Σ_c [|x[r,c]| > θ] (dst [rows]); PerCol: dst[c] = Σ_r [|x[r,c]| > θ]
	// (dst [cols]). NaN is never above θ. The counts are whole floats, exact up to 2²⁴.
	// dst must not share storage with x.
	CountAbove(dst, x Tensor, theta float32, axis Axis)
	// ProjectNormBall scales, in place, every row (PerRow) or column (PerCol) of x whose L2 norm
	// exceeds radius down to norm radius; the others are unchanged.
	ProjectNormBall(x Tensor, radius float32, axis Axis)
	// NormalizeRows: norms[r] = √(ε + ‖x[r,:]‖²), dst[r,c] = x[r,c]/norms[r].
	NormalizeRows(dst, norms, x Tensor, eps float32)
	// NormalizeRowsBackward: with y = dst and norms from NormalizeRows and dy = ∂L/∂y,
	// dx[r,c] = (dy[r,c] − y[r,c]·Σ_c' y[r,c']·dy[r,c'])/norms[r].
	NormalizeRowsBackward(dx, dy, y, norms Tensor)

	// ---- optimizers ----

	// AdamUpdate, one step of Adam, elementwise over p, g, m, v of equal length:
	// m[i] ← β1·m[i] + (1−β1)·g[i]; v[i] ← β2·v[i] + (1−β2)·g[i]²;
	// p[i] ← p[i] − α·m[i]/(√v[i] + ε), with the new m[i] and v[i].
	// The caller folds Adam's bias corrections into α and ε: for step t (from 1) with learning
	// rate lr and ε₀, α = lr·√(1−β2ᵗ)/(1−β1ᵗ) and ε = ε₀·√(1−β2ᵗ).
	// g is read only; p, m and v are updated in place; no two of the four may share storage.
	AdamUpdate(p, g, m, v Tensor, alpha, beta1, beta2, eps float32)

	// ---- fused: the unrolled shrinkage encoder of LISTA and DrSAE ----

	// ShrinkRecurrence runs the T steps of the recurrent shrinkage encoder at once:
	// z⁰ = 0, z^t = h(c + z^{t−1}·Sᵀ) for t = 1 … T, with h(v)[i] = max(v[i] − θ[i], 0)
	// (PosShrink's) when nonNegative, else sign(v[i])·max(|v[i]| − θ[i], 0) (SoftShrink's).
	// c [B,m] is the drive (E·x), s is [m,m], theta [m]. zs [(T−1)·B, m] (any shape of that
	// length whose last dimension is m, e.g. [T−1,B,m]; no rows when T = 1) receives the
	// intermediate codes z¹ … z^{T−1}, z^t in rows (t−1)·B … t·B−1, and code [B,m] receives z^T;
	// T is 1 + zs's rows over B. No output may share storage with another operand.
	ShrinkRecurrence(zs, code, c, s, theta Tensor, nonNegative bool)
	// ShrinkRecurrenceBackward is the backpropagation through time of ShrinkRecurrence, given
	// its outputs zs and code and delta = ∂L/∂z^T [B,m]: δ^T = delta, and for t = T … 1
	// g^t = δ^t ⊙ [z^t ≠ 0], δ^{t−1} = g^t·S. g (shaped like zs) receives g² … g^T, g^{t+1} in
	// the rows of z^t; gsum [B,m] = Σ_t g^t (g¹ included); gsign [B,m], if not nil,
	// = Σ_t sign(z^t)⊙g^t. The mask [z^t ≠ 0] is h's derivative: [v > θ] for the one-sided h,
	// [|v| > θ] for the two-sided one wherever θ ≥ 0. The encoder's gradients follow by
	// products: ∂L/∂c = gsum, ∂L/∂S = gᵀ·zs = Σ_{t≥2} g^tᵀ·z^{t−1} (one Gemm over the (T−1)·B
	// rows), ∂L/∂θ = −Σ_rows gsign (−Σ_rows gsum when z ≥ 0). g, gsum and gsign must not share
	// storage with each other or with an input.
	ShrinkRecurrenceBackward(g, gsum, gsign, delta, zs, code, s Tensor)

	// ---- classification: logits [B,k], labels [B] holding class indices as whole floats ----

	// SoftmaxXent: grad has the shape of logits, loss [B]. p = softmax(logits[b,:]); loss[b] = −log p[labels[b]];
	// grad[b,c] = p[c] − [c = labels[b]] (per sample, not divided by B). loss may be nil.
	// A label outside [0,k) sets loss[b] = NaN and grad[b,:] = NaN.
	SoftmaxXent(loss, grad, logits, labels Tensor)
	// Argmax: dst[b] = the first index of the largest logits[b,:] (dst [B]).
	Argmax(dst, logits Tensor)
}
