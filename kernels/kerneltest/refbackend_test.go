package kerneltest

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// refBackend is a kernels.Backend made of the float64 references, rounding results to float32.
// It proves that a correct implementation passes Run; with bug set to one of the mutants in
// mutants_test.go it is a deliberately broken backend that Run must fail.
type refBackend struct {
	bug  string
	bufs []*refBuf // in allocation order, for the mutant that writes past its output
}

var _ kernels.Backend = (*refBackend)(nil)

type refBuf struct {
	data  []float32
	freed bool
}

type refTensor struct {
	shape []int
	buf   *refBuf
}

func (t *refTensor) Shape() []int { return t.shape }
func (t *refTensor) Len() int     { return len(t.buf.data) }

type refPools struct{ l *kernels.PoolLayout }

func (p *refPools) Layout() *kernels.PoolLayout { return p.l }

func misuse(op, format string, args ...any) {
	panic(fmt.Sprintf("kernels: %s: %s", op, fmt.Sprintf(format, args...)))
}

func (r *refBackend) buf(op string, t kernels.Tensor) []float32 {
	rt := t.(*refTensor)
	if rt.buf.freed {
		misuse(op, "use of a freed tensor %v", rt.shape)
	}
	return rt.buf.data
}

func (r *refBackend) get(op string, t kernels.Tensor) []float64 { return f64(r.buf(op, t)) }

func (r *refBackend) put(op string, t kernels.Tensor, v []float64) {
	d := r.buf(op, t)
	for i := range d {
		d[i] = float32(v[i])
	}
}

func (r *refBackend) Info() kernels.Info {
	return kernels.Info{Name: "reference", Device: "float64 loops rounded to float32", MaxBytes: 1 << 40}
}

func (r *refBackend) New(shape ...int) (kernels.Tensor, error) {
	b := &refBuf{data: make([]float32, kernels.Volume("New", shape))}
	if r.bug == "new-not-zeroed" {
		for i := range b.data {
			b.data[i] = 1
		}
	}
	r.bufs = append(r.bufs, b)
	return &refTensor{shape: append([]int(nil), shape...), buf: b}, nil
}

func (r *refBackend) Reshape(t kernels.Tensor, shape ...int) kernels.Tensor {
	if kernels.Volume("Reshape", shape) != t.Len() {
		misuse("Reshape", "%v has %d values, shape %v wants %d", t.Shape(), t.Len(), shape, kernels.Volume("Reshape", shape))
	}
	b := t.(*refTensor).buf
	if r.bug == "reshape-copies" {
		b = &refBuf{data: append([]float32(nil), b.data...)}
	}
	return &refTensor{shape: append([]int(nil), shape...), buf: b}
}

func (r *refBackend) Upload(dst kernels.Tensor, src []float32) {
	kernels.CheckUpload("Upload", dst, len(src))
	copy(r.buf("Upload", dst), src)
}

func (r *refBackend) Download(dst []float32, src kernels.Tensor) error {
	kernels.CheckUpload("Download", src, len(dst))
	copy(dst, r.buf("Download", src))
	return nil
}

func (r *refBackend) Copy(dst, src kernels.Tensor) {
	kernels.CheckLen("Copy", dst, src)
	copy(r.buf("Copy", dst), r.buf("Copy", src))
}

func (r *refBackend) Free(t kernels.Tensor) {
	r.buf("Free", t)
	t.(*refTensor).buf.freed = true
}

func (r *refBackend) Sync() error  { return nil }
func (r *refBackend) Close() error { return nil }

func (r *refBackend) Gemm(transA, transB bool, alpha float32, a, b kernels.Tensor, beta float32, c kernels.Tensor) {
	m, n, k := kernels.CheckGemm(transA, transB, a, b, c)
	ad := r.get("Gemm", a)
	if r.bug == "gemm-drops-last-k" && k > 1 {
		// The last term of every sum is lost: op(A)[:, k−1] read as 0.
		for i := 0; i < m; i++ {
			if transA {
				ad[(k-1)*m+i] = 0
			} else {
				ad[i*k+k-1] = 0
			}
		}
	}
	cd := r.get("Gemm", c)
	out := refGemm(transA, transB, m, n, k, float64(alpha), ad, r.get("Gemm", b), float64(beta), cd)
	if r.bug == "gemm-beta0-reads-c" && beta == 0 {
		for i := range out {
			out[i] += 0 * cd[i]
		}
	}
	r.put("Gemm", c, out)
}

