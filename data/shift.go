package data

import "math/rand/v2"

// ShiftImage moves one image of planes maps of rows×cols pixels (NCHW, img [planes·rows·cols]) by dy
// rows down and dx columns right, in place; the pixels shifted in are 0 and those shifted past
// the edge are lost. |dy| < rows and |dx| < cols.
func ShiftImage(img []float32, planes, rows, cols, dy, dx int) {
	for p := range planes {
		pl := img[p*rows*cols : (p+1)*rows*cols]
		// Rows move so that no source row is overwritten before it is read.
		for k := range rows {
			i := k
			if dy > 0 || dy == 0 && dx > 0 {
				i = rows - 1 - k
			}
			dst := pl[i*cols : (i+1)*cols]
			si := i - dy
			if si < 0 || si >= rows {
				clear(dst)
				continue
			}
			src := pl[si*cols : (si+1)*cols]
			switch {
			case dx >= 0:
				copy(dst[dx:], src[:cols-dx]) // copy handles the overlap of dst and src
				clear(dst[:dx])
			default:
				copy(dst, src[-dx:])
				clear(dst[cols+dx:])
			}
		}
	}
}

// ShiftBatch moves each of the n images of a batch x [n, planes·rows·cols] by its own offset
// (dy, dx), each drawn uniformly from [−maxShift, maxShift] by r (data augmentation: a classifier
// trained on shifted copies of its images learns their small translations).
func ShiftBatch(x []float32, n, planes, rows, cols, maxShift int, r *rand.Rand) {
	dim := planes * rows * cols
	for i := range n {
		dy, dx := r.IntN(2*maxShift+1)-maxShift, r.IntN(2*maxShift+1)-maxShift
		ShiftImage(x[i*dim:(i+1)*dim], planes, rows, cols, dy, dx)
	}
}
