package kerneltest

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
)

// poolLayouts are the layouts of the Groups cases: disjoint groups, overlapping toroidal windows
// (Gaussian-weighted and not, square and not, stride 1 and 2), tree paths, a forest, explicit
// sets that leave units in no pool (disjoint and overlapping), a single unit, one large map, and
// two long layouts (long: one batch size, no zero-input or finite-difference cases).
var poolLayouts = []struct {
	name      string
	make      func() (*kernels.PoolLayout, error)
	big, long bool
}{
	{"Disjoint48g4", func() (*kernels.PoolLayout, error) { return kernels.DisjointPools(48, 4) }, false, false},
	{"Disjoint7g1", func() (*kernels.PoolLayout, error) { return kernels.DisjointPools(7, 1) }, false, false},
	{"Torus8x8k3s1sigma1", func() (*kernels.PoolLayout, error) { return kernels.TorusPools(8, 8, 3, 1, 1) }, false, false},
	{"Torus6x10k4s2", func() (*kernels.PoolLayout, error) { return kernels.TorusPools(6, 10, 4, 2, 0) }, false, false},
	{"Tree15", func() (*kernels.PoolLayout, error) {
		return kernels.TreePools([]int{-1, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6})
	}, false, false},
	{"Forest7", func() (*kernels.PoolLayout, error) { return kernels.TreePools([]int{-1, 0, 0, 1, -1, 4, 5}) }, false, false},
	{"PartialDisjoint", func() (*kernels.PoolLayout, error) {
		return kernels.NewPoolLayout(10, [][]int{{0, 1, 2}, {6, 5}, {9}}, [][]float32{{1, 2, 0.5}, {1, 1}, {3}})
	}, false, false},
	{"PartialOverlap", func() (*kernels.PoolLayout, error) {
		return kernels.NewPoolLayout(9, [][]int{{3, 0, 1, 2}, {2, 3, 4}, {8}}, [][]float32{{0.5, 1, 0, 2}, {1, 1, 0.25}, {4}})
	}, false, false},
	{"Single", func() (*kernels.PoolLayout, error) { return kernels.NewPoolLayout(1, [][]int{{0}}, nil) }, false, false},
	{"Torus32x32k5s1sigma2", func() (*kernels.PoolLayout, error) { return kernels.TorusPools(32, 32, 5, 1, 2) }, true, false},
	// Long sums, which a backend may split (Mesa llvmpipe cuts a shader's loops short after
	// 65,535 iterations in all): one pool of 70,001 units, and a unit in 70,000 pools.
	{"OnePool70001", func() (*kernels.PoolLayout, error) {
		w := make([]float32, 70001)
		for i := range w {
			w[i] = 1 + float32(i%3)/2
		}
		return kernels.NewPoolLayout(70001, [][]int{seq(70001)}, [][]float32{w})
	}, false, true},
	{"Star70000", func() (*kernels.PoolLayout, error) {
		members := make([][]int, 70000)
		for j := range members {
			members[j] = []int{0, j + 1}
		}
		return kernels.NewPoolLayout(70001, members, nil)
	}, false, true},
}

// seq returns 0, 1, …, n−1.
func seq(n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = i
	}
	return v
}

// poolStats returns the largest pool and the most pools any unit is in.
func poolStats(l *kernels.PoolLayout) (maxPool, maxCover int) {
	for j := 0; j < l.NumPools(); j++ {
		maxPool = max(maxPool, int(l.Start[j+1]-l.Start[j]))
	}
	cover := make([]int, l.Units)
	for _, i := range l.Index {
		cover[i]++
		maxCover = max(maxCover, cover[i])
	}
	return maxPool, maxCover
}