func (r *refBackend) Fill(dst kernels.Tensor, v float32) {
	d := r.buf("Fill", dst)
	for i := range d {
		d[i] = v
	}
}

func (r *refBackend) Axpby(alpha float32, x kernels.Tensor, beta float32, y kernels.Tensor) {
	kernels.CheckLen("Axpby", x, y)
	yd := r.get("Axpby", y)
	out := refAxpby(float64(alpha), r.get("Axpby", x), float64(beta), yd)
	if r.bug == "axpby-beta0-reads-y" && beta == 0 {
		for i := range out {
			out[i] += 0 * yd[i]
		}
	}
	r.put("Axpby", y, out)
}

func (r *refBackend) Div(dst, x, y kernels.Tensor) {
	kernels.CheckLen("Div", dst, x, y)
	r.put("Div", dst, refDiv(r.get("Div", x), r.get("Div", y)))
}

func (r *refBackend) Hadamard(dst, x, y kernels.Tensor) {
	if r.bug != "hadamard-no-check" {
		kernels.CheckLen("Hadamard", dst, x, y)
	}
	r.put("Hadamard", dst, refHadamard(r.get("Hadamard", x), r.get("Hadamard", y)))
	if r.bug == "hadamard-writes-past-end" {
		// The buffer allocated right after dst gets one stray value, as an unchecked kernel would.
		for i, b := range r.bufs {
			if b == dst.(*refTensor).buf && i+1 < len(r.bufs) {
				r.bufs[i+1].data[0] = 42
			}
		}
	}
}

func (r *refBackend) BroadcastAdd(dst, x kernels.Tensor, alpha float32, v kernels.Tensor, axis kernels.Axis) {
	rows, cols := kernels.CheckBroadcast("BroadcastAdd", dst, x, v, axis)
	vd := r.get("BroadcastAdd", v)
	if r.bug == "broadcastadd-perrow-modulo" && axis == kernels.PerRow {
		// v[(r·cols + c) mod rows] instead of v[r]: right for one column only.
		xd := r.get("BroadcastAdd", x)
		out := make([]float64, len(xd))
		for i := range xd {
			out[i] = xd[i] + float64(alpha)*vd[i%rows]
		}
		r.put("BroadcastAdd", dst, out)
		return
	}
	r.put("BroadcastAdd", dst, refBroadcastAdd(rows, cols, r.get("BroadcastAdd", x), float64(alpha), vd, axis))
}

func (r *refBackend) BroadcastMul(dst, x, v kernels.Tensor, axis kernels.Axis) {
	rows, cols := kernels.CheckBroadcast("BroadcastMul", dst, x, v, axis)
	r.put("BroadcastMul", dst, refBroadcastMul(rows, cols, r.get("BroadcastMul", x), r.get("BroadcastMul", v), axis))
}

func (r *refBackend) SoftShrink(dst, x, theta kernels.Tensor) {
	_, m := kernels.CheckShrink("SoftShrink", dst, x, theta)
	r.put("SoftShrink", dst, refSoftShrink(m, r.get("SoftShrink", x), r.get("SoftShrink", theta)))
}

func (r *refBackend) PosShrink(dst, x, theta kernels.Tensor) {
	_, m := kernels.CheckShrink("PosShrink", dst, x, theta)
	th := r.get("PosShrink", theta)
	if r.bug == "posshrink-theta-by-row" {
		// θ indexed by row instead of unit.
		xd := r.get("PosShrink", x)
		out := make([]float64, len(xd))
		for i := range xd {
			out[i] = math.Max(xd[i]-th[(i/m)%m], 0)
		}
		r.put("PosShrink", dst, out)
		return
	}
	r.put("PosShrink", dst, refPosShrink(m, r.get("PosShrink", x), th))
}

