package bench

import (
	"fmt"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// memory: the memory-bound ops beside a plain Copy of the same size, each in GB/s of the bytes
// it must move (every input read once, every output written once; the [units] thresholds and
// the layouts are not counted). Batches of 256 (tensors of 400 KiB, cache-resident) and 4096
// (6.4 MiB) rows of 400 units; the group ops pool a 20×20 map in 3×3 toroidal windows, or in
// 100 disjoint groups of 4 for BlockSoftThreshold. An op at Copy's rate moves data as fast as
// the machine can.
var memory = Group{Name: "Memory", BackendFirst: true, Cases: memoryCases()}

func memoryCases() []Case {
	const units = 400
	type op struct {
		name    string
		tensors int // [B, units]-sized tensors read or written
		run     func(b *testing.B, be kernels.Backend, rows int) func()
	}
	ops := []op{
		{"Copy", 2, func(b *testing.B, be kernels.Backend, rows int) func() {
			x, y := rowsOf(b, be, rows, units, 2)
			return func() { be.Copy(y, x) }
		}},
		{"Fill", 1, func(b *testing.B, be kernels.Backend, rows int) func() {
			x, _ := rowsOf(b, be, rows, units, 1)
			return func() { be.Fill(x, 0.5) }
		}},
		{"Axpby", 3, func(b *testing.B, be kernels.Backend, rows int) func() {
			x, y := rowsOf(b, be, rows, units, 2)
			return func() { be.Axpby(0.5, x, 0.9, y) }
		}},
		{"Hadamard", 3, func(b *testing.B, be kernels.Backend, rows int) func() {
			x, y := rowsOf(b, be, rows, units, 2)
			return func() { be.Hadamard(y, x, y) }
		}},
		{"BroadcastAdd", 2, func(b *testing.B, be kernels.Backend, rows int) func() {
			x, y := rowsOf(b, be, rows, units, 2)
			v := vectorOf(b, be, units, 0.1)
			return func() { be.BroadcastAdd(y, x, -1, v, kernels.PerCol) }
		}},
		{"SoftShrink", 2, func(b *testing.B, be kernels.Backend, rows int) func() {
			x, y := rowsOf(b, be, rows, units, 2)
			th := vectorOf(b, be, units, 0.5)
			return func() { be.SoftShrink(y, x, th) }
		}},
		{"SoftShrinkBackward", 3, func(b *testing.B, be kernels.Backend, rows int) func() {
			x, dy := rowsOf(b, be, rows, units, 2)
			dx, _ := rowsOf(b, be, rows, units, 1)
			th, dth := vectorOf(b, be, units, 0.5), vectorOf(b, be, units, 0)
			return func() { be.SoftShrinkBackward(dx, dth, dy, x, th) }
		}},
		{"PoolNorms", 2, func(b *testing.B, be kernels.Backend, rows int) func() {
			p := poolsOf(b, be, false)
			z, n := rowsOf(b, be, rows, units, 2)
			return func() { be.PoolNorms(n, z, p, 1e-4) }
		}},
		{"PoolNormsBackward", 4, func(b *testing.B, be kernels.Backend, rows int) func() {
			p := poolsOf(b, be, false)
			z, n := rowsOf(b, be, rows, units, 2)
			dz, dy := rowsOf(b, be, rows, units, 2)
			be.PoolNorms(n, z, p, 1e-4)
			return func() { be.PoolNormsBackward(dz, dy, z, n, p) }
		}},
		{"BlockSoftThreshold", 2, func(b *testing.B, be kernels.Backend, rows int) func() {
			p := poolsOf(b, be, true)
			x, y := rowsOf(b, be, rows, units, 2)
			return func() { be.BlockSoftThreshold(y, x, p, 0.5) }
		}},
	}
	var cases []Case
	for _, rows := range []int{256, 4096} {
		for _, o := range ops {
			cases = append(cases, Case{Name: fmt.Sprintf("%s/%dx%d", o.name, rows, units), Unit: "GB/s", Quick: rows == 256,
				Run: func(b *testing.B, be kernels.Backend) {
					run := o.run(b, be, rows)
					sec := timeLoop(b, be, run)
					b.ReportMetric(4*float64(o.tensors*rows*units)*float64(b.N)/sec/1e9, "GB/s")
				}})
		}
	}
	return cases
}

// rowsOf returns k [rows, cols] tensors (k ≤ 2) of random values, freed when b ends; the
// second is nil for k = 1.
func rowsOf(b *testing.B, be kernels.Backend, rows, cols, k int) (kernels.Tensor, kernels.Tensor) {
	var ts [2]kernels.Tensor
	for i := range k {
		ts[i] = mustNew(b, be, rows, cols)
		upload(be, ts[i], uint64(10+i))
		b.Cleanup(func() { be.Free(ts[i]) })
	}
	return ts[0], ts[1]
}

// vectorOf returns an [n] tensor filled with v, freed when b ends.
func vectorOf(b *testing.B, be kernels.Backend, n int, v float32) kernels.Tensor {
	t := mustNew(b, be, n)
	be.Fill(t, v)
	b.Cleanup(func() { be.Free(t) })
	return t
}

// poolsOf returns the 20×20 map's pools, toroidal 3×3 windows or disjoint groups of 4, freed
// when b ends.
func poolsOf(b *testing.B, be kernels.Backend, disjoint bool) kernels.Pools {
	layout, err := kernels.TorusPools(20, 20, 3, 1, 1)
	if disjoint {
		layout, err = kernels.DisjointPools(400, 4)
	}
	if err != nil {
		stop(b, err)
	}
	p, err := be.NewPools(layout)
	if err != nil {
		stop(b, err)
	}
	b.Cleanup(func() { be.FreePools(p) })
	return p
}
