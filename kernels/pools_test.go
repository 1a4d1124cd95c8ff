package kernels

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// checkLayout verifies the invariants of a finished layout: compressed pools, the transpose
// (MemberStart, Member, PoolOf) and the Disjoint flag, all against a recount from Index.
func checkLayout(t *testing.T, l *PoolLayout) {
	t.Helper()
	np := l.NumPools()
	if len(l.Start) != np+1 || l.Start[0] != 0 || int(l.Start[np]) != len(l.Index) {
		t.Fatalf("Start %v does not span Index (%d entries)", l.Start, len(l.Index))
	}
	if len(l.Weight) != len(l.Index) {
		t.Fatalf("%d weights for %d members", len(l.Weight), len(l.Index))
	}
	for j := 0; j < np; j++ {
		if l.Start[j+1] <= l.Start[j] {
			t.Errorf("pool %d is empty or Start decreases: %v", j, l.Start)
		}
		idx, w := l.Pool(j)
		if !slices.Equal(idx, l.Index[l.Start[j]:l.Start[j+1]]) || !slices.Equal(w, l.Weight[l.Start[j]:l.Start[j+1]]) {
			t.Errorf("Pool(%d) is not its slice of Index/Weight", j)
		}
	}
	count := make([]int, l.Units)
	for _, i := range l.Index {
		if i < 0 || int(i) >= l.Units {
			t.Fatalf("index %d outside [0,%d)", i, l.Units)
		}
		count[i]++
	}
	if len(l.MemberStart) != l.Units+1 || l.MemberStart[0] != 0 || int(l.MemberStart[l.Units]) != len(l.Index) {
		t.Fatalf("MemberStart %v does not span %d members", l.MemberStart, len(l.Index))
	}
	if len(l.Member) != len(l.Index) || len(l.PoolOf) != len(l.Index) {
		t.Fatalf("Member (%d) and PoolOf (%d) want %d entries", len(l.Member), len(l.PoolOf), len(l.Index))
	}
	seen := make([]bool, len(l.Index))
	disjoint := true
	for i := 0; i < l.Units; i++ {
		ms := l.Member[l.MemberStart[i]:l.MemberStart[i+1]]
		if len(ms) != count[i] {
			t.Errorf("unit %d: %d transpose entries, in %d pools", i, len(ms), count[i])
		}
		disjoint = disjoint && count[i] <= 1
		for _, k := range ms {
			if l.Index[k] != int32(i) {
				t.Errorf("unit %d: transpose lists position %d, which holds unit %d", i, k, l.Index[k])
			}
			if seen[k] {
				t.Errorf("position %d listed twice in the transpose", k)
			}
			seen[k] = true
		}
	}
	for k := range l.Index {
		j := l.PoolOf[k]
		if j < 0 || int(j) >= np || int32(k) < l.Start[j] || int32(k) >= l.Start[j+1] {
			t.Errorf("PoolOf[%d] = %d, but position %d is not in that pool", k, j, k)
		}
	}
	if l.Disjoint != disjoint {
		t.Errorf("Disjoint = %v, want %v", l.Disjoint, disjoint)
	}
}