func (r *refBackend) SoftShrinkBackward(dx, dtheta, dy, x, theta kernels.Tensor) {
	_, m := kernels.CheckShrinkBackward("SoftShrinkBackward", dx, dtheta, dy, x, theta)
	xd, th := r.get("SoftShrinkBackward", x), r.get("SoftShrinkBackward", theta)
	gx, gt := refSoftShrinkBackward(m, r.get("SoftShrinkBackward", dy), xd, th)
	if r.bug == "softshrink-backward-ge" {
		dyd := r.get("SoftShrinkBackward", dy)
		for i := range gx {
			if math.Abs(xd[i]) == th[i%m] {
				gx[i] = dyd[i] // the mask [|x| ≥ θ]: wrong on the kink
			}
		}
	}
	if r.bug == "softshrink-dtheta-sign" {
		for i := range gt {
			gt[i] = -gt[i]
		}
	}
	r.put("SoftShrinkBackward", dx, gx)
	if dtheta != nil {
		r.put("SoftShrinkBackward", dtheta, gt)
	}
}

func (r *refBackend) PosShrinkBackward(dx, dtheta, dy, x, theta kernels.Tensor) {
	_, m := kernels.CheckShrinkBackward("PosShrinkBackward", dx, dtheta, dy, x, theta)
	gx, gt := refPosShrinkBackward(m, r.get("PosShrinkBackward", dy), r.get("PosShrinkBackward", x), r.get("PosShrinkBackward", theta))
	r.put("PosShrinkBackward", dx, gx)
	if dtheta != nil {
		r.put("PosShrinkBackward", dtheta, gt)
	}
}

func (r *refBackend) ShrinkRecurrence(zs, code, c, s, theta kernels.Tensor, nonNegative bool) {
	const op = "ShrinkRecurrence"
	b, m, steps := kernels.CheckShrinkRecurrence(op, zs, code, c, s, theta)
	kernels.CheckNoAlias(op, refShares, []string{"zs", "code", "c", "s", "theta"}, zs, code, c, s, theta)
	out, z := refShrinkRecurrence(b, m, steps, r.get(op, c), r.get(op, s), r.get(op, theta), nonNegative, round32)
	if r.bug == "recurrence-drops-last-step" && steps > 1 {
		z = out[(steps-2)*b*m:] // z^{T−1} as the code
	}
	if r.bug == "recurrence-first-step-unwritten" && steps > 1 {
		copy(out[:b*m], r.get(op, zs)) // z¹'s rows left as they were
	}
	r.put(op, zs, out)
	r.put(op, code, z)
}

func (r *refBackend) ShrinkRecurrenceBackward(g, gsum, gsign, delta, zs, code, s kernels.Tensor) {
	const op = "ShrinkRecurrenceBackward"
	b, m, steps := kernels.CheckShrinkRecurrenceBackward(op, g, gsum, gsign, delta, zs, code, s)
	ts, names := []kernels.Tensor{g, gsum, delta, zs, code, s}, []string{"g", "gsum", "delta", "zs", "code", "s"}
	if gsign != nil {
		ts, names = append(ts, gsign), append(names, "gsign")
	}
	kernels.CheckNoAlias(op, refShares, names, ts...)
	zd, cd := r.get(op, zs), r.get(op, code)
	if r.bug == "recurrence-mask-ge" {
		// The mask [z ≥ 0] instead of [z ≠ 0]: no mask at all for a non-negative code.
		for i := range zd {
			if zd[i] == 0 {
				zd[i] = 1
			}
		}
		for i := range cd {
			if cd[i] == 0 {
				cd[i] = 1
			}
		}
	}
	gv, sum, signed := refShrinkRecurrenceBackward(b, m, steps, r.get(op, delta), zd, cd, r.get(op, s), round32)
	r.put(op, g, gv)
	r.put(op, gsum, sum)
	if gsign != nil {
		r.put(op, gsign, signed)
	}
}

func (r *refBackend) NewPools(l *kernels.PoolLayout) (kernels.Pools, error) { return &refPools{l}, nil }
func (r *refBackend) FreePools(p kernels.Pools)                             {}

