package data

import "math/rand/v2"

// FlipImage mirrors one image of planes maps of rows×cols pixels (NCHW, img [planes·rows·cols])
// left to right, in place.
func FlipImage(img []float32, planes, rows, cols int) {
	for r := range planes * rows {
		row := img[r*cols : (r+1)*cols]
		for i, j := 0, cols-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// FlipBatch mirrors each of the n images of a batch x [n, planes·rows·cols] left to right with
// probability ½, drawn by r (data augmentation for images whose classes do not depend on
// their left and right, as torchvision's RandomHorizontalFlip: not digits, but clothes).
func FlipBatch(x []float32, n, planes, rows, cols int, r *rand.Rand) {
	dim := planes * rows * cols
	for i := range n {
		if r.IntN(2) == 1 {
			FlipImage(x[i*dim:(i+1)*dim], planes, rows, cols)
		}
	}
}
