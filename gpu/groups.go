package gpu

import (
	"fmt"
	"sync/atomic"

	"github.com/drsae/drsae/kernels"
)

// pools is a PoolLayout on the device: its compressed arrays, each in an SSBO of its own (int
// arrays as int[], weights as float[]).
type pools struct {
	layout                      *kernels.PoolLayout
	start, index, weight        *buffer // [P+1], [nnz], [nnz]
	memberStart, member, poolOf *buffer // the transpose: [units+1], [nnz], [nnz]
	maxPool, maxCover           int     // the largest pool; the most pools a unit is in
	freed                       atomic.Bool
	owner                       *Backend
}

func (p *pools) Layout() *kernels.PoolLayout { return p.layout }

// NewPools copies a layout (built by kernels.NewPoolLayout or its helpers, which build the
// transpose) to the device.
func (b *Backend) NewPools(l *kernels.PoolLayout) (kernels.Pools, error) {
	if l == nil || len(l.Start) == 0 || len(l.MemberStart) != l.Units+1 || len(l.Member) != len(l.Index) ||
		len(l.PoolOf) != len(l.Index) || len(l.Weight) != len(l.Index) {
		panic("kernels: NewPools: layout is nil or incomplete; build it with kernels.NewPoolLayout")
	}
	if bytes := int64(4 * max(len(l.Index), len(l.MemberStart))); bytes > b.lim.maxBytes {
		return nil, fmt.Errorf("gpu: NewPools: a layout array of %d bytes exceeds GL_MAX_SHADER_STORAGE_BLOCK_SIZE = %d bytes",
			bytes, b.lim.maxBytes)
	}
	p := &pools{layout: l, owner: b}
	for j := range l.NumPools() {
		p.maxPool = max(p.maxPool, int(l.Start[j+1]-l.Start[j]))
	}
	for i := range l.Units {
		p.maxCover = max(p.maxCover, int(l.MemberStart[i+1]-l.MemberStart[i]))
	}
	p.start = b.uploadInts(l.Start)
	p.index = b.uploadInts(l.Index)
	p.weight = b.uploadFloats(l.Weight)
	p.memberStart = b.uploadInts(l.MemberStart)
	p.member = b.uploadInts(l.Member)
	p.poolOf = b.uploadInts(l.PoolOf)
	return p, nil
}

func (b *Backend) uploadInts(v []int32) *buffer {
	buf := &buffer{owner: b, bytes: max(4*len(v), 4)}
	b.submit(&command{kind: cmdAlloc, op: "NewPools", buf: buf})
	if len(v) > 0 {
		b.submit(&command{kind: cmdUpload, op: "NewPools", buf: buf, hostInt: append([]int32(nil), v...)})
	}
	return buf
}

func (b *Backend) uploadFloats(v []float32) *buffer {
	buf := &buffer{owner: b, bytes: max(4*len(v), 4)}
	b.submit(&command{kind: cmdAlloc, op: "NewPools", buf: buf})
	if len(v) > 0 {
		b.submit(&command{kind: cmdUpload, op: "NewPools", buf: buf, host: append([]float32(nil), v...)})
	}
	return buf
}

// FreePools releases a device pool layout; using it afterwards panics.
func (b *Backend) FreePools(p kernels.Pools) {
	pp := b.pools("FreePools", p)
	if !pp.freed.CompareAndSwap(false, true) {
		panic("kernels: FreePools: pools freed twice")
	}
	for _, buf := range []*buffer{pp.start, pp.index, pp.weight, pp.memberStart, pp.member, pp.poolOf} {
		buf.freed.Store(true)
		b.submit(&command{kind: cmdFree, op: "FreePools", buf: buf})
	}
}

// pools converts an operand, and panics on nil, foreign or freed pools.
func (b *Backend) pools(op string, p kernels.Pools) *pools {
	pp, ok := p.(*pools)
	if !ok || pp == nil {
		panic(fmt.Sprintf("kernels: %s: pools %T are not from the gpu backend", op, p))
	}
	if pp.owner != b {
		panic(fmt.Sprintf("kernels: %s: pools belong to another gpu backend", op))
	}
	if pp.freed.Load() {
		panic(fmt.Sprintf("kernels: %s: use of freed pools", op))
	}
	return pp
}

// PoolNorms: dst[b,j] = √(ε + Σ_k w_jk·z[b, i_jk]²); z [B, m], dst [B, P]. Pools longer than
// loopBudget members are summed in parts, dst holding the sums of squares in between.
func (b *Backend) PoolNorms(dst, z kernels.Tensor, p kernels.Pools, eps float32) {
	const op = "PoolNorms"
	pp := b.pools(op, p)
	batch := kernels.CheckPools(op, dst, z, pp.layout)
	b.poolNorms(op, b.t(op, dst), b.t(op, z), pp, batch, eps, "")
}

