package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// gemm: square sizes, then the shapes of a DrSAE step (B=256, n=784, m=400). GFLOP/s of
// 2·m·n·k.
var gemm = Group{Name: "Gemm", BackendFirst: true, Cases: gemmCases()}

func gemmCases() []Case {
	type shape struct {
		name           string
		m, n, k        int
		transA, transB bool
	}
	var cases []Case
	for _, s := range []shape{
		{"64", 64, 64, 64, false, false},
		{"256", 256, 256, 256, false, false},
		{"512", 512, 512, 512, false, false},
		{"1024", 1024, 1024, 1024, false, false},
		{"Ex_256x400x784_NT", 256, 400, 784, false, true}, // X·Eᵀ
		{"Sz_256x400x400_NT", 256, 400, 400, false, true}, // Z·Sᵀ
		{"dE_400x784x256_TN", 400, 784, 256, true, false}, // dZᵀ·X
	} {
		cases = append(cases, Case{Name: s.name, Unit: "GFLOP/s", Quick: s.name == "64" || s.name == "256" || s.name == "Ex_256x400x784_NT",
			Run: func(b *testing.B, be kernels.Backend) {
				ar, ac := s.m, s.k
				if s.transA {
					ar, ac = ac, ar
				}
				br, bc := s.k, s.n
				if s.transB {
					br, bc = bc, br
				}
				a, x, c := mustNew(b, be, ar, ac), mustNew(b, be, br, bc), mustNew(b, be, s.m, s.n)
				defer be.Free(a)
				defer be.Free(x)
				defer be.Free(c)
				upload(be, a, 1)
				upload(be, x, 2)
				sec := timeLoop(b, be, func() { be.Gemm(s.transA, s.transB, 1, a, x, 0, c) })
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/sec/1e9, "GFLOP/s")
			}})
	}
	return cases
}

// shrink: soft shrinkage is memory bound, so GB/s of x read plus dst written.
var shrink = Group{Name: "Shrink", BackendFirst: true, Cases: shrinkCases()}

func shrinkCases() []Case {
	var cases []Case
	for _, rows := range []int{16, 256, 4096} {
		const m = 400
		cases = append(cases, Case{Name: fmt.Sprintf("%dx%d", rows, m), Unit: "GB/s", Quick: rows == 256,
			Run: func(b *testing.B, be kernels.Backend) {
				x, y, th := mustNew(b, be, rows, m), mustNew(b, be, rows, m), mustNew(b, be, m)
				defer be.Free(x)
				defer be.Free(y)
				defer be.Free(th)
				upload(be, x, 3)
				be.Fill(th, 0.1)
				sec := timeLoop(b, be, func() { be.SoftShrink(y, x, th) })
				b.ReportMetric(8*float64(rows*m)*float64(b.N)/sec/1e9, "GB/s")
			}})
	}
	return cases
}

// poolNorms: group pooling over a 20×20 toroidal map of units with 3×3 Gaussian windows (400
// pools of 9), forward and backward; FLOP counted as 3 per (pool, member) forward and 4 backward.
var poolNorms = Group{Name: "PoolNorms", BackendFirst: true, Cases: poolNormsCases()}

func poolNormsCases() []Case {
	var cases []Case
	for _, batch := range []int{16, 256, 1024} {
		for _, backward := range []bool{false, true} {
			name, flop := "forward", 3.0
			if backward {
				name, flop = "backward", 4
			}
			cases = append(cases, Case{Name: fmt.Sprintf("%s/B%d", name, batch), Unit: "GFLOP/s", Quick: batch == 256,
				Run: func(b *testing.B, be kernels.Backend) {
					layout, err := kernels.TorusPools(20, 20, 3, 1, 1)
					if err != nil {
						stop(b, err)
					}
					pools, err := be.NewPools(layout)
					if err != nil {
						stop(b, err)
					}
					defer be.FreePools(pools)
					z, n := mustNew(b, be, batch, 400), mustNew(b, be, batch, layout.NumPools())
					dz, dy := mustNew(b, be, batch, 400), mustNew(b, be, batch, layout.NumPools())
					defer func() {
						for _, t := range []kernels.Tensor{z, n, dz, dy} {
							be.Free(t)
						}
					}()
					upload(be, z, 4)
					be.Fill(dy, 1)
					be.PoolNorms(n, z, pools, 1e-4)
					op := func() { be.PoolNorms(n, z, pools, 1e-4) }
					if backward {
						op = func() { be.PoolNormsBackward(dz, dy, z, n, pools) }
					}
					sec := timeLoop(b, be, op)
					b.ReportMetric(flop*float64(len(layout.Index))*float64(batch*b.N)/sec/1e9, "GFLOP/s")
				}})
		}
	}
	return cases
}

