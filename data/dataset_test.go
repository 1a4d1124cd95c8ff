package data

import (
	"math"
	"slices"
	"testing"
)

// toyDataset has n 2×3 samples; sample i's pixels are all float32(i) and its label i%classes.
func toyDataset(n, classes int) *Dataset {
	d := &Dataset{Name: "toy", N: n, Rows: 2, Cols: 3, Classes: classes,
		Pixels: make([]float32, n*6), Labels: make([]uint8, n)}
	for i := range n {
		for j := range 6 {
			d.Pixels[i*6+j] = float32(i)
		}
		d.Labels[i] = uint8(i % classes)
	}
	return d
}

func TestSplitSubsetBatch(t *testing.T) {
	d := toyDataset(10, 3)
	a, b := d.Split(7)
	if a.N != 7 || b.N != 3 || len(a.Pixels) != 42 || len(b.Pixels) != 18 || len(a.Labels) != 7 || len(b.Labels) != 3 {
		t.Fatalf("Split(7): %d (%d px) + %d (%d px)", a.N, len(a.Pixels), b.N, len(b.Pixels))
	}
	if b.Sample(0)[0] != 7 || b.Labels[0] != 1 || a.Rows != 2 || b.Cols != 3 || b.Classes != 3 {
		t.Errorf("Split(7): rest starts with %v label %d", b.Sample(0)[0], b.Labels[0])
	}
	// Views: writing through one shows in the original; appending to the first does not.
	b.Pixels[0] = -1
	a.Pixels = append(a.Pixels, 99)
	if d.Pixels[42] != -1 {
		t.Errorf("Split: rest is not a view (or append wrote into it): %v", d.Pixels[42])
	}

	s := d.Subset([]int{9, 0, 9})
	if s.N != 3 || s.Sample(0)[5] != 9 || s.Sample(1)[0] != 0 || s.Labels[2] != 0 || s.Labels[0] != 0 {
		t.Errorf("Subset: %v %v", s.Pixels, s.Labels)
	}
	s.Pixels[0] = 123
	if d.Pixels[54] == 123 {
		t.Error("Subset shares memory")
	}

	dst := make([]float32, 2*6)
	lab := make([]float32, 2)
	d.Batch([]int{3, 5}, dst, lab)
	if dst[0] != 3 || dst[11] != 5 || lab[0] != 0 || lab[1] != 2 {
		t.Errorf("Batch: %v %v", dst, lab)
	}
	d.Batch([]int{4}, dst[:6], nil)

	mustPanic(t, "Batch short dst", func() { d.Batch([]int{1, 2}, dst[:6], nil) })
	mustPanic(t, "Batch short labels", func() { d.Batch([]int{1, 2}, dst, lab[:1]) })
	mustPanic(t, "Batch index", func() { d.Batch([]int{10}, dst[:6], nil) })
	mustPanic(t, "Split", func() { d.Split(11) })
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}

func TestShufflePermutation(t *testing.T) {
	p1, p2, p3 := Permutation(1000, 7), Permutation(1000, 7), Permutation(1000, 8)
	if !slices.Equal(p1, p2) {
		t.Error("Permutation is not deterministic for a seed")
	}
	if slices.Equal(p1, p3) {
		t.Error("seeds 7 and 8 give the same permutation")
	}
	sorted := slices.Clone(p1)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != i {
			t.Fatalf("Permutation is not a permutation: sorted[%d] = %d", i, v)
		}
	}
	if fixed := countFixed(p1); fixed > 10 {
		t.Errorf("Permutation(1000) leaves %d points fixed; expected about 1", fixed)
	}

	d := toyDataset(50, 7)
	d.Shuffle(3)
	seen := make([]bool, 50)
	for i := range d.N {
		v := int(d.Sample(i)[0])
		if d.Sample(i)[5] != float32(v) || int(d.Labels[i]) != v%7 || seen[v] {
			t.Fatalf("Shuffle broke sample %d: pixel %v label %d", i, d.Sample(i)[0], d.Labels[i])
		}
		seen[v] = true
	}
	if int(d.Sample(0)[0]) != Permutation(50, 3)[0] {
		t.Error("Shuffle(seed) does not follow Permutation(N, seed)")
	}
}

func countFixed(p []int) int {
	n := 0
	for i, v := range p {
		if i == v {
			n++
		}
	}
	return n
}

func TestNormalizeL2(t *testing.T) {
	d := toyDataset(4, 2) // sample 0 is all zeros
	d.Pixels[7] = -3
	d.NormalizeL2()
	for i := range d.N {
		var s float64
		for _, v := range d.Sample(i) {
			s += float64(v) * float64(v)
		}
		want := 1.0
		if i == 0 {
			want = 0
		}
		if math.Abs(s-want) > 1e-6 {
			t.Errorf("sample %d: squared norm %v, want %v", i, s, want)
		}
	}
	// The floor: rows with norm below it are divided by the floor instead.
	x := []float32{0.3, 0.4, 3, 4}
	NormalizeRows(x, 2, 1)
	if !close32(x, []float32{0.3, 0.4, 0.6, 0.8}, 1e-6) {
		t.Errorf("NormalizeRows with floor 1: %v", x)
	}
}

func TestStandardizer(t *testing.T) {
	// Feature 0 varies, feature 1 is constant (like MNIST's border pixels).
	x := []float32{1, 5, 2, 5, 3, 5, 6, 5}
	s := FitStandardizer(x, 2, 0)
	if s.Mean[0] != 3 || s.Mean[1] != 5 || math.Abs(float64(s.Std[0])-math.Sqrt(3.5)) > 1e-6 || s.Std[1] != 1 {
		t.Fatalf("FitStandardizer: mean %v std %v", s.Mean, s.Std)
	}
	s.Apply(x)
	var m, v float64
	for i := 0; i < 8; i += 2 {
		m += float64(x[i])
		v += float64(x[i]) * float64(x[i])
		if x[i+1] != 0 {
			t.Errorf("constant feature standardized to %v", x[i+1])
		}
	}
	if math.Abs(m/4) > 1e-6 || math.Abs(v/4-1) > 1e-6 {
		t.Errorf("standardized feature: mean %v, variance %v", m/4, v/4)
	}
	s = FitStandardizer([]float32{0, 0, 0, 0}, 2, 0.01)
	if math.Abs(float64(s.Std[0])-0.1) > 1e-7 {
		t.Errorf("eps: Std %v, want √0.01", s.Std)
	}
}

func close32(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}