func (r *refBackend) PoolNorms(dst, z kernels.Tensor, pools kernels.Pools, eps float32) {
	l := pools.Layout()
	b := kernels.CheckPools("PoolNorms", dst, z, l)
	if r.bug == "poolnorms-eps-outside-sqrt" {
		out := refPoolNorms(l, b, r.get("PoolNorms", z), 0)
		for i := range out {
			out[i] += float64(eps)
		}
		r.put("PoolNorms", dst, out)
		return
	}
	r.put("PoolNorms", dst, refPoolNorms(l, b, r.get("PoolNorms", z), float64(eps)))
}

func (r *refBackend) PoolNormsBackward(dz, dy, z, norms kernels.Tensor, pools kernels.Pools) {
	const op = "PoolNormsBackward"
	l := pools.Layout()
	b := kernels.CheckPools(op, dy, z, l)
	kernels.CheckLen(op, dz, z)
	kernels.CheckLen(op, norms, dy)
	if r.bug == "poolnormsbackward-no-weight" {
		unit := *l
		unit.Weight = filled(len(l.Weight), 1)
		l = &unit
	}
	out := refPoolNormsBackward(l, b, r.get(op, dy), r.get(op, z), r.get(op, norms))
	if r.bug == "poolnormsbackward-skips-unpooled" {
		old := r.get(op, dz)
		for bb := 0; bb < b; bb++ {
			for i := 0; i < l.Units; i++ {
				if l.MemberStart[i] == l.MemberStart[i+1] {
					out[bb*l.Units+i] = old[bb*l.Units+i]
				}
			}
		}
	}
	r.put(op, dz, out)
}

func (r *refBackend) BlockSoftThreshold(dst, x kernels.Tensor, pools kernels.Pools, tau float32) {
	const op = "BlockSoftThreshold"
	l := pools.Layout()
	kernels.CheckLen(op, dst, x)
	b, m := kernels.Dims2(x)
	if m != l.Units {
		misuse(op, "x is %v, pools are over %d units", x.Shape(), l.Units)
	}
	if !l.Disjoint {
		misuse(op, "pools overlap; the proximal operator needs disjoint pools")
	}
	out := refBlockSoftThreshold(l, b, r.get(op, x), float64(tau))
	if r.bug == "blocksoft-unpooled-zeroed" {
		for bb := 0; bb < b; bb++ {
			for i := 0; i < l.Units; i++ {
				if l.MemberStart[i] == l.MemberStart[i+1] {
					out[bb*l.Units+i] = 0
				}
			}
		}
	}
	r.put(op, dst, out)
}

func geomOf(d kernels.ConvDims) convGeom {
	return newConvGeom(d.N, d.C, d.H, d.W, d.K, d.KH, d.KW, d.Conv2D)
}

func (r *refBackend) Conv2DForward(y, x, w kernels.Tensor, g kernels.Conv2D) {
	const op = "Conv2DForward"
	cg := geomOf(kernels.CheckConv(op, x, w, y, g, false))
	if r.bug == "conv-fwd-pad-h-for-w" {
		cg.PW = cg.PH // the vertical padding used for both directions
	}
	r.put(op, y, refConvForward(cg, false, r.get(op, x), r.get(op, w)))
}

func (r *refBackend) Conv2DBackwardData(dx, dy, w kernels.Tensor, g kernels.Conv2D) {
	const op = "Conv2DBackwardData"
	cg := geomOf(kernels.CheckConv(op, dx, w, dy, g, false))
	wd := r.get(op, w)
	if r.bug == "conv-bd-flipped-kernel" {
		// A convolution where a correlation is wanted: w[k,c,KH−1−p,KW−1−q].
		f := make([]float64, len(wd))
		for k := 0; k < cg.K; k++ {
			for c := 0; c < cg.C; c++ {
				for p := 0; p < cg.KH; p++ {
					for q := 0; q < cg.KW; q++ {
						f[cg.wAt(k, c, p, q)] = wd[cg.wAt(k, c, cg.KH-1-p, cg.KW-1-q)]
					}
				}
			}
		}
		wd = f
	}
	out := refConvBackwardData(cg, false, r.get(op, dy), wd)
	if r.bug == "conv-bd-leaves-unread" {
		// Writes only the pixels some window reads.
		old, read := r.get(op, dx), make([]bool, cg.xLen())
		cg.convTerms(false, func(_, _, xi int) { read[xi] = true })
		for i := range out {
			if !read[i] {
				out[i] = old[i]
			}
		}
	}
	r.put(op, dx, out)
}

