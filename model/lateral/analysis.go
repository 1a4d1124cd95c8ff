package lateral

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/model"
)

// Similarity compares the decoder filters of units along a branch of the tree (one an ancestor
// of the other) with those of unrelated units (in different branches).
type Similarity struct {
	Branch, Other float64 // mean |cos| between D's columns of related and of unrelated pairs
	Ratio         float64 // Branch / Other
	Parent        float64 // mean |cos| between a unit's filter and its parent's
	Pairs         [2]int  // number of related and unrelated pairs
}

// BranchSimilarity measures the mean |cos| of the dictionary's columns over related pairs
// against unrelated pairs. It needs a tree (branch > 0).
func (l *Lateral) BranchSimilarity() (Similarity, error) {
	if l.cfg.Branch == 0 {
		return Similarity{}, fmt.Errorf("lateral: branch similarity needs a tree (branch = 0)")
	}
	hp, err := model.HostParams(l)
	if err != nil {
		return Similarity{}, err
	}
	return BranchSimilarity(l.cfg, hp["D"].Data), nil
}

// BranchSimilarity is the measure of Lateral.BranchSimilarity for a dictionary d [n,m] (row-major).
func BranchSimilarity(cfg Config, d []float32) Similarity {
	n, m := cfg.Inputs, cfg.Units
	norm := make([]float64, m)
	for i := range m {
		for k := range n {
			norm[i] += float64(d[k*m+i]) * float64(d[k*m+i])
		}
		norm[i] = math.Sqrt(norm[i])
	}
	var s Similarity
	var sum [2]float64
	for i := range m {
		for j := i + 1; j < m; j++ {
			var dot float64
			for k := range n {
				dot += float64(d[k*m+i]) * float64(d[k*m+j])
			}
			c := math.Abs(dot) / (norm[i]*norm[j] + 1e-30)
			g := 1
			if cfg.Related(i, j) {
				g = 0
			}
			sum[g] += c
			if cfg.Parent(j) == i {
				s.Parent += c
			}
			s.Pairs[g]++
		}
	}
	if s.Pairs[0] > 0 {
		s.Branch = sum[0] / float64(s.Pairs[0])
	}
	if s.Pairs[1] > 0 {
		s.Other = sum[1] / float64(s.Pairs[1])
	}
	s.Ratio = s.Branch / s.Other
	if m > 1 {
		s.Parent /= float64(m - 1)
	}
	return s
}

// Depth is the depth of unit i in the tree (the root is 0).
func (c Config) Depth(i int) int {
	d := 0
	for a := c.Parent(i); a >= 0; a = c.Parent(a) {
		d++
	}
	return d
}
