package dict

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
)

func newDict(t *testing.T, be kernels.Backend, cfg Config, train *model.Samples, init []float32) *Dict {
	t.Helper()
	cfg.Inputs = train.Dim
	d, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Free)
	if init != nil {
		be.Upload(d.D(), init)
	} else if err := d.Init(train, 1); err != nil {
		t.Fatal(err)
	}
	return d
}

func trainDict(t *testing.T, d *Dict, tc model.TrainConfig, train *model.Samples, progress model.ProgressFunc) {
	t.Helper()
	tr, err := model.NewTrainer(d, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Free()
	tr.Progress = progress
	if err := tr.Run(context.Background(), train, nil); err != nil {
		t.Fatal(err)
	}
}

func digits(t *testing.T, from, k int, test bool) *model.Samples {
	train, tst := modeltest.MNIST(t)
	ds := train
	if test {
		ds = tst
	}
	return &model.Samples{Name: "mnist", X: modeltest.Rows(ds, from, k), Dim: ds.Dim(), Rows: 28, Cols: 28}
}

// TestMeasureCodes compares the statistics of the codes, reduced on the device, with a host
// computation from the downloaded codes.
func TestMeasureCodes(t *testing.T) {
	be := modeltest.Backend(t)
	rng := rand.New(rand.NewPCG(11, 12))
	n, m := 9, 6
	x := &model.Samples{X: modeltest.Randn(rng, 7*n, 1), Dim: n}
	cfg := DefaultConfig()
	cfg.Units, cfg.Lambda, cfg.Iterations = m, 0.3, 5
	d := newDict(t, be, cfg, x, nil)
	works := model.NewWorks(d)
	defer works.Free()
	got, err := model.MeasureCodes(d, works, x, 4) // two batch sizes, 4 and 3
	if err != nil {
		t.Fatal(err)
	}
	z, err := model.Encode(d, works, x, 4)
	if err != nil {
		t.Fatal(err)
	}
	dict := modeltest.Download(t, be, d.D())
	num := x.N()
	var sq, l1, nnz float64
	mean := make([]float64, n)
	used := make([]bool, m)
	for s := range num {
		for i := range n {
			r := float64(x.X[s*n+i])
			for j := range m {
				r -= float64(dict[i*m+j]) * float64(z[s*m+j])
			}
			sq += r * r
			mean[i] += float64(x.X[s*n+i]) / float64(num)
		}
		for j := range m {
			v := float64(z[s*m+j])
			l1 += math.Abs(v)
			if v != 0 {
				nnz++
				used[j] = true
			}
		}
	}
	var variance float64
	for s := range num {
		for i := range n {
			v := float64(x.X[s*n+i]) - mean[i]
			variance += v * v
		}
	}
	dead := 0
	for _, u := range used {
		if !u {
			dead++
		}
	}
	want := model.CodeStats{Samples: num, SquaredError: sq / float64(num), L1: l1 / float64(num),
		FVU: sq / variance, L0: nnz / float64(num), Dead: float64(dead) / float64(m)}
	want.Objective = 0.5*want.SquaredError + 0.3*want.L1
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-5*(1+math.Abs(b)) }
	if got.Samples != want.Samples || !close(got.Objective, want.Objective) || !close(got.SquaredError, want.SquaredError) ||
		!close(got.FVU, want.FVU) || !close(got.L0, want.L0) || !close(got.L1, want.L1) || got.Dead != want.Dead {
		t.Errorf("stats\n%+v\nwant\n%+v", got, want)
	}
}

// TestDictionaryLearningMNIST: a short training on real data lowers the objective, keeps every
// atom in the unit ball, and explains most of the variance of held-out digits.
func TestDictionaryLearningMNIST(t *testing.T) {
	be := modeltest.Backend(t)
	train := digits(t, 0, 2000, false)
	cfg := DefaultConfig()
	cfg.Units, cfg.Lambda, cfg.Iterations = 64, 0.5, 30
	d := newDict(t, be, cfg, train, nil)
	works := model.NewWorks(d)
	defer works.Free()
	held := digits(t, 0, 300, true)
	before, err := model.MeasureCodes(d, works, held, 128)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.Epochs = 4
	trainDict(t, d, tc, train, nil)
	after, err := model.MeasureCodes(d, works, held, 128)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out before %v, after %v", before.Metrics(), after.Metrics())
	if !(after.Objective < before.Objective) || !(after.FVU < 0.35) || !(after.L0 > 0 && after.L0 < 64) {
		t.Errorf("held-out objective %v → %v, FVU %v, L0 %v", before.Objective, after.Objective, after.FVU, after.L0)
	}
	norms := make([]float64, 64)
	for i, v := range modeltest.Download(t, be, d.D()) {
		norms[i%64] += float64(v) * float64(v)
	}
	for j, s := range norms {
		if math.Sqrt(s) > 1+1e-5 {
			t.Errorf("atom %d has norm %v > 1", j, math.Sqrt(s))
		}
	}
}

