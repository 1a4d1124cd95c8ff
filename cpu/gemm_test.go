package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randSlice returns n values uniform in [−1, 1) from a seeded source.
func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// TestGemmFastMatchesReference runs the blocked product with every micro-kernel this CPU has
// against the reference loops, over odd sizes, every transpose pair, and α, β values including
// β = 0 over a C full of NaN.
func TestGemmFastMatchesReference(t *testing.T) {
	sizes := [][3]int{ // m, n, k
		{1, 1, 1}, {1, 7, 1}, {7, 1, 33}, {7, 7, 7}, {6, 16, 1}, {6, 16, 2}, {6, 16, 5},
		{13, 17, 3}, {33, 33, 33}, {5, 257, 9}, {257, 5, 9}, {7, 33, 257}, {257, 33, 7},
		{64, 48, 300}, {100, 100, 600}, {481, 17, 31}, {3, 4100, 2}, {61, 67, 513},
	}
	params := [][2]float32{{1, 0}, {1, 1}, {-0.5, 0}, {2, 0.75}, {0, 0.5}, {0, 0}}
	be := New()
	r := rand.New(rand.NewPCG(1, 2))
	for _, kern := range gemmKernels() {
		for _, threads := range []int{1, 3} {
			be.threads = threads
			for _, s := range sizes {
				m, n, k := s[0], s[1], s[2]
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, ab := range params {
						name := fmt.Sprintf("%s/threads=%d/%dx%dx%d/tA=%v,tB=%v/α=%v,β=%v", kern.name, threads, m, n, k, tr[0], tr[1], ab[0], ab[1])
						checkGemmFast(t, name, be, kern, r, tr[0], tr[1], m, n, k, ab[0], ab[1])
					}
				}
			}
		}
	}
}

// checkGemmFast runs the blocked product with kern on random inputs (C full of NaN when β = 0,
// which must not be read) and fails unless it matches the reference within 1e-5·(k+1) and
// leaves the 12 rows' worth of memory after C as it was.
func checkGemmFast(t *testing.T, name string, be *Backend, kern *gemmKernel, r *rand.Rand, tA, tB bool, m, n, k int, alpha, beta float32) {
	t.Helper()
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	c0 := randSlice(r, m*n)
	if beta == 0 {
		for i := range c0 {
			c0[i] = float32(math.NaN())
		}
	}
	want := append([]float32(nil), c0...)
	guarded := append(append([]float32(nil), c0...), make([]float32, 12*n)...)
	for i := m * n; i < len(guarded); i++ {
		guarded[i] = 7
	}
	got := guarded[:m*n]
	gemmRef(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, want, n)
	be.gemmFast(kern, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, got, n)
	for i, v := range guarded[m*n:] {
		if v != 7 {
			t.Fatalf("%s: wrote %v at %d past the end of C", name, v, i)
		}
	}
	tol := 1e-5 * float64(k+1)
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
			t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i/n, i%n, got[i], want[i])
		}
	}
}

// TestGemmPackedSameBits checks that a product by a B packed beforehand (prepackB, as the
// recurrent encoder packs S once for its T−1 products) gives the bits of the product that packs
// B itself, for every blocked kernel, both op(B), several row counts of A, β = 0 over NaN and
// β = 1, and sizes with several row and column blocks of B and partial slivers.
func TestGemmPackedSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kern := range gemmKernels() {
		be := New()
		be.gemm = kern
		for _, s := range [][2]int{{400, 400}, {37, 600}, {4100, 3}, {4100, 300}, {16, 1}, {5, 5}} {
			n, k := s[0], s[1]
			for _, tB := range []bool{false, true} {
				ldb := n
				if tB {
					ldb = k
				}
				b := randSlice(r, k*n)
				for _, m := range []int{1, 7, 10, 50} {
					pre := be.prepackB(tB, m, n, k, b, ldb)
					if pre == nil && m*n*k >= gemmSmall {
						t.Fatalf("%s: no packing for %d×%d×%d", kern.name, m, n, k)
					}
					for _, beta := range []float32{0, 1} {
						a, c0 := randSlice(r, m*k), randSlice(r, m*n)
						if beta == 0 {
							for i := range c0 {
								c0[i] = float32(math.NaN())
							}
						}
						want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
						be.gemmSlices(false, tB, m, n, k, 1, a, k, b, ldb, beta, want, n)
						be.gemmPacked(pre, tB, m, n, k, 1, a, k, b, ldb, beta, got, n)
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s %d×%d×%d tB=%v β=%v: C[%d] = %v, packing itself %v", kern.name, m, n, k, tB, beta, i, got[i], want[i])
							}
						}
					}
					if pre != nil {
						putBuf(pre)
					}
				}
			}
		}
	}
}