func TestNewPoolLayout(t *testing.T) {
	l, err := NewPoolLayout(7, [][]int{{0, 2}, {5, 2, 3}, {6}}, [][]float32{{1, 0.5}, {2, 0, 3}, {4}})
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, l)
	if l.Units != 7 || l.NumPools() != 3 {
		t.Errorf("Units %d, NumPools %d, want 7 and 3", l.Units, l.NumPools())
	}
	if idx, w := l.Pool(1); !slices.Equal(idx, []int32{5, 2, 3}) || !slices.Equal(w, []float32{2, 0, 3}) {
		t.Errorf("Pool(1) = %v, %v", idx, w)
	}
	if l.Disjoint {
		t.Error("unit 2 is in two pools, but Disjoint is true")
	}
	// Units 1 and 4 are in no pool.
	for _, i := range []int{1, 4} {
		if l.MemberStart[i] != l.MemberStart[i+1] {
			t.Errorf("unit %d is in no pool but has transpose entries", i)
		}
	}

	l, err = NewPoolLayout(4, [][]int{{3, 1}, {0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, l)
	if !slices.Equal(l.Weight, []float32{1, 1, 1}) || !l.Disjoint {
		t.Errorf("nil weights: Weight %v (want all 1), Disjoint %v (want true)", l.Weight, l.Disjoint)
	}

	// No pools at all is a valid, if empty, layout.
	l, err = NewPoolLayout(3, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, l)
	if l.NumPools() != 0 || !l.Disjoint {
		t.Errorf("empty layout: %d pools, Disjoint %v", l.NumPools(), l.Disjoint)
	}
}

func TestNewPoolLayoutErrors(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name    string
		units   int
		members [][]int
		weights [][]float32
		want    string
	}{
		{"no units", 0, [][]int{{0}}, nil, "0 units"},
		{"negative units", -3, nil, nil, "-3 units"},
		{"weight lists", 3, [][]int{{0}, {1}}, [][]float32{{1}}, "1 weight lists for 2 pools"},
		{"empty pool", 3, [][]int{{0}, {}}, nil, "pool 1 is empty"},
		{"weights per pool", 3, [][]int{{0, 1}}, [][]float32{{1}}, "2 members and 1 weights"},
		{"index negative", 3, [][]int{{-1}}, nil, "unit -1, outside [0,3)"},
		{"index too large", 3, [][]int{{0, 3}}, nil, "unit 3, outside [0,3)"},
		{"duplicate", 3, [][]int{{1, 2, 1}}, nil, "unit 1 twice"},
		{"negative weight", 3, [][]int{{0, 1}}, [][]float32{{1, -0.5}}, "weight -0.5"},
		{"NaN weight", 3, [][]int{{0}}, [][]float32{{nan}}, "weight NaN"},
		{"Inf weight", 3, [][]int{{0}}, [][]float32{{inf}}, "weight +Inf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := NewPoolLayout(c.units, c.members, c.weights)
			if err == nil {
				t.Fatalf("no error, layout %+v", l)
			}
			if !strings.HasPrefix(err.Error(), "kernels: pool layout: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want one starting %q and containing %q", err, "kernels: pool layout: ", c.want)
			}
		})
	}
}

func TestDisjointPools(t *testing.T) {
	for _, c := range []struct{ units, g int }{{12, 3}, {7, 1}, {5, 5}, {48, 4}} {
		l, err := DisjointPools(c.units, c.g)
		if err != nil {
			t.Fatalf("DisjointPools(%d, %d): %v", c.units, c.g, err)
		}
		checkLayout(t, l)
		if l.NumPools() != c.units/c.g || !l.Disjoint || l.Units != c.units {
			t.Errorf("DisjointPools(%d, %d): %d pools over %d units, Disjoint %v", c.units, c.g, l.NumPools(), l.Units, l.Disjoint)
		}
		for j := 0; j < l.NumPools(); j++ {
			idx, w := l.Pool(j)
			for k := range idx {
				if int(idx[k]) != j*c.g+k || w[k] != 1 {
					t.Errorf("DisjointPools(%d, %d): pool %d member %d is unit %d weight %v, want unit %d weight 1",
						c.units, c.g, j, k, idx[k], w[k], j*c.g+k)
				}
			}
		}
	}
	for _, c := range []struct{ units, g int }{{10, 3}, {12, 0}, {12, -3}, {0, 1}} {
		if _, err := DisjointPools(c.units, c.g); err == nil || !strings.HasPrefix(err.Error(), "kernels: ") {
			t.Errorf("DisjointPools(%d, %d): error %v, want a kernels: error", c.units, c.g, err)
		}
	}
}

