package cpu

import (
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
					got := make([]float32, kb*w)
					for i := range got {
						got[i] = -7 // must be overwritten, padding with zeros
					}
					want := make([]float32, kb*w)
					for p := 0; p < kb; p++ {
						for j := 0; j < cols; j++ {
							want[p*w+j] = b[(j0+j)*ldb+p0+p]
						}
					}
					packTransposed(got, w, b, ldb, j0, cols, p0, kb)
					if !slices.Equal(got, want) {
						t.Fatalf("w=%d cols=%d kb=%d j0=%d p0=%d: packed %v, want %v", w, cols, kb, j0, p0, got, want)
					}
				}
			}
		}
	}
}
