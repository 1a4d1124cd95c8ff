package cpu

import (
	"golang.org/x/sys/cpu"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPackTransposed compares the transposing packer (8×8 blocks in registers where the CPU
// has them, loops elsewhere) with its definition, over widths, depths and edges.
func TestPackTransposed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const ldb = 301
	b := randSlice(r, 70*ldb)
	for _, w := range []int{16, 32} {
		for _, cols := range []int{1, 7, 8, 9, 16, w - 1, w} {
			if cols > w {
				continue
			}
			for _, kb := range []int{1, 7, 8, 9, 64, 67} {
				for _, off := range [][2]int{{0, 0}, {3, 5}, {37, 200}} {
					j0, p0 := off[0], off[1]
					want := make([]float32, kb*w)
					for p := 0; p < kb; p++ {
						for j := 0; j < cols; j++ {
							want[p*w+j] = b[(j0+j)*ldb+p0+p]
						}
					}
					got := packed(len(want), func(got []float32) { packTransposed(got, w, b, ldb, j0, cols, p0, kb) })
					if !slices.Equal(got, want) {
						t.Fatalf("w=%d cols=%d kb=%d j0=%d p0=%d: packed %v, want %v", w, cols, kb, j0, p0, got, want)
					}
				}
			}
		}
	}
}

// TestPackA512 compares the AVX-512 product's packer of A (12 rows, 8 steps at a time in
// registers, the rest by loops; and the transposed A) with its definition, over row counts,
// depths and offsets.
func TestPackA512(t *testing.T) {
	if !cpu.X86.HasAVX512F {
		t.Skip("this CPU has no AVX-512F: the AVX-512 product and its packers do not run here")
	}
	r := rand.New(rand.NewPCG(7, 8))
	const lda = 203
	a := randSlice(r, 200*lda)
	for _, transA := range []bool{false, true} {
		for _, rows := range []int{1, 4, 8, 11, 12} {
			for _, kb := range []int{1, 7, 8, 9, 16, 67} {
				for _, off := range [][2]int{{0, 0}, {3, 5}, {37, 101}} {
					i0, p0 := off[0], off[1]
					want := make([]float32, 12*kb)
					for p := 0; p < kb; p++ {
						for i := 0; i < rows; i++ {
							if transA {
								want[12*p+i] = a[(p0+p)*lda+i0+i]
							} else {
								want[12*p+i] = a[(i0+i)*lda+p0+p]
							}
						}
					}
					got := packed(len(want), func(got []float32) { packA512(got, transA, a, lda, i0, rows, p0, kb) })
					if !slices.Equal(got, want) {
						t.Fatalf("transA=%v rows=%d kb=%d i0=%d p0=%d: packed %v, want %v", transA, rows, kb, i0, p0, got, want)
					}
				}
			}
		}
	}
}

// TestPackB512 compares the AVX-512 product's packer of B (16-column panels; a row-major B a
// row at a time, a transposed one by 8×8 blocks) with its definition, over widths, depths and
// offsets.
func TestPackB512(t *testing.T) {
	if !cpu.X86.HasAVX512F {
		t.Skip("this CPU has no AVX-512F: the AVX-512 product and its packers do not run here")
	}
	r := rand.New(rand.NewPCG(9, 10))
	const ldb = 211
	b := randSlice(r, 250*ldb)
	for _, transB := range []bool{false, true} {
		for _, cols := range []int{1, 15, 16, 17, 32, 33, 100} {
			for _, kb := range []int{1, 7, 8, 9, 67} {
				for _, off := range [][2]int{{0, 0}, {3, 5}, {101, 37}} {
					j0, p0 := off[0], off[1]
					panels := (cols + 15) / 16
					want := make([]float32, 16*kb*panels)
					for p := 0; p < kb; p++ {
						for j := 0; j < cols; j++ {
							v := b[(p0+p)*ldb+j0+j]
							if transB {
								v = b[(j0+j)*ldb+p0+p]
							}
							want[16*kb*(j/16)+16*p+j%16] = v
						}
					}
					got := packed(len(want), func(got []float32) { packB512(got, transB, b, ldb, p0, kb, j0, cols) })
					if !slices.Equal(got, want) {
						t.Fatalf("transB=%v cols=%d kb=%d j0=%d p0=%d: packed %v, want %v", transB, cols, kb, j0, p0, got, want)
					}
				}
			}
		}
	}
}

// packed runs pack on n values set to −7 beforehand, so that a packer must write each of them
// (the padding with zeros too), and returns them.
func packed(n int, pack func(got []float32)) []float32 {
	got := make([]float32, n)
	for i := range got {
		got[i] = -7
	}
	pack(got)
	return got
}
