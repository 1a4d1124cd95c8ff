package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels/kerneltest"
)

// TestConformanceEachVecPath runs the conformance suite once for every path of the
// memory-bound loops this CPU has other than the one New picks (TestConformance covers that).
func TestConformanceEachVecPath(t *testing.T) {
	if testing.Short() {
		t.Skip("the full suite once per path; -short runs it for the default path only")
	}
	def := New().vec
	for _, k := range vecKernelList() {
		if k == def {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			be := New()
			be.vec = k
			kerneltest.Run(t, be)
		})
	}
}

// TestVecKernelEnv checks that DRSAE_CPU_VEC picks each path by name.
func TestVecKernelEnv(t *testing.T) {
	for _, k := range vecKernelList() {
		t.Setenv("DRSAE_CPU_VEC", k.name)
		if got := New().Info().Extra["vec"]; got != k.name {
			t.Errorf("DRSAE_CPU_VEC=%s: vec %q, want %q", k.name, got, k.name)
		}
	}
}

// specials are values each loop must treat as the portable one does: signed zeros, infinities,
// NaN, subnormals, and values equal to the thresholds below.
var specials = []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
	float32(math.NaN()), 1e-40, -1e-40, 0.25, -0.25, 1, -1}

// vecInput is n values, most normal, some special, starting at a random offset in its
// backing array (so loads are unaligned).
func vecInput(r *rand.Rand, n int) []float32 {
	buf := make([]float32, n+8)
	s := buf[r.IntN(8):][:n]
	for i := range s {
		if r.IntN(5) == 0 {
			s[i] = specials[r.IntN(len(specials))]
		} else {
			s[i] = float32(r.NormFloat64())
		}
	}
	return s
}