// conv2D: the first and second stages of a convolutional sparse auto-encoder, each direction.
// GFLOP/s of 2·N·K·Ho·Wo·C·KH·KW.
var conv2D = Group{Name: "Conv2D", BackendFirst: true, Cases: conv2DCases()}

func conv2DCases() []Case {
	type conv struct {
		name                  string
		n, c, h, w, k, kh, kw int
	}
	g := kernels.Conv2D{StrideH: 1, StrideW: 1}
	var cases []Case
	for i, c := range []conv{
		{"N16_C1_28x28_K16_9x9", 16, 1, 28, 28, 16, 9, 9},
		{"N32_C1_64x64_K32_9x9", 32, 1, 64, 64, 32, 9, 9},
		{"N16_C16_24x24_K64_5x5", 16, 16, 24, 24, 64, 5, 5},
	} {
		for _, dir := range []string{"forward", "backward-data", "backward-filter"} {
			cases = append(cases, Case{Name: dir + "/" + c.name, Unit: "GFLOP/s", Quick: i == 0 && dir == "forward",
				Run: func(b *testing.B, be kernels.Backend) {
					ho, wo := g.OutSize(c.h, c.w, c.kh, c.kw)
					flop := 2 * float64(c.n*c.k*ho*wo) * float64(c.c*c.kh*c.kw)
					x, w, y := mustNew(b, be, c.n, c.c, c.h, c.w), mustNew(b, be, c.k, c.c, c.kh, c.kw), mustNew(b, be, c.n, c.k, ho, wo)
					dx, dw := mustNew(b, be, c.n, c.c, c.h, c.w), mustNew(b, be, c.k, c.c, c.kh, c.kw)
					defer func() {
						for _, t := range []kernels.Tensor{x, w, y, dx, dw} {
							be.Free(t)
						}
					}()
					upload(be, x, 5)
					upload(be, w, 6)
					upload(be, y, 7)
					op := func() { be.Conv2DForward(y, x, w, g) }
					switch dir {
					case "backward-data":
						op = func() { be.Conv2DBackwardData(dx, y, w, g) }
					case "backward-filter":
						op = func() { be.Conv2DBackwardFilter(dw, x, y, g) }
					}
					sec := timeLoop(b, be, op)
					b.ReportMetric(flop*float64(b.N)/sec/1e9, "GFLOP/s")
				}})
		}
	}
	return cases
}

// recurrence: the fused recurrent encoder of a DrSAE step, forward (ShrinkRecurrence) and
// backward (ShrinkRecurrenceBackward), at the paper's 784-400¹¹ and make run's 784-200⁵ sizes.
// GFLOP/s of the T−1 products with S, 2·B·m²·(T−1) each way.
var recurrence = Group{Name: "Recurrence", BackendFirst: true, Cases: recurrenceCases()}

func recurrenceCases() []Case {
	var cases []Case
	for _, sz := range []struct{ batch, units, T int }{{256, 400, 11}, {50, 200, 5}} {
		for _, backward := range []bool{false, true} {
			name := "forward"
			if backward {
				name = "backward"
			}
			cases = append(cases, Case{Name: fmt.Sprintf("%s/B%d-m%d-T%d", name, sz.batch, sz.units, sz.T), Unit: "GFLOP/s",
				Quick: sz.units == 200,
				Run: func(b *testing.B, be kernels.Backend) {
					bs, m, steps := sz.batch, sz.units, sz.T
					c, s, th := mustNew(b, be, bs, m), mustNew(b, be, m, m), mustNew(b, be, m)
					zs, code := mustNew(b, be, (steps-1)*bs, m), mustNew(b, be, bs, m)
					g, gsum, delta := mustNew(b, be, (steps-1)*bs, m), mustNew(b, be, bs, m), mustNew(b, be, bs, m)
					defer func() {
						for _, t := range []kernels.Tensor{c, s, th, zs, code, g, gsum, delta} {
							be.Free(t)
						}
					}()
					upload(be, c, 5)
					upload(be, s, 6)
					upload(be, delta, 7)
					be.Axpby(1.2/float32(math.Sqrt(float64(m))), s, 0, s) // a contraction: codes stay of order 1
					be.Fill(th, 0.1)
					be.ShrinkRecurrence(zs, code, c, s, th, true)
					op := func() { be.ShrinkRecurrence(zs, code, c, s, th, true) }
					if backward {
						op = func() { be.ShrinkRecurrenceBackward(g, gsum, nil, delta, zs, code, s) }
					}
					sec := timeLoop(b, be, op)
					b.ReportMetric(2*float64(bs*m*m*(steps-1))*float64(b.N)/sec/1e9, "GFLOP/s")
				}})
		}
	}
	return cases
}