// poolNorms runs pool_norms.comp (defines "" or "UNWEIGHTED") in parts of loopBudget members.
func (b *Backend) poolNorms(op string, d, zt *tensor, pp *pools, batch int, eps float32, defines string) {
	l := pp.layout
	P := l.NumPools()
	prog := b.program("pool_norms.comp", elemLocal, defines)
	for k0 := 0; k0 == 0 || k0 < pp.maxPool; k0 += loopBudget {
		c := b.kernel(op, prog)
		c.out(d).in(zt)
		c.bind(pp.start, false).bind(pp.index, false).bind(pp.weight, false)
		c.u32(batch * P).u32(P).u32(l.Units).f32(eps)
		c.i32(k0).i32(k0 + loopBudget).u32(b2i(k0 > 0)).u32(b2i(k0+loopBudget >= pp.maxPool))
		b.elements(&c, batch*P)
	}
}

// PoolNormsBackward: dz[b,i] = Σ_{(j,k): i_jk = i} dy[b,j]·w_jk·z[b,i]/norms[b,j], gathered per
// unit through the layout's transpose (no atomics); units in more than loopBudget pools in parts.
func (b *Backend) PoolNormsBackward(dz, dy, z, norms kernels.Tensor, p kernels.Pools) {
	const op = "PoolNormsBackward"
	pp := b.pools(op, p)
	l := pp.layout
	batch := kernels.CheckPools(op, dy, z, l)
	kernels.CheckPools(op, norms, z, l)
	kernels.CheckLen(op, z, dz)
	dzt, dyt, zt, nt := b.t(op, dz), b.t(op, dy), b.t(op, z), b.t(op, norms)
	prog := b.program("pool_norms_backward.comp", elemLocal, "")
	for q0 := 0; q0 == 0 || q0 < pp.maxCover; q0 += loopBudget {
		c := b.kernel(op, prog)
		c.out(dzt).in(dyt).in(zt).in(nt)
		c.bind(pp.memberStart, false).bind(pp.member, false).bind(pp.poolOf, false).bind(pp.weight, false)
		c.u32(batch * l.Units).u32(l.Units).u32(l.NumPools())
		c.i32(q0).i32(q0 + loopBudget).u32(b2i(q0 > 0))
		b.elements(&c, batch*l.Units)
	}
}

// BlockSoftThreshold: dst[b,P_j] = max(0, 1 − τ/‖x[b,P_j]‖₂)·x[b,P_j] over disjoint pools; units in
// no pool are copied. dst may alias x. Panics if the pools overlap. One invocation does a whole
// pool (two passes over it); pools longer than loopBudget/2 get their norms first (poolNorms,
// unweighted, into a scratch tensor), then every unit is scaled on its own.
func (b *Backend) BlockSoftThreshold(dst, x kernels.Tensor, p kernels.Pools, tau float32) {
	const op = "BlockSoftThreshold"
	pp := b.pools(op, p)
	l := pp.layout
	kernels.CheckLen(op, dst, x)
	batch, m := kernels.Dims2(x)
	if m != l.Units {
		panic(fmt.Sprintf("kernels: %s: x is %v, pools are over %d units", op, x.Shape(), l.Units))
	}
	if !l.Disjoint {
		panic(fmt.Sprintf("kernels: %s: the %d pools overlap; the proximal operator needs disjoint pools", op, l.NumPools()))
	}
	d, xt := b.t(op, dst), b.t(op, x)
	if 2*pp.maxPool <= loopBudget {
		c := b.kernel(op, b.program("block_soft_threshold.comp", elemLocal, ""))
		c.out(d).in(xt)
		c.bind(pp.start, false).bind(pp.index, false).bind(pp.memberStart, false).bind(pp.member, false).bind(pp.poolOf, false)
		c.u32(batch * m).u32(m).f32(tau)
		b.elements(&c, batch*m)
		return
	}
	P := l.NumPools()
	norms := b.scratch(op, batch, P)
	b.poolNorms(op, norms, xt, pp, batch, 0, "UNWEIGHTED")
	c := b.kernel(op, b.program("block_soft_threshold.comp", elemLocal, "GIVEN_NORMS"))
	c.out(d).in(xt)
	c.bind(pp.start, false).bind(pp.index, false).bind(pp.memberStart, false).bind(pp.member, false).bind(pp.poolOf, false)
	c.in(norms).u32(batch * m).u32(m).f32(tau).u32(P)
	b.elements(&c, batch*m)
	b.release(op, norms)
}