func (r *refBackend) Conv2DBackwardFilter(dw, x, dy kernels.Tensor, g kernels.Conv2D) {
	const op = "Conv2DBackwardFilter"
	cg := geomOf(kernels.CheckConv(op, x, dw, dy, g, false))
	out := refConvBackwardFilter(cg, false, r.get(op, x), r.get(op, dy))
	if r.bug == "conv-bf-accumulates" {
		old := r.get(op, dw)
		for i := range out {
			out[i] += old[i]
		}
	}
	r.put(op, dw, out)
}

func (r *refBackend) LocalForward(y, x, w kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalForward"
	cg := geomOf(kernels.CheckConv(op, x, w, y, g, true))
	r.put(op, y, refConvForward(cg, true, r.get(op, x), r.get(op, w)))
}

func (r *refBackend) LocalBackwardData(dx, dy, w kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalBackwardData"
	cg := geomOf(kernels.CheckConv(op, dx, w, dy, g, true))
	wd := r.get(op, w)
	if r.bug == "local-bd-tied" {
		// The weights of output position (0,0) everywhere: a convolution, not a local layer.
		per := cg.wLen()
		for i := range wd {
			wd[i] = wd[i%per]
		}
	}
	r.put(op, dx, refConvBackwardData(cg, true, r.get(op, dy), wd))
}

func (r *refBackend) LocalBackwardFilter(dw, x, dy kernels.Tensor, g kernels.Conv2D) {
	const op = "LocalBackwardFilter"
	cg := geomOf(kernels.CheckConv(op, x, dw, dy, g, true))
	r.put(op, dw, refConvBackwardFilter(cg, true, r.get(op, x), r.get(op, dy)))
}

func (r *refBackend) L2Pool2D(y, x, k kernels.Tensor, g kernels.Conv2D, eps float32) {
	const op = "L2Pool2D"
	cg := geomOf(kernels.CheckPool2D(op, x, k, y, g))
	if r.bug == "l2pool-drops-eps" {
		eps = 0
	}
	r.put(op, y, refL2Pool2D(cg, r.get(op, x), r.get(op, k), float64(eps)))
}

func (r *refBackend) L2Pool2DBackward(dx, dy, x, y, k kernels.Tensor, g kernels.Conv2D) {
	const op = "L2Pool2DBackward"
	cg := geomOf(kernels.CheckPool2D(op, x, k, y, g))
	kernels.CheckLen(op, dx, x)
	kernels.CheckLen(op, dy, y)
	kd := r.get(op, k)
	if r.bug == "l2pool-backward-no-k" {
		kd = filled64(len(kd), 1)
	}
	r.put(op, dx, refL2Pool2DBackward(cg, r.get(op, dy), r.get(op, x), r.get(op, y), kd))
}

func (r *refBackend) Norms(dst, x kernels.Tensor, axis kernels.Axis) {
	rows, cols := kernels.CheckNorms("Norms", dst, x, axis)
	r.put("Norms", dst, refNorms(rows, cols, r.get("Norms", x), axis))
}

func (r *refBackend) ProjectNormBall(x kernels.Tensor, radius float32, axis kernels.Axis) {
	rows, cols := kernels.CheckNorms("ProjectNormBall", nil, x, axis)
	xd := r.get("ProjectNormBall", x)
	if r.bug == "project-all" {
		// Every vector to the sphere, also those inside the ball.
		n := refNorms(rows, cols, xd, axis)
		for i := range xd {
			v := n[i/cols]
			if axis == kernels.PerCol {
				v = n[i%cols]
			}
			if v > 0 {
				xd[i] *= float64(radius) / v
			}
		}
		r.put("ProjectNormBall", x, xd)
		return
	}
	r.put("ProjectNormBall", x, refProjectNormBall(rows, cols, xd, float64(radius), axis))
}