// TestDeadAtoms: an atom on the top-left pixel, which is 0 in every MNIST digit, is orthogonal to
// the data and to every other atom, so its code is always 0. It is replaced by a digit after
// DeadAfter samples, and stays dead when replacement is off.
func TestDeadAtoms(t *testing.T) {
	be := modeltest.Backend(t)
	all, _ := modeltest.MNIST(t)
	train := digits(t, 0, 512, false)
	n, m := train.Dim, 16
	for _, deadAfter := range []int{300, -1} {
		cfg := DefaultConfig()
		cfg.Units, cfg.Lambda, cfg.Iterations, cfg.DeadAfter = m, 0.5, 20, deadAfter
		init := modeltest.DigitDictionary(all, m, 3)
		for i := range n {
			init[i*m] = 0
		}
		init[0] = 1 // atom 0 = e_0
		d := newDict(t, be, cfg, train, init)
		tc := DefaultTrainConfig()
		tc.Batch, tc.Epochs = 128, 2
		trainDict(t, d, tc, train, nil)
		works := model.NewWorks(d)
		st, err := model.MeasureCodes(d, works, train, 128)
		works.Free()
		if err != nil {
			t.Fatal(err)
		}
		d00 := modeltest.Download(t, be, d.D())[0]
		if deadAfter > 0 && (d00 != 0 || st.Used[0] == 0) {
			t.Errorf("dead atom not replaced: D[0,0] = %v, used %v", d00, st.Used[0])
		}
		if deadAfter < 0 && (d00 != 1 || st.Used[0] != 0) {
			t.Errorf("replacement off: D[0,0] = %v, used %v", d00, st.Used[0])
		}
	}
}

// TestNonNegativeDictionary: with NonNegativeDict, D stays in {D ≥ 0, ‖d_j‖ ≤ 1} from
// initialization on, even for data with negative values.
func TestNonNegativeDictionary(t *testing.T) {
	be := modeltest.Backend(t)
	rng := rand.New(rand.NewPCG(15, 16))
	n, m := 20, 8
	x := &model.Samples{X: modeltest.Randn(rng, 300*n, 1), Dim: n}
	cfg := DefaultConfig()
	cfg.Units, cfg.NonNegativeDict, cfg.NonNegative, cfg.Iterations = m, true, true, 20
	d := newDict(t, be, cfg, x, nil)
	check := func(when string) {
		norms := make([]float64, m)
		for i, v := range modeltest.Download(t, be, d.D()) {
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
	tc := DefaultTrainConfig()
	tc.Batch, tc.Epochs = 50, 2
	trainDict(t, d, tc, x, nil)
	check("after training")
}

// TestDictResume: dictionary learning resumes exactly from a checkpoint, its dead-atom counters
// and warm-start vectors included.
func TestDictResume(t *testing.T) {
	be := modeltest.Backend(t)
	rng := rand.New(rand.NewPCG(17, 18))
	n := 12
	x := &model.Samples{Name: "gauss", X: modeltest.Randn(rng, 200*n, 1), Dim: n}
	tc := DefaultTrainConfig()
	tc.Batch, tc.Epochs, tc.Momentum = 40, 4, 0.5
	traintest.Resume(t, func() model.Module {
		cfg := DefaultConfig()
		cfg.Inputs, cfg.Units, cfg.Iterations, cfg.DeadAfter, cfg.Lambda = n, 10, 10, 80, 0.8
		d, err := New(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Init(x, 3); err != nil {
			t.Fatal(err)
		}
		return d
	}, tc, x, nil, 2)
}
