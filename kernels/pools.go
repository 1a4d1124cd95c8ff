package kernels

import (
	"fmt"
	"math"
)

// PoolLayout lists P pools over Units units in compressed form: pool j has the members
// Index[Start[j]:Start[j+1]] with weights Weight[Start[j]:Start[j+1]]. A unit may be in several
// pools (overlapping, topographic) or in none.
//
// Member[i] / MemberStart is the transpose (for each unit, the positions k in Index that refer to
// it), built by Finish; backends use it to compute gradients without atomics.
type PoolLayout struct {
	Units  int
	Start  []int32 // [P+1]
	Index  []int32 // unit of each (pool, member) pair
	Weight []float32

	// Transpose, built by Finish.
	MemberStart []int32 // [Units+1]
	Member      []int32 // positions into Index/Weight, grouped by unit
	PoolOf      []int32 // pool of each position in Index
	Disjoint    bool    // no unit is in two pools
}

// NumPools returns P.
func (l *PoolLayout) NumPools() int { return len(l.Start) - 1 }

// Pool returns the member units and weights of pool j.
func (l *PoolLayout) Pool(j int) ([]int32, []float32) {
	return l.Index[l.Start[j]:l.Start[j+1]], l.Weight[l.Start[j]:l.Start[j+1]]
}

// NewPoolLayout builds a layout from explicit member lists. weights may be nil (all 1) or
// parallel to members. It returns an error for an index outside [0, units), a negative weight,
// a unit listed twice in one pool, or an empty pool.
func NewPoolLayout(units int, members [][]int, weights [][]float32) (*PoolLayout, error) {
	if units <= 0 {
		return nil, fmt.Errorf("kernels: pool layout: %d units, want > 0", units)
	}
	if weights != nil && len(weights) != len(members) {
		return nil, fmt.Errorf("kernels: pool layout: %d weight lists for %d pools", len(weights), len(members))
	}
	l := &PoolLayout{Units: units, Start: make([]int32, 1, len(members)+1)}
	for j, m := range members {
		if len(m) == 0 {
			return nil, fmt.Errorf("kernels: pool layout: pool %d is empty", j)
		}
		if weights != nil && len(weights[j]) != len(m) {
			return nil, fmt.Errorf("kernels: pool layout: pool %d has %d members and %d weights", j, len(m), len(weights[j]))
		}
		seen := make(map[int]bool, len(m))
		for k, i := range m {
			if i < 0 || i >= units {
				return nil, fmt.Errorf("kernels: pool layout: pool %d lists unit %d, outside [0,%d)", j, i, units)
			}
			if seen[i] {
				return nil, fmt.Errorf("kernels: pool layout: pool %d lists unit %d twice", j, i)
			}
			seen[i] = true
			w := float32(1)
			if weights != nil {
				w = weights[j][k]
			}
			if !(w >= 0) || math.IsInf(float64(w), 0) {
				return nil, fmt.Errorf("kernels: pool layout: pool %d, unit %d has weight %v, want finite ≥ 0", j, i, w)
			}
			l.Index = append(l.Index, int32(i))
			l.Weight = append(l.Weight, w)
		}
		l.Start = append(l.Start, int32(len(l.Index)))
	}
	l.finish()
	return l, nil
}

// finish builds the transpose and the Disjoint flag.
func (l *PoolLayout) finish() {
	count := make([]int32, l.Units+1)
	for _, i := range l.Index {
		count[i+1]++
	}
	l.Disjoint = true
	for i := 1; i <= l.Units; i++ {
		if count[i] > 1 {
			l.Disjoint = false
		}
		count[i] += count[i-1]
	}
	l.MemberStart = append([]int32(nil), count...)
	l.Member = make([]int32, len(l.Index))
	l.PoolOf = make([]int32, len(l.Index))
	next := append([]int32(nil), count[:l.Units]...)
	for j := 0; j < l.NumPools(); j++ {
		for k := l.Start[j]; k < l.Start[j+1]; k++ {
			i := l.Index[k]
			l.Member[next[i]] = k
			next[i]++
			l.PoolOf[k] = int32(j)
		}
	}
}

// DisjointPools puts units into consecutive groups of size g: pool j = {j·g, …, j·g+g−1}.
// units must be a multiple of g.
func DisjointPools(units, g int) (*PoolLayout, error) {
	if g <= 0 || units%g != 0 {
		return nil, fmt.Errorf("kernels: disjoint pools: %d units do not split into groups of %d", units, g)
	}
	members := make([][]int, units/g)
	for j := range members {
		for k := 0; k < g; k++ {
			members[j] = append(members[j], j*g+k)
		}
	}
	return NewPoolLayout(units, members, nil)
}

// TorusPools lays the units out row-major on an h×w toroidal map and makes one pool per window
// k×k whose top-left corner steps by stride over the map (wrapping at the edges), so there are
// ⌈h/stride⌉·⌈w/stride⌉ pools. With sigma > 0 the weights are the Gaussian
// exp(−(dy²+dx²)/(2σ²)) of the offset from the window's centre, normalized to sum 1 per pool
// (as in Kavukcuoglu et al. 2009); with sigma = 0 every weight is 1. When stride does not divide
// the map, the last windows wrap onto the first rows and columns, so those units are in more pools.
func TorusPools(h, w, k, stride int, sigma float64) (*PoolLayout, error) {
	if h <= 0 || w <= 0 || k <= 0 || k > h || k > w || stride <= 0 {
		return nil, fmt.Errorf("kernels: torus pools: map %d×%d, window %d, stride %d: want window ≤ map and positive sizes", h, w, k, stride)
	}
	var members [][]int
	var weights [][]float32
	c := float64(k-1) / 2
	for r0 := 0; r0 < h; r0 += stride {
		for c0 := 0; c0 < w; c0 += stride {
			var m []int
			var ws []float32
			sum := 0.0
			var raw []float64
			for dy := 0; dy < k; dy++ {
				for dx := 0; dx < k; dx++ {
					m = append(m, ((r0+dy)%h)*w+(c0+dx)%w)
					v := 1.0
					if sigma > 0 {
						v = math.Exp(-((float64(dy)-c)*(float64(dy)-c) + (float64(dx)-c)*(float64(dx)-c)) / (2 * sigma * sigma))
					}
					raw = append(raw, v)
					sum += v
				}
			}
			for _, v := range raw {
				if sigma > 0 {
					v /= sum
				}
				ws = append(ws, float32(v))
			}
			members = append(members, m)
			weights = append(weights, ws)
		}
	}
	return NewPoolLayout(h*w, members, weights)
}

// TreePools makes one pool per node of a tree: the node and all its ancestors. parent[i] is the
// parent of unit i, or −1 for a root. It returns an error on a cycle.
func TreePools(parent []int) (*PoolLayout, error) {
	n := len(parent)
	members := make([][]int, n)
	for i := range parent {
		for u, steps := i, 0; u >= 0; u, steps = parent[u], steps+1 {
			if steps > n {
				return nil, fmt.Errorf("kernels: tree pools: unit %d is on a cycle", i)
			}
			if parent[u] >= n || parent[u] < -1 {
				return nil, fmt.Errorf("kernels: tree pools: parent of %d is %d, outside [-1,%d)", u, parent[u], n)
			}
			members[i] = append(members[i], u)
		}
	}
	return NewPoolLayout(n, members, nil)
}