func (r *refBackend) NormalizeRows(dst, norms, x kernels.Tensor, eps float32) {
	const op = "NormalizeRows"
	kernels.CheckLen(op, dst, x)
	rows, cols := kernels.Dims2(x)
	kernels.CheckVector(op, "norms", norms, rows)
	y, n := refNormalizeRows(rows, cols, r.get(op, x), float64(eps))
	r.put(op, dst, y)
	r.put(op, norms, n)
	if r.bug == "normalize-writes-x" {
		r.put(op, x, y)
	}
}

func (r *refBackend) NormalizeRowsBackward(dx, dy, y, norms kernels.Tensor) {
	const op = "NormalizeRowsBackward"
	kernels.CheckLen(op, dx, dy, y)
	rows, cols := kernels.Dims2(y)
	kernels.CheckVector(op, "norms", norms, rows)
	nd := r.get(op, norms)
	if r.bug == "normalize-backward-no-div" {
		nd = filled64(rows, 1)
	}
	r.put(op, dx, refNormalizeRowsBackward(rows, cols, r.get(op, dy), r.get(op, y), nd))
}

func (r *refBackend) SoftmaxXent(loss, grad, logits, labels kernels.Tensor) {
	const op = "SoftmaxXent"
	b, k := kernels.CheckClassify(op, logits, labels)
	kernels.CheckLen(op, grad, logits)
	if loss != nil {
		kernels.CheckVector(op, "loss", loss, b)
	}
	z := r.get(op, logits)
	lo, g := refSoftmaxXent(b, k, z, r.get(op, labels))
	if r.bug == "xent-no-max-shift" {
		// softmax as exp(z)/Σ exp(z), without subtracting the maximum: overflows for large logits.
		lab := r.get(op, labels)
		for bb := 0; bb < b; bb++ {
			if math.IsNaN(lo[bb]) {
				continue // an invalid label
			}
			s := 0.0
			for c := 0; c < k; c++ {
				s += math.Exp(z[bb*k+c])
			}
			lo[bb] = math.Log(s) - z[bb*k+int(lab[bb])]
			for c := 0; c < k; c++ {
				g[bb*k+c] = math.Exp(z[bb*k+c]) / s
				if c == int(lab[bb]) {
					g[bb*k+c]--
				}
			}
		}
	}
	if r.bug == "xent-invalid-label-unwritten" && loss != nil {
		// Rows with an invalid label are skipped: their loss keeps its old contents.
		old := r.get(op, loss)
		for bb := range lo {
			if math.IsNaN(lo[bb]) {
				lo[bb] = old[bb]
			}
		}
	}
	r.put(op, grad, g)
	if loss != nil {
		r.put(op, loss, lo)
	}
}

func (r *refBackend) Argmax(dst, logits kernels.Tensor) {
	b, k := kernels.CheckClassify("Argmax", logits, dst)
	z := r.get("Argmax", logits)
	out := refArgmax(b, k, z)
	if r.bug == "argmax-last-tie" {
		for bb := 0; bb < b; bb++ {
			best := 0
			for c := 1; c < k; c++ {
				if z[bb*k+c] >= z[bb*k+best] {
					best = c
				}
			}
			out[bb] = float64(best)
		}
	}
	r.put("Argmax", dst, out)
}

// refShares reports whether two reference tensors share storage (kernels.CheckNoAlias).
func refShares(a, b kernels.Tensor) bool { return a.(*refTensor).buf == b.(*refTensor).buf }

func (r *refBackend) Transpose(dst, src kernels.Tensor) {
	rows, cols := kernels.CheckTranspose(dst, src)
	if r.bug != "transpose-no-alias-check" {
		kernels.CheckNoAlias("Transpose", refShares, []string{"dst", "src"}, dst, src)
	}
	sd := r.get("Transpose", src)
	if r.bug == "transpose-copies" {
		// The values in their old order: right only for a single row or column.
		r.put("Transpose", dst, sd)
		return
	}
	r.put("Transpose", dst, transpose(rows, cols, sd))
}