// sameBits reports whether a and b are the same float32, any NaN matching any NaN.
func sameBits(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// TestVecLoopsMatchGo checks every elementwise and shrinkage loop of every fast path against
// the portable loop, bit for bit, at every length around the 8-wide groups and with special
// values: the fast paths promise the portable results, not merely close ones.
func TestVecLoopsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range vecKernelList() {
		if k == vecGo {
			continue
		}
		for n := 0; n <= 41; n++ {
			x, y, th := vecInput(r, n), vecInput(r, n), vecInput(r, n)
			for i := range th {
				if r.IntN(3) == 0 {
					th[i] = 0.25 // equal to some |x|: the threshold's boundary
				}
			}
			a, c := float32(r.NormFloat64()), specials[r.IntN(len(specials))]
			// checkOn runs run on copies of start with the portable path and k; check on y.
			checkOn := func(name string, start, in []float32, run func(kern *vecKernels, d []float32)) {
				t.Helper()
				want, got := append([]float32(nil), start...), append([]float32(nil), start...)
				run(vecGo, want)
				run(k, got)
				for i := range want {
					if !sameBits(got[i], want[i]) {
						t.Fatalf("%s %s n=%d, %d values: [%d] = %g, portable %g (input %g, start %g)", k.name, name, n, len(want), i, got[i], want[i], in[i], start[i])
					}
				}
			}
			check := func(name string, run func(kern *vecKernels, d []float32)) { t.Helper(); checkOn(name, y, x, run) }
			check("fill", func(kern *vecKernels, d []float32) { kern.fill(d, c) })
			check("axpby", func(kern *vecKernels, d []float32) { kern.axpby(a, x, c, d) })
			check("axpby β=0", func(kern *vecKernels, d []float32) { kern.axpby(a, x, 0, d) })
			check("mul", func(kern *vecKernels, d []float32) { kern.mul(d, x, d) })
			check("div", func(kern *vecKernels, d []float32) { kern.div(d, x, d) })
			check("addScaled", func(kern *vecKernels, d []float32) { kern.addScaled(d, d, a, x) })
			check("addConst", func(kern *vecKernels, d []float32) { kern.addConst(d, x, c) })
			check("mulConst", func(kern *vecKernels, d []float32) { kern.mulConst(d, x, c) })
			// addScaled and shrink over several rows, the row vector applying to each.
			const rows = 3
			bx, bd := vecInput(r, rows*n), vecInput(r, rows*n)
			checkRows := func(name string, run func(kern *vecKernels, d []float32)) { t.Helper(); checkOn(name, bd, bx, run) }
			checkRows("addScaled", func(kern *vecKernels, d []float32) { kern.addScaled(d, bx, a, x) })
			checkRows("addScaled in place", func(kern *vecKernels, d []float32) { kern.addScaled(d, d, a, x) })
			for _, two := range []bool{true, false} {
				check("shrink", func(kern *vecKernels, d []float32) { kern.shrink(d, x, th, two) })
				checkRows("shrink", func(kern *vecKernels, d []float32) { kern.shrink(d, bx, th, two) })
				checkRows("shrink in place", func(kern *vecKernels, d []float32) { kern.shrink(d, d, th, two) })
				check("shrinkBackward dx", func(kern *vecKernels, d []float32) { kern.shrinkBackward(d, y, x, n, 1, th, nil, two) })
				// A strip of n units down the rows of a wider matrix (row stride n+3), with and
				// without the threshold sums, as dtheta gathers them; at two lengths, more rows
				// than one chunk of the assembly's.
				rows := 3
				if n == 8 || n == 17 || n == 35 {
					rows = 131
				}
				ld := n + 3
				bx, bdy := vecInput(r, rows*ld), vecInput(r, rows*ld)
				for i := range bx {
					if n > 0 && r.IntN(4) == 0 {
						bx[i] = th[i%ld%n] // on the boundary
					}
				}
				strip := func(kern *vecKernels, sums bool) ([]float32, []float64) {
					dx := vecInput(rand.New(rand.NewPCG(5, 6)), rows*ld) // untouched beyond the strip
					var s []float64
					if sums {
						s = make([]float64, n)
					}
					kern.shrinkBackward(dx, bdy, bx, ld, rows, th, s, two)
					return dx, s
				}
				sumsAlone := func(kern *vecKernels) []float64 {
					s := make([]float64, n)
					kern.shrinkBackward(nil, bdy, bx, ld, rows, th, s, two)
					return s
				}
				if _, want := strip(vecGo, true); n > 0 {
					for _, kern := range []*vecKernels{vecGo, k} {
						got := sumsAlone(kern)
						for i := range want {
							if math.Float64bits(want[i]) != math.Float64bits(got[i]) && !(want[i] != want[i] && got[i] != got[i]) {
								t.Fatalf("%s shrinkBackward sums alone two-sided=%v n=%d: [%d] = %g, with dx %g", kern.name, two, n, i, got[i], want[i])
							}
						}
					}
				}
				for _, sums := range []bool{false, true} {
					wantDx, want := strip(vecGo, sums)
					gotDx, got := strip(k, sums)
					for i := range wantDx {
						if !sameBits(gotDx[i], wantDx[i]) {
							t.Fatalf("%s shrinkBackward strip dx two-sided=%v n=%d: [%d] = %g, portable %g", k.name, two, n, i, gotDx[i], wantDx[i])
						}
					}
					for i := range want {
						if math.Float64bits(want[i]) != math.Float64bits(got[i]) && !(want[i] != want[i] && got[i] != got[i]) {
							t.Fatalf("%s shrinkBackward sums two-sided=%v n=%d: [%d] = %g, portable %g", k.name, two, n, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestShrinkSignedZero checks the one case of the shrinkage whose sign the random inputs above
// rarely draw: x = −0 with θ = +0 gives +0 one-sided (Go's max(−0, 0)) and −0 two-sided (the
// sign of x copied), in the vector body and the tail of every path.
func TestShrinkSignedZero(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, k := range vecKernelList() {
		for _, n := range []int{1, 8, 9, 16, 17, 32, 33, 49} {
			x, th, d := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				x[i] = negZero
			}
			for _, two := range []bool{false, true} {
				k.shrink(d, x, th, two)
				for i, v := range d {
					if v != 0 || math.Signbit(float64(v)) != two {
						t.Fatalf("%s shrink two-sided=%v n=%d: [%d] = %g (sign bit %v), want %s", k.name, two, n, i, v, math.Signbit(float64(v)), map[bool]string{false: "+0", true: "−0"}[two])
					}
				}
			}
		}
	}
}
