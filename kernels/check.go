package kernels

import "fmt"

// The checks below are shared by every backend so that a misuse panics with the same message
// everywhere: "kernels: <Op>: <what> (shapes …)".

func panicf(op, format string, args ...any) {
	panic(fmt.Sprintf("kernels: %s: %s", op, fmt.Sprintf(format, args...)))
}

// Dims2 returns the [rows, cols] view of t: a rank-1 tensor is one row; higher ranks fold all
// leading dimensions into rows.
func Dims2(t Tensor) (rows, cols int) {
	s := t.Shape()
	switch len(s) {
	case 0:
		return 1, 1
	case 1:
		return 1, s[0]
	}
	cols = s[len(s)-1]
	if cols == 0 {
		return 0, 0
	}
	return t.Len() / cols, cols
}

// CheckLen panics unless every tensor has the length of the first.
func CheckLen(op string, ts ...Tensor) int {
	n := ts[0].Len()
	for _, t := range ts[1:] {
		if t.Len() != n {
			panicf(op, "length mismatch: %v vs %v", ts[0].Shape(), t.Shape())
		}
	}
	return n
}

// CheckUpload panics unless len(host) == t.Len().
func CheckUpload(op string, t Tensor, host int) {
	if t.Len() != host {
		panicf(op, "host slice has %d values, tensor %v has %d", host, t.Shape(), t.Len())
	}
}

// CheckShape panics with a message naming op and arg unless t has exactly shape want.
func CheckShape(op, arg string, t Tensor, want ...int) {
	s := t.Shape()
	ok := len(s) == len(want)
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] == want[i]
	}
	if !ok {
		panicf(op, "%s has shape %v, want %v", arg, s, want)
	}
}

// CheckVector panics unless t has length n (any shape).
func CheckVector(op, arg string, t Tensor, n int) {
	if t.Len() != n {
		panicf(op, "%s has shape %v (length %d), want length %d", arg, t.Shape(), t.Len(), n)
	}
}