func (r *refBackend) ScatterCols(dst, src, idx kernels.Tensor) {
	const op = "ScatterCols"
	n, m, k := kernels.CheckScatterCols(dst, src, idx)
	kernels.CheckNoAlias(op, refShares, []string{"dst", "src", "idx"}, dst, src, idx)
	dd, sd, id := r.get(op, dst), r.get(op, src), r.get(op, idx)
	if r.bug == "scattercols-truncates-index" {
		// int(idx) instead of skipping an index that is not whole: 2.5 writes column 2.
		for j := range id {
			if !math.IsNaN(id[j]) && !math.IsInf(id[j], 0) {
				id[j] = math.Trunc(id[j])
			}
		}
	}
	out := refScatterCols(n, m, k, dd, sd, id)
	if r.bug == "scattercols-clears-others" {
		// The columns no index names are zeroed instead of kept.
		written := make([]bool, m)
		for _, c := range id {
			if c >= 0 && c < float64(m) && c == math.Floor(c) {
				written[int(c)] = true
			}
		}
		for i := range out {
			if !written[i%m] {
				out[i] = 0
			}
		}
	}
	r.put(op, dst, out)
}

func (r *refBackend) Reduce(dst, x kernels.Tensor, op kernels.ReduceOp, axis kernels.Axis) {
	rows, cols := kernels.CheckReduce(dst, x, op, axis)
	kernels.CheckNoAlias("Reduce", refShares, []string{"dst", "x"}, dst, x)
	if r.bug == "reduce-percol-skips-last-row" && axis == kernels.PerCol {
		rows-- // the loop bound off by one
	}
	r.put("Reduce", dst, refReduce(rows, cols, r.get("Reduce", x), op, axis))
}

func (r *refBackend) CountAbove(dst, x kernels.Tensor, theta float32, axis kernels.Axis) {
	rows, cols := kernels.CheckNorms("CountAbove", dst, x, axis)
	kernels.CheckNoAlias("CountAbove", refShares, []string{"dst", "x"}, dst, x)
	xd := r.get("CountAbove", x)
	switch r.bug {
	case "countabove-ge":
		// [|x| ≥ θ]: wrong where |x| = θ.
		r.put("CountAbove", dst, refSumOver(rows, cols, xd, func(v float64) float64 {
			if math.Abs(v) >= float64(theta) {
				return 1
			}
			return 0
		}, axis))
		return
	case "countabove-nan-above":
		// !(|x| ≤ θ): counts NaN as above.
		r.put("CountAbove", dst, refSumOver(rows, cols, xd, func(v float64) float64 {
			if !(math.Abs(v) <= float64(theta)) {
				return 1
			}
			return 0
		}, axis))
		return
	}
	r.put("CountAbove", dst, refCountAbove(rows, cols, xd, float64(theta), axis))
}

func (r *refBackend) AdamUpdate(p, g, m, v kernels.Tensor, alpha, beta1, beta2, eps float32) {
	const op = "AdamUpdate"
	kernels.CheckLen(op, p, g, m, v)
	kernels.CheckNoAlias(op, refShares, []string{"p", "g", "m", "v"}, p, g, m, v)
	pd, gd, md, vd := r.get(op, p), r.get(op, g), r.get(op, m), r.get(op, v)
	p2, m2, v2 := refAdam(pd, gd, md, vd, float64(alpha), float64(beta1), float64(beta2), float64(eps))
	switch r.bug {
	case "adam-old-moments":
		// The step from the moments before this update.
		for i := range p2 {
			p2[i] = pd[i] - float64(alpha)*md[i]/(math.Sqrt(vd[i])+float64(eps))
		}
	case "adam-eps-inside-sqrt":
		for i := range p2 {
			p2[i] = pd[i] - float64(alpha)*m2[i]/math.Sqrt(v2[i]+float64(eps))
		}
	}
	r.put(op, p, p2)
	r.put(op, m, m2)
	r.put(op, v, v2)
}
