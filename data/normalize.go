package data

import (
	"fmt"
	"math"
)

// Row-wise preprocessing of a flat [N, dim] set, in place. Sums run in float64.

func checkRows(fn string, x []float32, dim int) int {
	if dim <= 0 || len(x)%dim != 0 {
		panic(fmt.Sprintf("data: %s: length %d is not a multiple of dim %d", fn, len(x), dim))
	}
	return len(x) / dim
}

// RemoveMean subtracts from each row of x [N, dim] its own mean: x_i ← x_i − mean(x_i).
// For patches this removes the local brightness (the DC component).
func RemoveMean(x []float32, dim int) {
	n := checkRows("RemoveMean", x, dim)
	for i := range n {
		row := x[i*dim : (i+1)*dim]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		m := float32(s / float64(dim))
		for j := range row {
			row[j] -= m
		}
	}
}

// DivideStd divides each row of x [N, dim] by its standard deviation, floored:
// x_i ← x_i / max(std(x_i), floor), std(x_i) = √(mean((x_i − mean x_i)²)).
// The floor keeps flat patches (std ≈ 0) from being blown up into noise; with floor 0, rows
// whose std is 0 are left as they are. This is the divisive part of the contrast
// normalization used on patches in LeCun-lab recipes (e.g. Kavukcuoglu et al. 2009); call
// RemoveMean first for the subtractive part.
func DivideStd(x []float32, dim int, floor float32) {
	n := checkRows("DivideStd", x, dim)
	for i := range n {
		row := x[i*dim : (i+1)*dim]
		// Two passes, so that a constant row has std exactly 0.
		var s, s2 float64
		for _, v := range row {
			s += float64(v)
		}
		m := s / float64(dim)
		for _, v := range row {
			s2 += (float64(v) - m) * (float64(v) - m)
		}
		scaleRow(row, math.Sqrt(s2/float64(dim)), float64(floor))
	}
}

// NormalizeRows divides each row of x [N, dim] by its Euclidean norm, floored:
// x_i ← x_i / max(‖x_i‖₂, floor). With floor 0 every non-zero row gets unit norm and all-zero
// rows are left as they are.
func NormalizeRows(x []float32, dim int, floor float32) {
	n := checkRows("NormalizeRows", x, dim)
	for i := range n {
		row := x[i*dim : (i+1)*dim]
		var s2 float64
		for _, v := range row {
			s2 += float64(v) * float64(v)
		}
		scaleRow(row, math.Sqrt(s2), float64(floor))
	}
}

// scaleRow divides row by max(d, floor), or leaves it if that is 0.
func scaleRow(row []float32, d, floor float64) {
	d = max(d, floor)
	if d == 0 {
		return
	}
	inv := 1 / d
	for j := range row {
		row[j] = float32(float64(row[j]) * inv)
	}
}

// Standardizer holds per-feature statistics fitted on a training set, to standardize every
// set the same way: x_ij ← (x_ij − Mean_j) / Std_j.
type Standardizer struct {
	Mean []float32 // [dim]
	Std  []float32 // [dim], √(var_j + eps), never 0 when eps > 0
}

// FitStandardizer computes the per-feature mean and Std_j = √(var_j + eps) of x [N, dim]
// (population variance). eps > 0 keeps constant features, such as MNIST's border pixels,
// finite; with eps = 0 a constant feature gets Std 1 (it is only centred).
func FitStandardizer(x []float32, dim int, eps float64) *Standardizer {
	n := checkRows("FitStandardizer", x, dim)
	if n == 0 {
		panic("data: FitStandardizer: no samples")
	}
	sum := make([]float64, dim)
	sum2 := make([]float64, dim)
	for i := range n {
		for j, v := range x[i*dim : (i+1)*dim] {
			sum[j] += float64(v)
			sum2[j] += float64(v) * float64(v)
		}
	}
	s := &Standardizer{Mean: make([]float32, dim), Std: make([]float32, dim)}
	for j := range dim {
		m := sum[j] / float64(n)
		sd := math.Sqrt(max(sum2[j]/float64(n)-m*m, 0) + eps)
		if sd == 0 {
			sd = 1
		}
		s.Mean[j], s.Std[j] = float32(m), float32(sd)
	}
	return s
}

// Apply standardizes x [N, dim] in place, dim = len(s.Mean).
func (s *Standardizer) Apply(x []float32) {
	dim := len(s.Mean)
	n := checkRows("Standardizer.Apply", x, dim)
	for i := range n {
		row := x[i*dim : (i+1)*dim]
		for j := range row {
			row[j] = (row[j] - s.Mean[j]) / s.Std[j]
		}
	}
}
