package gpu

import "github.com/drsae/drsae/kernels"

// The fused recurrent shrinkage encoder (shrink_recurrence*.comp): all T steps of
// z ← h(c + z·Sᵀ), and the backpropagation through them, in as few dispatches as the loop limit
// allows: one for the paper's 784-400¹¹ encoder, where the unfused ops issue three dependent
// dispatches per step (a copy, a product, a shrinkage) and, on a GPU, wait for each.

// recurLocal is the work-group width of the recurrence shaders; recurRows (ROWS in the shaders)
// is the samples a work group owns, recurChunk (KT) the terms of a sum staged at a time.
const (
	recurLocal = 256
	recurRows  = 4
	recurChunk = 16
)

// recurCost is the loop iterations one step costs an invocation that computes per units: for
// each, the chunks of the sum (staging, then summing), and the loop over its rows.
func recurCost(per, m int) int {
	chunks := (m + recurChunk - 1) / recurChunk
	return per*(chunks*(2*recurChunk+4)+recurRows+4) + 2
}

// recurPlan says how the steps of a recurrence over m units and bs samples are dispatched: span
// units per work group (m, or recurLocal when one step of all m units would pass the loop
// budget) in tiles groups per block of recurRows samples, and stepsPer steps per dispatch (1 with
// several tiles, which must meet between steps). When the grid holds fewer groups than there
// are items, each invocation loops over several items, and the budget is shared among them. ok
// is false when even one step of one tile passes what an invocation may loop (the op is then
// refused, naming the limit).
func (b *Backend) recurPlan(op string, bs, m int) (span, tiles, blocks, stepsPer int, ok bool) {
	blocks = (bs + recurRows - 1) / recurRows
	per := (m + recurLocal - 1) / recurLocal
	if cost := recurCost(per, m); cost <= loopBudget {
		g := b.grid(blocks)
		items := (blocks + int(g[0])*int(g[1]) - 1) / (int(g[0]) * int(g[1]))
		return m, 1, blocks, max(1, loopBudget/(cost*items)), true
	}
	return recurLocal, per, blocks, 1, b.loopFits(op, "one step of a unit's sum over the units", recurCost(1, m))
}

// ShrinkRecurrence: z⁰ = 0, z^t = h(c + z^{t−1}·Sᵀ), t = 1 … T; zs [(T−1)·B, m] gets
// z¹ … z^{T−1}, code [B,m] gets z^T.
func (b *Backend) ShrinkRecurrence(zs, code, c, s, theta kernels.Tensor, nonNegative bool) {
	const op = "ShrinkRecurrence"
	bs, m, steps := kernels.CheckShrinkRecurrence(op, zs, code, c, s, theta)
	zt, codet, ct, st, tt := b.t(op, zs), b.t(op, code), b.t(op, c), b.t(op, s), b.t(op, theta)
	kernels.CheckNoAlias(op, sameBuffer, []string{"zs", "code", "c", "s", "theta"}, zs, code, c, s, theta)
	defines := ""
	if nonNegative {
		defines = "ONE_SIDED"
	}
	prog := b.program("shrink_recurrence.comp", recurLocal, defines)
	span, tiles, blocks, per, ok := b.recurPlan(op, bs, m)
	if !ok {
		return
	}
	for t0 := 1; t0 <= steps; t0 += per {
		cmd := b.kernel(op, prog)
		cmd.out(zt).out(codet).in(ct).in(st).in(tt)
		cmd.u32(bs).u32(m).u32(steps).u32(t0).u32(min(steps+1, t0+per)).u32(blocks).u32(tiles).u32(span)
		b.groups(&cmd, blocks*tiles)
	}
}

// ShrinkRecurrenceBackward: δ^T = delta; for t = T … 1, g^t = δ^t ⊙ [z^t ≠ 0] (in g's rows of
// z^{t−1}, t ≥ 2), δ^{t−1} = g^t·S; gsum = Σ_t g^t, gsign (if not nil) = Σ_t sign(z^t)·g^t.
func (b *Backend) ShrinkRecurrenceBackward(g, gsum, gsign, delta, zs, code, s kernels.Tensor) {
	const op = "ShrinkRecurrenceBackward"
	bs, m, steps := kernels.CheckShrinkRecurrenceBackward(op, g, gsum, gsign, delta, zs, code, s)
	gt, sumt, dt, zt, codet, st := b.t(op, g), b.t(op, gsum), b.t(op, delta), b.t(op, zs), b.t(op, code), b.t(op, s)
	ts, names := []kernels.Tensor{g, gsum, delta, zs, code, s}, []string{"g", "gsum", "delta", "zs", "code", "s"}
	var signt *tensor
	defines := ""
	if gsign != nil {
		signt = b.t(op, gsign)
		ts, names = append(ts, gsign), append(names, "gsign")
		defines = "SIGNED"
	}
	kernels.CheckNoAlias(op, sameBuffer, names, ts...)
	prog := b.program("shrink_recurrence_backward.comp", recurLocal, defines)
	span, tiles, blocks, per, ok := b.recurPlan(op, bs, m)
	if !ok {
		return
	}
	for t0 := steps; t0 >= 1; t0 -= per {
		cmd := b.kernel(op, prog)
		cmd.out(gt).out(sumt).in(dt).in(zt).in(codet).in(st)
		if signt != nil {
			cmd.out(signt)
		}
		cmd.u32(bs).u32(m).u32(steps).u32(t0).u32(max(1, t0-per+1)).u32(blocks).u32(tiles).u32(span)
		b.groups(&cmd, blocks*tiles)
	}
}
