package data

import (
	"fmt"
	"math/rand/v2"
)

// Dataset is a labelled set of N gray images of Rows×Cols pixels.
type Dataset struct {
	Name       string    // where it came from, e.g. "mnist/train"
	N          int       // number of samples
	Rows, Cols int       // image size
	Classes    int       // labels are 0 ≤ Labels[i] < Classes
	Pixels     []float32 // [N, Rows*Cols], row-major; [0, 1] as loaded
	Labels     []uint8   // [N]
}

// Dim is the number of features of a sample, Rows·Cols.
func (d *Dataset) Dim() int { return d.Rows * d.Cols }

// Sample returns sample i's pixels, [Rows*Cols], sharing memory with d.Pixels.
func (d *Dataset) Sample(i int) []float32 {
	if i < 0 || i >= d.N {
		panic(fmt.Sprintf("data: Sample(%d) out of range [0, %d)", i, d.N))
	}
	n := d.Dim()
	return d.Pixels[i*n : (i+1)*n : (i+1)*n]
}

// Split returns the first n samples and the rest, as views sharing d's memory (capacity
// clipped, so appending to one never writes into the other). The DrSAE paper trains on the
// first 50,000 MNIST training images and validates on the last 10,000: Split(50000).
func (d *Dataset) Split(n int) (first, rest *Dataset) {
	if n < 0 || n > d.N {
		panic(fmt.Sprintf("data: Split(%d) out of range [0, %d]", n, d.N))
	}
	k := n * d.Dim()
	first, rest = d.header(n), d.header(d.N-n)
	first.Name, rest.Name = d.Name+"[:"+fmt.Sprint(n)+"]", d.Name+"["+fmt.Sprint(n)+":]"
	first.Pixels, rest.Pixels = d.Pixels[:k:k], d.Pixels[k:]
	first.Labels, rest.Labels = d.Labels[:n:n], d.Labels[n:]
	return first, rest
}

// Subset returns a copy holding samples idx, in that order (repeats allowed).
func (d *Dataset) Subset(idx []int) *Dataset {
	s := d.header(len(idx))
	s.Name = d.Name + "[subset]"
	s.Pixels = make([]float32, len(idx)*d.Dim())
	s.Labels = make([]uint8, len(idx))
	for j, i := range idx {
		copy(s.Pixels[j*d.Dim():], d.Sample(i))
		s.Labels[j] = d.Labels[i]
	}
	return s
}

// Clone returns a deep copy of d.
func (d *Dataset) Clone() *Dataset {
	c := *d
	c.Pixels = append([]float32(nil), d.Pixels...)
	c.Labels = append([]uint8(nil), d.Labels...)
	return &c
}

func (d *Dataset) header(n int) *Dataset {
	return &Dataset{Name: d.Name, N: n, Rows: d.Rows, Cols: d.Cols, Classes: d.Classes}
}

// Batch gathers samples idx into caller buffers: dst [len(idx), Dim()] gets the pixels and
// labels [len(idx)] the class indices as float32 (the form a softmax cross-entropy op takes).
// labels may be nil. It panics if a buffer has the wrong length or an index is out of range.
func (d *Dataset) Batch(idx []int, dst []float32, labels []float32) {
	n := d.Dim()
	if len(dst) != len(idx)*n {
		panic(fmt.Sprintf("data: Batch: dst has length %d, want %d samples × %d = %d", len(dst), len(idx), n, len(idx)*n))
	}
	if labels != nil && len(labels) != len(idx) {
		panic(fmt.Sprintf("data: Batch: labels has length %d, want %d", len(labels), len(idx)))
	}
	for j, i := range idx {
		copy(dst[j*n:(j+1)*n], d.Sample(i))
		if labels != nil {
			labels[j] = float32(d.Labels[i])
		}
	}
}

// Shuffle permutes the samples of d in place with Permutation(d.N, seed).
func (d *Dataset) Shuffle(seed uint64) {
	s := d.Subset(Permutation(d.N, seed))
	copy(d.Pixels, s.Pixels)
	copy(d.Labels, s.Labels)
}

// NormalizeL2 scales every sample to unit Euclidean norm, as the DrSAE paper (Rolfe & LeCun
// 2013) does with MNIST; all-zero samples are left as they are. See NormalizeRows.
func (d *Dataset) NormalizeL2() { NormalizeRows(d.Pixels, d.Dim(), 0) }

// Permutation returns a random permutation of 0..n-1 drawn from seed (Fisher–Yates on a PCG
// generator): the same seed gives the same permutation on every run.
func Permutation(n int, seed uint64) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r := newRand(seed)
	for i := n - 1; i > 0; i-- {
		j := int(r.Uint64N(uint64(i + 1)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// newRand is the generator behind every seeded choice in this package.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}
