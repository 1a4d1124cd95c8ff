package kerneltest

import (
	"fmt"
	"math"
)

// testGemm: C = α·op(A)·op(B) + β·C for every transpose combination, odd and round sizes, and
// α, β including β = 0 over a C full of NaN and ±Inf, which must not propagate, an empty sum
// (K = 0) and a long K.
func testGemm(s *suite) {
	sizes := []struct {
		m, n, k   int
		big, long bool // long: -short runs NN and TN with the first α, β only
	}{
		{1, 1, 1, false, false},
		{1, 7, 33, false, false},
		{7, 1, 33, false, false},
		{33, 7, 1, false, false},
		{4, 6, 0, false, false}, // an empty sum: C = β·C (the recurrent encoder's ∂S for T = 1)
		{7, 33, 257, false, false},
		{64, 64, 64, false, false},
		{257, 33, 100, false, false},
		{300, 257, 129, false, false},
		{1000, 300, 513, true, false},
		// A long sum, which a backend may split (Mesa llvmpipe cuts a shader's loops short after
		// 65,535 iterations): the Gram matrices of large feature maps have K in the hundreds of
		// thousands.
		{3, 5, 70001, false, true},
	}
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {-0.5, 1}, {2, -1.5}}
	for _, sz := range sizes {
		for _, tr := range []struct{ a, b bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
			for si, sc := range scalars {
				if sz.big && si > 0 {
					continue // the largest size with β = 0 only
				}
				name := fmt.Sprintf("%dx%dx%d/%s%s/alpha=%g,beta=%g", sz.m, sz.n, sz.k, tname(tr.a), tname(tr.b), sc.alpha, sc.beta)
				s.run(name, sz.big || sz.long && (si > 0 || tr.b), func(c *tc) {
					m, n, k := sz.m, sz.n, sz.k
					ashape, bshape := []int{m, k}, []int{k, n}
					if tr.a {
						ashape = []int{k, m}
					}
					if tr.b {
						bshape = []int{n, k}
					}
					a, b := c.normal(m*k, 1), c.normal(k*n, 1)
					c0 := poisoned(m * n)
					if sc.beta != 0 {
						c0 = c.normal(m*n, 1)
					}
					at, bt := c.in("A", a, ashape...), c.in("B", b, bshape...)
					ct := c.out("C", c0, m, n)
					c.b.Gemm(tr.a, tr.b, sc.alpha, at, bt, sc.beta, ct)
					c.settle("Gemm")
					want := refGemm(tr.a, tr.b, m, n, k, float64(sc.alpha), f64(a), f64(b), float64(sc.beta), f64(c0))
					scale := refGemm(tr.a, tr.b, m, n, k, math.Abs(float64(sc.alpha)), absf(a), absf(b), math.Abs(float64(sc.beta)), absf(c0))
					// A sum of k products plus β·C: sumTol(k) against |α|·|A||B| + |β||C|.
					c.expect("Gemm", "C", ct, want, scale, tol{0, sumTol(k)})
				})
			}
		}
	}
}

func tname(t bool) string {
	if t {
		return "T"
	}
	return "N"
}
