package model

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/data"
)

// Samples are the data a module trains or is evaluated on: N samples of Dim features, and
// optionally a target vector of YDim values per sample (class indices as whole floats, YDim 1,
// with Classes > 0; or regression targets such as LISTA's z*).
type Samples struct {
	Name       string
	X          []float32 // [N, Dim]
	Dim        int
	Y          []float32 // [N, YDim]; nil when there are none
	YDim       int
	Classes    int // > 0 when Y holds class indices 0 ≤ y < Classes
	Rows, Cols int // the image shape of a sample, Rows·Cols = Dim; 0 when not images
}

// N is the number of samples.
func (s *Samples) N() int {
	if s == nil || s.Dim == 0 {
		return 0
	}
	return len(s.X) / s.Dim
}

// FromDataset views a labelled image set as Samples (the pixels are shared, the labels copied).
func FromDataset(d *data.Dataset) *Samples {
	y := make([]float32, d.N)
	for i, l := range d.Labels {
		y[i] = float32(l)
	}
	return &Samples{Name: d.Name, X: d.Pixels[:d.N*d.Dim()], Dim: d.Dim(), Y: y, YDim: 1,
		Classes: d.Classes, Rows: d.Rows, Cols: d.Cols}
}

// Slice returns samples [lo, hi) as a view.
func (s *Samples) Slice(lo, hi int) *Samples {
	if lo < 0 || hi > s.N() || lo > hi {
		panic(fmt.Sprintf("model: Samples.Slice(%d, %d) of %d samples", lo, hi, s.N()))
	}
	c := *s
	c.Name = fmt.Sprintf("%s[%d:%d]", s.Name, lo, hi)
	c.X = s.X[lo*s.Dim : hi*s.Dim : hi*s.Dim]
	if s.Y != nil {
		c.Y = s.Y[lo*s.YDim : hi*s.YDim : hi*s.YDim]
	}
	return &c
}

// Gather copies samples idx into x [len(idx), Dim] and, when y is not nil, their targets into
// y [len(idx), YDim].
func (s *Samples) Gather(idx []int, x, y []float32) {
	for j, i := range idx {
		copy(x[j*s.Dim:(j+1)*s.Dim], s.X[i*s.Dim:(i+1)*s.Dim])
		if y != nil {
			copy(y[j*s.YDim:(j+1)*s.YDim], s.Y[i*s.YDim:(i+1)*s.YDim])
		}
	}
}

// Sums holds sums over N samples of named per-sample measures: loss terms ("loss", the
// objective a module lowers, "recon", "l1", …), error indicators ("err"), counts ("L0"). Batches
// merge by adding; Mean gives the per-sample mean.
type Sums struct {
	N      int
	Names  []string
	Values []float64
}

// Set sets the sum of name, adding the name if it is new.
func (s *Sums) Set(name string, sum float64) {
	for i, n := range s.Names {
		if n == name {
			s.Values[i] = sum
			return
		}
	}
	s.Names = append(s.Names, name)
	s.Values = append(s.Values, sum)
}

// Add merges o into s.
func (s *Sums) Add(o Sums) {
	s.N += o.N
	for i, n := range o.Names {
		s.Set(n, s.sum(n)+o.Values[i])
	}
}

func (s Sums) sum(name string) float64 {
	for i, n := range s.Names {
		if n == name {
			return s.Values[i]
		}
	}
	return 0
}

// Has reports whether name is measured.
func (s Sums) Has(name string) bool {
	for _, n := range s.Names {
		if n == name {
			return true
		}
	}
	return false
}

// Mean is the per-sample mean of name (NaN when it is not measured or N is 0).
func (s Sums) Mean(name string) float64 {
	if !s.Has(name) || s.N == 0 {
		return math.NaN()
	}
	return s.sum(name) / float64(s.N)
}

// Metrics lists the means, each name prefixed by prefix (e.g. "valid_").
func (s Sums) Metrics(prefix string) []Metric {
	out := make([]Metric, len(s.Names))
	for i, n := range s.Names {
		out[i] = Metric{prefix + n, s.Mean(n)}
	}
	return out
}

// finite reports whether every sum is finite.
func (s Sums) finite() bool {
	for _, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