// testGroups: PoolNorms, PoolNormsBackward (value, zero input, finite differences) and
// BlockSoftThreshold over every layout and a few batch sizes.
func testGroups(s *suite) {
	for _, lay := range poolLayouts {
		l, err := lay.make()
		if err != nil {
			s.t.Fatalf("layout %s: %v", lay.name, err)
		}
		np, units := l.NumPools(), l.Units
		maxPool, maxCover := poolStats(l)
		batches := []int{1, 7, 33}
		if lay.big {
			batches = []int{65}
		}
		if lay.long {
			batches = []int{2}
		}
		for _, nb := range batches {
			for _, eps := range []float32{1e-3, 0} {
				s.run(fmt.Sprintf("PoolNorms/%s/B=%d/eps=%g", lay.name, nb, eps), lay.big, func(c *tc) {
					p := c.newPools(l)
					z := c.normal(nb*units, 1)
					zt := c.in("z", z, nb, units)
					dst := c.out("norms", nil, nb, np)
					c.b.PoolNorms(dst, zt, p, eps)
					c.settle("PoolNorms")
					// A sum of non-negative terms, then a square root.
					c.expect("PoolNorms", "norms", dst, refPoolNorms(l, nb, f64(z), float64(eps)), nil, tol{0, sumTol(maxPool)})
				})
			}
			s.run(fmt.Sprintf("PoolNormsBackward/%s/B=%d", lay.name, nb), lay.big, func(c *tc) {
				p := c.newPools(l)
				z, dy := c.normal(nb*units, 1), c.normal(nb*np, 1)
				norms := f32(refPoolNorms(l, nb, f64(z), 1e-3))
				zt, dyt, nt := c.in("z", z, nb, units), c.in("dy", dy, nb, np), c.in("norms", norms, nb, np)
				dz := c.out("dz", nil, nb, units)
				c.b.PoolNormsBackward(dz, dyt, zt, nt, p)
				c.settle("PoolNormsBackward")
				// A sum over the pools holding each unit (units in no pool get exactly 0).
				c.expect("PoolNormsBackward", "dz", dz, refPoolNormsBackward(l, nb, f64(dy), f64(z), f64(norms)),
					refPoolNormsBackward(l, nb, absf(dy), absf(z), f64(norms)), tol{0, sumTol(maxCover)})
			})
			if l.Disjoint {
				for _, tau := range []float32{0, 1.5} {
					s.run(fmt.Sprintf("BlockSoftThreshold/%s/B=%d/tau=%g", lay.name, nb, tau), lay.big, func(c *tc) {
						p := c.newPools(l)
						x := c.normal(nb*units, 1)
						idx, _ := l.Pool(0)
						for _, i := range idx {
							x[i] = 0 // a zero group: the factor 1 − τ/0 must not make NaN
						}
						xt := c.in("x", x, nb, units)
						dst := c.out("dst", nil, nb, units)
						c.b.BlockSoftThreshold(dst, xt, p, tau)
						c.settle("BlockSoftThreshold")
						c.expect("BlockSoftThreshold", "dst", dst, refBlockSoftThreshold(l, nb, f64(x), float64(tau)),
							bstScale(l, nb, f64(x), float64(tau)), tol{0, sumTol(maxPool)})
					})
				}
			}
		}
		if lay.big || lay.long {
			continue
		}
		s.run(fmt.Sprintf("PoolNorms/%s/ZeroInput", lay.name), false, func(c *tc) {
			p := c.newPools(l)
			const nb, eps = 3, 1e-4
			zt := c.in("z", make([]float32, nb*units), nb, units)
			dst := c.out("norms", nil, nb, np)
			c.b.PoolNorms(dst, zt, p, eps)
			c.settle("PoolNorms")
			c.expect("PoolNorms", "norms of zero z (√ε)", dst, filled64(nb*np, sqrt32(eps)), nil, tol{0, 8 * eps32}) // a square root: a few ulps on a GPU
			dyt := c.in("dy", c.normal(nb*np, 1), nb, np)
			nt := c.in("norms", c.get(dst), nb, np)
			dz := c.out("dz", nil, nb, units)
			c.b.PoolNormsBackward(dz, dyt, zt, nt, p)
			c.settle("PoolNormsBackward")
			c.expect("PoolNormsBackward", "dz at z = 0", dz, make([]float64, nb*units), nil, tol{})
		})
		s.run(fmt.Sprintf("PoolNormsBackward/%s/FiniteDifferences", lay.name), false, func(c *tc) {
			const nb, eps = 3, 0.05
			z := c.normal(nb*units, 1)
			fwd := func(s *tc, p kernels.Pools, zv []float64) kernels.Tensor {
				zt := s.in("z", f32(zv), nb, units)
				dst := s.out("norms", nil, nb, np)
				s.b.PoolNorms(dst, zt, p, eps)
				s.settle("PoolNorms")
				return dst
			}
			c.gradCheck("PoolNormsBackward", "z", gradProblem{
				x: f64(z),
				fwd: func(zv []float64) []float64 {
					return c.eval(func(s *tc) []float64 { return f64(s.get(fwd(s, s.newPools(l), zv))) })
				},
				back: func(zv, r []float64) []float64 {
					return c.eval(func(s *tc) []float64 {
						p := s.newPools(l)
						norms := fwd(s, p, zv)
						zt, rt := s.in("z", f32(zv), nb, units), s.in("dy", f32(r), nb, np)
						dz := s.out("dz", nil, nb, units)
						s.b.PoolNormsBackward(dz, rt, zt, norms, p)
						s.settle("PoolNormsBackward")
						return f64(s.get(dz))
					})
				},
				h: 0.01, rtol: 3e-3,
			})
		})
	}
}

// bstScale bounds the rounding of BlockSoftThreshold: |x|·(1 + τ/max(‖x_pool‖, τ)), which stays
// |x|-sized where the factor 1 − τ/‖x‖ cancels.
func bstScale(l *kernels.PoolLayout, batch int, x []float64, tau float64) []float64 {
	sc := abs64(x)
	if tau == 0 {
		return sc
	}
	for b := 0; b < batch; b++ {
		for j := 0; j < l.NumPools(); j++ {
			idx, _ := l.Pool(j)
			s := 0.0
			for _, i := range idx {
				s += x[b*l.Units+int(i)] * x[b*l.Units+int(i)]
			}
			f := 1 + tau/math.Max(math.Sqrt(s), tau)
			for _, i := range idx {
				sc[b*l.Units+int(i)] *= f
			}
		}
	}
	return sc
}