func TestTorusPools(t *testing.T) {
	cases := []struct {
		h, w, k, stride int
		sigma           float64
		pools           int
		disjoint        bool
	}{
		{8, 8, 3, 1, 1, 64, false},
		{6, 10, 4, 2, 0, 15, false},
		{5, 5, 2, 2, 0, 9, false}, // ⌈5/2⌉² windows; the last ones wrap onto the first
		{6, 6, 2, 2, 0, 9, true},
		{3, 3, 3, 1, 0.5, 9, false},
		{4, 7, 1, 1, 2, 28, true},
	}
	for _, c := range cases {
		l, err := TorusPools(c.h, c.w, c.k, c.stride, c.sigma)
		if err != nil {
			t.Fatalf("TorusPools%v: %v", c, err)
		}
		checkLayout(t, l)
		if l.Units != c.h*c.w || l.NumPools() != c.pools {
			t.Errorf("TorusPools%v: %d pools over %d units, want %d over %d", c, l.NumPools(), l.Units, c.pools, c.h*c.w)
		}
		if l.Disjoint != c.disjoint {
			t.Errorf("TorusPools%v: Disjoint %v", c, l.Disjoint)
		}
		cen := float64(c.k-1) / 2
		j := 0
		for r0 := 0; r0 < c.h; r0 += c.stride {
			for c0 := 0; c0 < c.w; c0 += c.stride {
				idx, w := l.Pool(j)
				if len(idx) != c.k*c.k {
					t.Fatalf("TorusPools%v: pool %d has %d members, want %d", c, j, len(idx), c.k*c.k)
				}
				sum := 0.0
				for m := range idx {
					dy, dx := m/c.k, m%c.k
					if want := ((r0+dy)%c.h)*c.w + (c0+dx)%c.w; int(idx[m]) != want {
						t.Errorf("TorusPools%v: pool %d (corner %d,%d) member %d is unit %d, want %d", c, j, r0, c0, m, idx[m], want)
					}
					sum += float64(w[m])
					if c.sigma == 0 && w[m] != 1 {
						t.Errorf("TorusPools%v: weight %v with sigma 0, want 1", c, w[m])
					}
					if c.sigma > 0 {
						// Proportional to the Gaussian of the offset from the window's centre.
						g := gaussAt(dy, dx, cen, c.sigma)
						if got := float64(w[m]) / float64(w[0]) * gaussAt(0, 0, cen, c.sigma); math.Abs(got-g) > 1e-6*g {
							t.Errorf("TorusPools%v: weight at offset (%d,%d) is %v, not Gaussian", c, dy, dx, w[m])
						}
					}
				}
				if c.sigma > 0 && math.Abs(sum-1) > 1e-6 {
					t.Errorf("TorusPools%v: pool %d weights sum to %v, want 1", c, j, sum)
				}
				j++
			}
		}
	}
	for _, c := range [][4]int{{3, 8, 4, 1}, {8, 3, 4, 1}, {8, 8, 0, 1}, {8, 8, 3, 0}, {0, 8, 1, 1}, {8, 8, 3, -1}} {
		if _, err := TorusPools(c[0], c[1], c[2], c[3], 1); err == nil || !strings.HasPrefix(err.Error(), "kernels: ") {
			t.Errorf("TorusPools%v: error %v, want a kernels: error", c, err)
		}
	}
}

func gaussAt(dy, dx int, cen, sigma float64) float64 {
	return math.Exp(-((float64(dy)-cen)*(float64(dy)-cen) + (float64(dx)-cen)*(float64(dx)-cen)) / (2 * sigma * sigma))
}

func TestTreePools(t *testing.T) {
	parent := []int{-1, 0, 0, 1, 1, 2, -1, 6}
	l, err := TreePools(parent)
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, l)
	want := [][]int32{{0}, {1, 0}, {2, 0}, {3, 1, 0}, {4, 1, 0}, {5, 2, 0}, {6}, {7, 6}}
	if l.NumPools() != len(want) || l.Disjoint {
		t.Fatalf("%d pools, Disjoint %v; want %d pools, overlapping", l.NumPools(), l.Disjoint, len(want))
	}
	for j, m := range want {
		idx, w := l.Pool(j)
		if !slices.Equal(idx, m) || slices.ContainsFunc(w, func(v float32) bool { return v != 1 }) {
			t.Errorf("pool %d = %v weights %v, want %v (the node and its ancestors) weights 1", j, idx, w, m)
		}
	}
	if l, err := TreePools([]int{-1}); err != nil || !l.Disjoint || l.NumPools() != 1 {
		t.Errorf("a single root: %v, %v", l, err)
	}
	for _, bad := range [][]int{{1, 0}, {0}, {-1, 2, 1}, {5}, {-2}, {-1, 3}} {
		if _, err := TreePools(bad); err == nil || !strings.HasPrefix(err.Error(), "kernels: tree pools: ") {
			t.Errorf("TreePools(%v): error %v, want a kernels: tree pools: error", bad, err)
		}
	}
}
