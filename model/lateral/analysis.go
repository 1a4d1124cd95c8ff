package lateral

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/model"
)

// Similarity compares the decoder filters of pairs of units that S leaves free to be on together
// (along a branch of the tree: one an ancestor of the other; or a pruned pair) with those of
// pairs that inhibit each other (in different branches; or not pruned).
type Similarity struct {
	Branch, Other float64 // mean |cos| between D's columns of free and of inhibiting pairs
	Ratio         float64 // Branch / Other
	Parent        float64 // mean |cos| between a unit's filter and its parent's (a tree only)
	Pairs         [2]int  // number of free and inhibiting pairs
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
	return pairSimilarity(cfg, d, func(i, j int) int {
		if cfg.Related(i, j) {
			return 0
		}
		return 1
	})
}

// PrunedSimilarity is the measure for a pruned S [m,m] (row-major): the pairs the tree allows
// whose entry of S is zero (pruned) against those whose entry is not; related pairs are left out.
func PrunedSimilarity(cfg Config, d, s []float32) Similarity {
	m := cfg.Units
	return pairSimilarity(cfg, d, func(i, j int) int {
		switch {
		case cfg.Related(i, j):
			return -1
		case s[i*m+j] == 0:
			return 0
		}
		return 1
	})
}

// pairSimilarity measures the mean |cos| of d's columns over the pairs i < j of group(i, j) 0
// (free) against those of group 1 (inhibiting), leaving out group −1.
func pairSimilarity(cfg Config, d []float32, group func(i, j int) int) Similarity {
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
			if cfg.Parent(j) == i {
				s.Parent += c
			}
			if g := group(i, j); g >= 0 {
				sum[g] += c
				s.Pairs[g]++
			}
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
