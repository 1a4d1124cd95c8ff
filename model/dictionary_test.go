package model

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCodeMeter compares the device-side statistics with a host computation.
func TestCodeMeter(t *testing.T) {
	be := newTestBackend(t)
	rng := rand.New(rand.NewPCG(11, 12))
	n, m := 9, 6
	d := randn(rng, n*m, 0.5)
	dt := upload(t, be, d, n, m)
	mt, err := newCodeMeter(be, n, m, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Free()
	var xs, zs []float32
	for _, b := range []int{4, 3} { // two batch sizes
		x := randn(rng, b*n, 1)
		z := randn(rng, b*m, 1)
		for i := range z {
			if i%m == 2 || rng.Float64() < 0.4 {
				z[i] = 0 // atom 2 is dead
			}
		}
		if err := mt.Add(dt, upload(t, be, x, b, n), upload(t, be, z, b, m)); err != nil {
			t.Fatal(err)
		}
		xs, zs = append(xs, x...), append(zs, z...)
	}
	got := mt.Stats()
	num := len(xs) / n
	var sq, l1, nnz float64
	mean := make([]float64, n)
	used := make([]bool, m)
	for s := 0; s < num; s++ {
		for i := 0; i < n; i++ {
			r := float64(xs[s*n+i])
			for j := 0; j < m; j++ {
				r -= float64(d[i*m+j]) * float64(zs[s*m+j])
			}
			sq += r * r
			mean[i] += float64(xs[s*n+i]) / float64(num)
		}
		for j := 0; j < m; j++ {
			v := float64(zs[s*m+j])
			l1 += math.Abs(v)
			if v != 0 {
				nnz++
				used[j] = true
			}
		}
	}
	var variance float64
	for s := 0; s < num; s++ {
		for i := 0; i < n; i++ {
			v := float64(xs[s*n+i]) - mean[i]
			variance += v * v
		}
	}
	dead := 0
	for _, u := range used {
		if !u {
			dead++
		}
	}
	want := CodeStats{Samples: num, SquaredError: sq / float64(num), L1: l1 / float64(num),
		FVU: sq / variance, L0: nnz / float64(num), Dead: float64(dead) / float64(m)}
	want.Objective = 0.5*want.SquaredError + 0.3*want.L1
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-5*(1+math.Abs(b)) }
	if got.Samples != want.Samples || !close(got.Objective, want.Objective) || !close(got.SquaredError, want.SquaredError) ||
		!close(got.FVU, want.FVU) || !close(got.L0, want.L0) || !close(got.L1, want.L1) || got.Dead != want.Dead {
		t.Errorf("stats\n%+v\nwant\n%+v", got, want)
	}
}

