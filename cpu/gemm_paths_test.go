package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels/kerneltest"
)

// TestConformanceEachGemmPath runs the conformance suite once for every micro-kernel this CPU
// has other than the one New picks (TestConformance covers that one, and DRSAE_CPU_GEMM
// chooses it), so each path meets Gemm, the convolutions and the ops built on them.
func TestConformanceEachGemmPath(t *testing.T) {
	if testing.Short() {
		t.Skip("the full suite once per kernel; -short runs it for the default kernel only")
	}
	def := New().gemm
	for _, kern := range gemmKernels() {
		if kern == def {
			continue
		}
		t.Run(kern.name, func(t *testing.T) {
			be := New()
			be.gemm = kern
			kerneltest.Run(t, be)
		})
	}
}

// TestGemmKernelEnv checks that DRSAE_CPU_GEMM picks each kernel by the first word of its name.
func TestGemmKernelEnv(t *testing.T) {
	for _, kern := range gemmKernels() {
		word := kern.name
		for i, r := range word {
			if r == ' ' {
				word = word[:i]
				break
			}
		}
		t.Setenv("DRSAE_CPU_GEMM", word)
		if got := New().Info().Extra["gemm"]; got != kern.name {
			t.Errorf("DRSAE_CPU_GEMM=%s: gemm %q, want %q", word, got, kern.name)
		}
	}
}

// TestGemmBlockingEdges runs every kernel against the reference on shapes that cross each
// blocking boundary of the fast products: rows around multiples of 6 and 12 (and 12n + 4, whose
// last 16 rows the AVX-512 product runs as 8 + 8), columns around 16 and 32, depths around 4, 8
// and the k-blocks (256 for AVX2, 512 for AVX-512), widths past the AVX-512 n-block (384) of one
// thread, a row stride of 512 (the AVX-512 product packs such an A rather than read it in
// place), and thread counts that split rows or columns unevenly.
func TestGemmBlockingEdges(t *testing.T) {
	sizes := [][3]int{ // m, n, k
		{24, 40, 512}, {28, 40, 33}, {12, 32, 4}, {12, 16, 1}, {11, 31, 3}, {13, 33, 5}, {24, 48, 17}, {25, 47, 8},
		{12, 1040, 9}, {37, 530, 2}, {5, 17, 600}, {36, 64, 257}, {60, 100, 513},
		{300, 20, 30}, {1, 600, 3}, {700, 1, 3}, {16, 50, 40}, {20, 33, 9},
	}
	if testing.Short() {
		sizes = sizes[:9]
	}
	params := [][2]float32{{1, 0}, {-0.5, 1}, {2, 0.75}}
	r := rand.New(rand.NewPCG(5, 6))
	for _, kern := range gemmKernels() {
		for _, threads := range []int{1, 2, 3} {
			be := New()
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
