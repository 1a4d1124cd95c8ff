package data

import (
	"image"
	"math/rand/v2"
)

// PatchMargin is the largest shift ShiftPairs is meant for: images must
// hold a patch with this many pixels to spare on every side.
const PatchMargin = 2

// PatchSource cuts Size×Size patches from images prepared for the topographic models: each
// image locally contrast normalized (LocalContrastNormalize; none for σ = 0), each patch with
// its mean removed.
type PatchSource struct {
	Images []Gray
	Size   int
}

// NewPatchSource normalizes imgs (copies; imgs are not changed) for patches of size pixels.
// Images smaller than size + 2·PatchMargin are left out; Images may end up empty.
func NewPatchSource(imgs []Gray, size int, lcnSigma float64) *PatchSource {
	s := &PatchSource{Size: size}
	for _, g := range imgs {
		if g.W < size+2*PatchMargin || g.H < size+2*PatchMargin {
			continue
		}
		if lcnSigma > 0 {
			g = LocalContrastNormalize(g, lcnSigma)
		}
		s.Images = append(s.Images, g)
	}
	return s
}

// Random returns count random patches [count, Size²] drawn with seed.
func (s *PatchSource) Random(count int, seed uint64) []float32 {
	x := Patches(s.Images, s.Size, count, seed)
	RemoveMean(x, s.Size*s.Size)
	return x
}

// ShiftPairs returns count patches at random places and the same patches shifted by shift
// pixels (even samples move right, odd ones down), each [count, Size²].
func (s *PatchSource) ShiftPairs(count, shift int, seed uint64) (x0, x1 []float32) {
	n := s.Size * s.Size
	x0 = make([]float32, 0, count*n)
	x1 = make([]float32, 0, count*n)
	r := rand.New(rand.NewPCG(seed, 0x5417))
	for k := range count {
		img := s.Images[r.IntN(len(s.Images))]
		at := RandomPositions(img, s.Size, 1, shift, r.Uint64())
		dx, dy := shift, 0
		if k%2 == 1 {
			dx, dy = 0, shift
		}
		x0 = append(x0, PatchesAt(img, s.Size, at)...)
		x1 = append(x1, PatchesAt(img, s.Size, Shift(at, dx, dy))...)
	}
	RemoveMean(x0, n)
	RemoveMean(x1, n)
	return x0, x1
}

// PatchAt returns the patch of image i whose top-left corner is at p, prepared like Random.
func (s *PatchSource) PatchAt(i int, p image.Point) []float32 {
	x := PatchesAt(s.Images[i], s.Size, []image.Point{p})
	RemoveMean(x, s.Size*s.Size)
	return x
}