// TestDictionaryLearningMNIST: a short training on real data lowers the objective, keeps every
// atom in the unit ball, and explains most of the variance.
func TestDictionaryLearningMNIST(t *testing.T) {
	train, test := mnistSets(t)
	be := newTestBackend(t)
	x := rows(train, 0, 2000)
	cfg := DefaultDictConfig(train.Dim(), 64)
	cfg.Lambda, cfg.Epochs, cfg.Iterations = 0.5, 4, 30
	d, err := NewDictionary(be, cfg, x)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	var reports, ends int
	hist, err := d.Train(x, func(p Progress) {
		reports++
		if p.EndOfEpoch {
			ends++
			if _, ok := p.Metric("fvu"); !ok {
				t.Errorf("epoch report without fvu: %v", p)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if ends != cfg.Epochs || reports != cfg.Epochs*(2000/256+1) {
		t.Errorf("%d reports, %d at epoch ends", reports, ends)
	}
	first, last := hist[0], hist[len(hist)-1]
	t.Logf("epoch 1: %+v", first.Metrics())
	t.Logf("epoch %d: %+v", len(hist), last.Metrics())
	if !(last.Objective < first.Objective) {
		t.Errorf("objective did not fall: %v → %v", first.Objective, last.Objective)
	}
	if !(last.FVU < 0.3) || !(last.L0 > 0 && last.L0 < 64) {
		t.Errorf("last epoch: FVU %v, L0 %v", last.FVU, last.L0)
	}
	norms := make([]float64, 64)
	host, _ := d.Host()
	for i, v := range host {
		norms[i%64] += float64(v) * float64(v)
	}
	for j, s := range norms {
		if math.Sqrt(s) > 1+1e-5 {
			t.Errorf("atom %d has norm %v > 1", j, math.Sqrt(s))
		}
	}
	// Held-out statistics through Encode.
	_, st, err := d.Encode(rows(test, 0, 300), 128)
	if err != nil {
		t.Fatal(err)
	}
	if st.Samples != 300 || !(st.FVU < 0.35) {
		t.Errorf("held-out stats %+v", st)
	}
}

// TestDeadAtoms: an atom on the top-left pixel, which is 0 in every MNIST digit, is orthogonal to
// the data and to every other atom, so its code is always 0. It is replaced by a digit after
// DeadAfter samples, and stays dead when replacement is off.
func TestDeadAtoms(t *testing.T) {
	train, _ := mnistSets(t)
	be := newTestBackend(t)
	x := rows(train, 0, 512)
	n, m := train.Dim(), 16
	for _, deadAfter := range []int{300, -1} {
		cfg := DefaultDictConfig(n, m)
		cfg.Lambda, cfg.Epochs, cfg.Batch, cfg.Iterations, cfg.DeadAfter = 0.5, 2, 128, 20, deadAfter
		init := digitDictionary(train, m, 3)
		for i := 0; i < n; i++ {
			init[i*m] = 0
		}
		init[0] = 1 // atom 0 = e_0
		d, err := NewDictionaryFrom(be, cfg, init)
		if err != nil {
			t.Fatal(err)
		}
		var replaced float64
		hist, err := d.Train(x, func(p Progress) {
			if v, ok := p.Metric("replaced"); ok {
				replaced += v
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		host, _ := d.Host()
		last := hist[len(hist)-1]
		if deadAfter > 0 {
			if replaced != 1 || host[0] != 0 || last.Used[0] == 0 {
				t.Errorf("dead atom not replaced: replaced %v, D[0,0] = %v, used %v", replaced, host[0], last.Used[0])
			}
		} else if replaced != 0 || host[0] != 1 || last.Used[0] != 0 || last.Dead != 1.0/float64(m) {
			t.Errorf("replacement off: replaced %v, D[0,0] = %v, used %v, dead %v", replaced, host[0], last.Used[0], last.Dead)
		}
		d.Free()
	}
}

func TestDictionarySaveLoad(t *testing.T) {
	be := newTestBackend(t)
	rng := rand.New(rand.NewPCG(13, 14))
	cfg := DefaultDictConfig(8, 3)
	x := randn(rng, 20*8, 1)
	d, err := NewDictionary(be, cfg, x)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dict.safetensors")
	if err := d.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dict.json")); err != nil {
		t.Fatal(err)
	}
	d2, err := LoadDictionary(be, path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.Host()
	b, _ := d2.Host()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("D[%d] = %v after load, want %v", i, b[i], a[i])
		}
	}
	if d2.Config.Lipschitz <= 0 || d2.Config.Atoms != 3 {
		t.Errorf("config %+v", d2.Config)
	}
	// A truncated tensor file: one error naming the file.
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)-4], 0o644)
	if _, err := LoadDictionary(be, path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated: %v", err)
	}
	// A missing config.
	os.Remove(filepath.Join(dir, "dict.json"))
	if _, err := LoadDictionary(be, path); err == nil || !strings.Contains(err.Error(), "dict.json") {
		t.Errorf("missing config: %v", err)
	}
	// Bad hyper-parameters are refused.
	bad := cfg
	bad.LearningRate = 0
	if _, err := NewDictionary(be, bad, x); err == nil || !strings.Contains(err.Error(), "learning rate") {
		t.Errorf("bad config: %v", err)
	}
}

// TestNonNegativeDictionary: with NonNegativeDict, D stays in {D ≥ 0, ‖d_j‖ ≤ 1} from
// initialization on, even for data with negative values.
func TestNonNegativeDictionary(t *testing.T) {
	be := newTestBackend(t)
	rng := rand.New(rand.NewPCG(15, 16))
	n, m := 20, 8
	x := randn(rng, 300*n, 1)
	cfg := DefaultDictConfig(n, m)
	cfg.NonNegativeDict, cfg.NonNegative, cfg.Epochs, cfg.Batch, cfg.Iterations = true, true, 2, 50, 20
	d, err := NewDictionary(be, cfg, x)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	check := func(when string) {
		host, _ := d.Host()
		norms := make([]float64, m)
		for i, v := range host {
			if v < 0 {
				t.Fatalf("%s: D[%d] = %v < 0", when, i, v)
			}
			norms[i%m] += float64(v) * float64(v)
		}
		for j, s := range norms {
			if math.Sqrt(s) > 1+1e-5 {
				t.Fatalf("%s: atom %d has norm %v", when, j, math.Sqrt(s))
			}
		}
	}
	check("initialization")
	if _, err := d.Train(x, nil); err != nil {
		t.Fatal(err)
	}
	check("after training")
}