// CheckGemm checks Gemm's operands and returns M, N, K.
func CheckGemm(transA, transB bool, a, b, c Tensor) (m, n, k int) {
	sa, sb, sc := a.Shape(), b.Shape(), c.Shape()
	if len(sa) != 2 || len(sb) != 2 || len(sc) != 2 {
		panicf("Gemm", "operands must be matrices: A %v, B %v, C %v", sa, sb, sc)
	}
	m, k = sa[0], sa[1]
	if transA {
		m, k = k, m
	}
	kb, n := sb[0], sb[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb || sc[0] != m || sc[1] != n {
		panicf("Gemm", "op(A) is [%d,%d], op(B) is [%d,%d], C is %v (transA=%v transB=%v, A %v, B %v)",
			m, k, kb, n, sc, transA, transB, sa, sb)
	}
	return m, n, k
}

// CheckBroadcast checks dst, x [rows, cols] and v, and returns rows, cols.
func CheckBroadcast(op string, dst, x, v Tensor, axis Axis) (rows, cols int) {
	CheckLen(op, dst, x)
	rows, cols = Dims2(x)
	want := cols
	if axis == PerRow {
		want = rows
	} else if axis != PerCol {
		panicf(op, "bad axis %d", axis)
	}
	if v.Len() != want {
		panicf(op, "x is %v, %v vector has shape %v, want length %d", x.Shape(), axis, v.Shape(), want)
	}
	return rows, cols
}

// CheckShrink checks dst, x [rows, m] and θ [m], and returns rows, m.
func CheckShrink(op string, dst, x, theta Tensor) (rows, m int) {
	CheckLen(op, dst, x)
	rows, m = Dims2(x)
	if theta.Len() != m {
		panicf(op, "x is %v, theta is %v, want length %d (one per unit)", x.Shape(), theta.Shape(), m)
	}
	return rows, m
}

// CheckShrinkBackward checks the operands of the shrink backward ops (dtheta may be nil).
func CheckShrinkBackward(op string, dx, dtheta, dy, x, theta Tensor) (rows, m int) {
	CheckLen(op, dx, dy, x)
	rows, m = CheckShrink(op, dx, x, theta)
	if dtheta != nil && dtheta.Len() != m {
		panicf(op, "x is %v, dtheta is %v, want length %d", x.Shape(), dtheta.Shape(), m)
	}
	return rows, m
}

// CheckShrinkRecurrence checks the operands of ShrinkRecurrence (zs, code, c, s, theta) and
// returns B, m and T.
func CheckShrinkRecurrence(op string, zs, code, c, s, theta Tensor) (b, m, t int) {
	b, m = Dims2(c)
	t = checkRecurrenceSteps(op, zs, code, c, s)
	if theta.Len() != m {
		panicf(op, "c is %v, theta is %v, want length %d (one per unit)", c.Shape(), theta.Shape(), m)
	}
	return b, m, t
}

// checkRecurrenceSteps checks zs [(T−1)·B, m], code and x [B,m] and s [m,m] and returns T.
func checkRecurrenceSteps(op string, zs, code, x, s Tensor) int {
	b, m := Dims2(x)
	zr, zm := Dims2(zs)
	switch {
	case b == 0 || m == 0:
		panicf(op, "%v has no samples or no units", x.Shape())
	case code.Len() != x.Len():
		panicf(op, "code is %v, want the length of %v", code.Shape(), x.Shape())
	case len(s.Shape()) != 2 || s.Shape()[0] != m || s.Shape()[1] != m:
		panicf(op, "s is %v, want [%d %d] for %d units", s.Shape(), m, m, m)
	case zr%b != 0 || zr > 0 && zm != m:
		panicf(op, "zs is %v, want (T−1)·%d rows of %d units", zs.Shape(), b, m)
	}
	return zr/b + 1
}

// CheckShrinkRecurrenceBackward checks the operands of ShrinkRecurrenceBackward (gsign may be
// nil) and returns B, m and T.
func CheckShrinkRecurrenceBackward(op string, g, gsum, gsign, delta, zs, code, s Tensor) (b, m, t int) {
	b, m = Dims2(delta)
	t = checkRecurrenceSteps(op, zs, code, delta, s)
	if gsum.Len() != delta.Len() {
		panicf(op, "gsum is %v, delta is %v, want the same length", gsum.Shape(), delta.Shape())
	}
	if gsign != nil && gsign.Len() != delta.Len() {
		panicf(op, "gsign is %v, delta is %v, want the same length", gsign.Shape(), delta.Shape())
	}
	if g.Len() != zs.Len() {
		panicf(op, "g is %v, zs is %v, want the same length", g.Shape(), zs.Shape())
	}
	return b, m, t
}

// CheckPools checks z [B, units] and out [B, P] against a layout, and returns B.
func CheckPools(op string, out, z Tensor, l *PoolLayout) int {
	b, m := Dims2(z)
	if m != l.Units {
		panicf(op, "z is %v, pools are over %d units", z.Shape(), l.Units)
	}
	if out.Len() != b*l.NumPools() {
		panicf(op, "z is %v, output is %v, want [%d,%d] (%d pools)", z.Shape(), out.Shape(), b, l.NumPools(), l.NumPools())
	}
	return b
}

// ConvDims are the sizes of a convolution, a locally connected layer, or a pooling window.
type ConvDims struct {
	N, C, H, W   int // input
	K, KH, KW    int // output channels (= C for pooling), window
	Ho, Wo       int // output
	Conv2D           // geometry
	Local        bool
	PoolChannels bool
}

func checkGeom(op string, g Conv2D) {
	if g.StrideH <= 0 || g.StrideW <= 0 || g.PadH < 0 || g.PadW < 0 {
		panicf(op, "bad geometry %+v: strides must be > 0, padding ≥ 0", g)
	}
}

// CheckConv checks x [N,C,H,W], w [K,C,KH,KW] (or [Ho,Wo,K,C,KH,KW] when local) and
// y [N,K,Ho,Wo], and returns the sizes.
func CheckConv(op string, x, w, y Tensor, g Conv2D, local bool) ConvDims {
	checkGeom(op, g)
	sx, sw, sy := x.Shape(), w.Shape(), y.Shape()
	if len(sx) != 4 || len(sy) != 4 {
		panicf(op, "x %v and y %v must be NCHW", sx, sy)
	}
	d := ConvDims{N: sx[0], C: sx[1], H: sx[2], W: sx[3], Conv2D: g, Local: local}
	ws := sw
	if local {
		if len(sw) != 6 {
			panicf(op, "w is %v, want [Ho,Wo,K,C,KH,KW]", sw)
		}
		ws = sw[2:]
	} else if len(sw) != 4 {
		panicf(op, "w is %v, want [K,C,KH,KW]", sw)
	}
	d.K, d.KH, d.KW = ws[0], ws[2], ws[3]
	if ws[1] != d.C {
		panicf(op, "x is %v with %d channels, w is %v", sx, d.C, sw)
	}
	d.Ho, d.Wo = g.OutSize(d.H, d.W, d.KH, d.KW)
	if d.Ho <= 0 || d.Wo <= 0 {
		panicf(op, "window %d×%d with %+v does not fit input %v", d.KH, d.KW, g, sx)
	}
	if local && (sw[0] != d.Ho || sw[1] != d.Wo) {
		panicf(op, "w is %v, want [%d,%d,…] for output %d×%d", sw, d.Ho, d.Wo, d.Ho, d.Wo)
	}
	if sy[0] != d.N || sy[1] != d.K || sy[2] != d.Ho || sy[3] != d.Wo {
		panicf(op, "x %v, w %v, geometry %+v give y [%d,%d,%d,%d], got %v", sx, sw, g, d.N, d.K, d.Ho, d.Wo, sy)
	}
	return d
}

// CheckPool2D checks x [N,C,H,W], window k [KH,KW] and y [N,C,Ho,Wo].
func CheckPool2D(op string, x, k, y Tensor, g Conv2D) ConvDims {
	checkGeom(op, g)
	sx, sk, sy := x.Shape(), k.Shape(), y.Shape()
	if len(sx) != 4 || len(sy) != 4 || len(sk) != 2 {
		panicf(op, "x %v and y %v must be NCHW, window %v must be [KH,KW]", sx, sy, sk)
	}
	d := ConvDims{N: sx[0], C: sx[1], H: sx[2], W: sx[3], K: sx[1], KH: sk[0], KW: sk[1], Conv2D: g, PoolChannels: true}
	d.Ho, d.Wo = g.OutSize(d.H, d.W, d.KH, d.KW)
	if d.Ho <= 0 || d.Wo <= 0 {
		panicf(op, "window %v with %+v does not fit input %v", sk, g, sx)
	}
	if sy[0] != d.N || sy[1] != d.C || sy[2] != d.Ho || sy[3] != d.Wo {
		panicf(op, "x %v, window %v, geometry %+v give y [%d,%d,%d,%d], got %v", sx, sk, g, d.N, d.C, d.Ho, d.Wo, sy)
	}
	return d
}

// CheckNorms checks x [rows, cols] and dst, and returns rows, cols.
func CheckNorms(op string, dst, x Tensor, axis Axis) (rows, cols int) {
	rows, cols = Dims2(x)
	want := rows
	if axis == PerCol {
		want = cols
	} else if axis != PerRow {
		panicf(op, "bad axis %d", axis)
	}
	if dst != nil && dst.Len() != want {
		panicf(op, "x is %v, %v output is %v, want length %d", x.Shape(), axis, dst.Shape(), want)
	}
	return rows, cols
}

// CheckReduce checks Reduce's op, x [rows, cols] and dst, and returns rows, cols.
func CheckReduce(dst, x Tensor, op ReduceOp, axis Axis) (rows, cols int) {
	if op != ReduceSum && op != ReduceAbs && op != ReduceSquares {
		panicf("Reduce", "bad op %d (want ReduceSum, ReduceAbs or ReduceSquares)", op)
	}
	return CheckNorms("Reduce", dst, x, axis)
}

// CheckTranspose checks src [rows, cols] and dst [cols, rows], and returns rows, cols.
func CheckTranspose(dst, src Tensor) (rows, cols int) {
	ss, sd := src.Shape(), dst.Shape()
	if len(ss) != 2 || len(sd) != 2 {
		panicf("Transpose", "operands must be matrices: dst %v, src %v", sd, ss)
	}
	rows, cols = ss[0], ss[1]
	if sd[0] != cols || sd[1] != rows {
		panicf("Transpose", "src is %v, dst is %v, want [%d %d]", ss, sd, cols, rows)
	}
	return rows, cols
}

// CheckScatterCols checks dst [n, m], src [n, k] (as Dims2 views them) and idx [k], and
// returns n, m, k.
func CheckScatterCols(dst, src, idx Tensor) (n, m, k int) {
	n, m = Dims2(dst)
	ns, k := Dims2(src)
	if ns != n {
		panicf("ScatterCols", "dst is %v with %d rows, src is %v with %d rows", dst.Shape(), n, src.Shape(), ns)
	}
	if idx.Len() != k {
		panicf("ScatterCols", "src is %v, idx is %v, want length %d (one column index per column of src)",
			src.Shape(), idx.Shape(), k)
	}
	return n, m, k
}

// CheckNoAlias panics with "kernels: <op>: <name> <shape> shares storage with <name> <shape>" when
// two of the tensors ts share storage, as the backend's shares reports (a Reshape view shares
// its original's). names[i] names ts[i].
func CheckNoAlias(op string, shares func(a, b Tensor) bool, names []string, ts ...Tensor) {
	for i := range ts {
		for j := i + 1; j < len(ts); j++ {
			if shares(ts[i], ts[j]) {
				panicf(op, "%s %v shares storage with %s %v", names[i], ts[i].Shape(), names[j], ts[j].Shape())
			}
		}
	}
}

// CheckClassify checks logits [B,k] and a per-sample vector [B], and returns B, k.
func CheckClassify(op string, logits, perSample Tensor) (b, k int) {
	b, k = Dims2(logits)
	if perSample.Len() != b {
		panicf(op, "logits are %v, per-sample tensor is %v, want length %d", logits.Shape(), perSample.Shape(), b)
	}
	return b, k
}

// Volume returns the product of a shape, and panics on a negative dimension.
func Volume(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panicf(op, "negative dimension in shape %v", shape)
		}
		n *= d
	}
	return n
}
