package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drsae/drsae/kernels"
)

// panicMessage runs f and returns what it panicked with ("" if it did not).
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
			if msg == "" {
				msg = "non-string panic"
			}
		}
	}()
	f()
	return ""
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	msg := panicMessage(f)
	if !strings.HasPrefix(msg, "kernels: ") || !strings.Contains(msg, want) {
		t.Errorf("panic %q, want a kernels: message containing %q", msg, want)
	}
}

func upload(t *testing.T, be *Backend, v []float32, shape ...int) kernels.Tensor {
	t.Helper()
	x, err := be.New(shape...)
	if err != nil {
		t.Fatal(err)
	}
	be.Upload(x, v)
	return x
}

func download(be *Backend, x kernels.Tensor) []float32 {
	v := make([]float32, x.Len())
	be.Download(v, x)
	return v
}

func TestInfo(t *testing.T) {
	be := New()
	info := be.Info()
	if info.Name != "cpu" || info.Threads < 1 || info.MaxBytes <= 0 || info.Version == "" ||
		!strings.Contains(info.Device, "threads") || info.Extra["gemm"] == "" || info.Extra["features"] == "" {
		t.Errorf("incomplete info %+v", info)
	}
	t.Logf("%s, %s, gemm kernel %s, features %s", info.Device, info.Version, info.Extra["gemm"], info.Extra["features"])
}

func TestParallelForCoversOnce(t *testing.T) {
	for _, spin := range []bool{false, true} {
		for _, threads := range []int{1, 2, 3, 8} {
			if err := parallelForCoverage(&Backend{threads: threads, spin: spin}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// parallelForCoverage runs parallelFor over a ladder of sizes and work and reports the first
// index not visited exactly once.
func parallelForCoverage(be *Backend) error {
	for _, n := range []int{0, 1, 2, 5, 7, 100, 1001} {
		for _, work := range []int{0, parallelWork, 100 * parallelWork} {
			hits := make([]int32, n)
			be.parallelFor(n, work, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					return fmt.Errorf("threads=%d spin=%v n=%d work=%d: index %d visited %d times", be.threads, be.spin, n, work, i, h)
				}
			}
		}
	}
	return nil
}

// TestParallelForHelpers checks the spinning helpers where several goroutines call parallelFor
// at once (one holds the helpers, the others start goroutines), after the helpers have parked,
// and after a panic in the caller's range, which must leave no helper running its fn.
func TestParallelForHelpers(t *testing.T) {
	be := &Backend{threads: 4, spin: true}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := parallelForCoverage(be); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(2 * spinFor) // the helpers park
	if err := parallelForCoverage(be); err != nil {
		t.Fatal(err)
	}

	var after atomic.Int32
	func() {
		defer func() { _ = recover() }()
		be.parallelFor(4, 100*parallelWork, func(lo, hi int) {
			if lo == 0 {
				panic("range 0")
			}
			time.Sleep(time.Millisecond)
			after.Add(1)
		})
	}()
	if got := after.Load(); got != 3 {
		t.Fatalf("after the panic, %d of 3 other ranges had finished", got)
	}
	if err := parallelForCoverage(be); err != nil {
		t.Fatal(err)
	}
}

// TestHelperLateToken wakes a parked helper the way a poster descheduled between moving posted
// and taking parked back does: with a token for a range the helper has already run. The helper
// must park again (it used to call the cleared fn and crash the process), then run the next
// range.
func TestHelperLateToken(t *testing.T) {
	h := &helper{wake: make(chan struct{}, 1)}
	go h.run()
	var ran atomic.Int32
	h.post(func(lo, hi int) { ran.Add(int32(hi - lo)) }, 0, 1)
	h.wait()
	for !h.parked.Load() { // spinFor, then it parks
		time.Sleep(spinFor)
	}
	if !h.parked.CompareAndSwap(true, false) {
		t.Fatal("the parked helper was taken back by another poster")
	}
	h.wake <- struct{}{} // the late token: posted has not moved
	for !h.parked.Load() {
		time.Sleep(spinFor)
	}
	h.post(func(lo, hi int) { ran.Add(int32(hi - lo)) }, 0, 2)
	h.wait()
	if got := ran.Load(); got != 3 {
		t.Fatalf("the helper ran %d of 3 indices", got)
	}
}

// TestHelperTakenBack: a range posted to a helper that has not begun it (here: not started at
// all, as a helper the OS has descheduled) is run by the poster's finish, once; the helper,
// started afterwards, skips it and runs the next range posted to it; a range the helper has
// begun is waited for, not run again.
func TestHelperTakenBack(t *testing.T) {
	h := &helper{wake: make(chan struct{}, 1)}
	var ran [3]atomic.Int32
	count := func(i int) func(lo, hi int) { return func(lo, hi int) { ran[i].Add(int32(hi - lo)) } }
	h.post(count(0), 0, 1)
	h.finish() // no helper runs: the poster takes the range back
	if got := ran[0].Load(); got != 1 || h.done.Load() != 1 {
		t.Fatalf("taken back: ran %d times, done %d", got, h.done.Load())
	}
	go h.run()
	started, release := make(chan struct{}), make(chan struct{})
	h.post(func(lo, hi int) { close(started); <-release; ran[1].Add(int32(hi - lo)) }, 0, 2)
	<-started // the helper has begun the second range: finish must wait for it
	go func() { time.Sleep(2 * time.Millisecond); close(release) }()
	h.finish()
	h.post(count(2), 0, 3)
	h.wait()
	if a, b, c := ran[0].Load(), ran[1].Load(), ran[2].Load(); a != 1 || b != 2 || c != 3 {
		t.Fatalf("ranges ran %d, %d, %d indices; want 1, 2, 3", a, b, c)
	}
}

func TestMemoryMisuse(t *testing.T) {
	be := New()
	x, _ := be.New(2, 3)
	v := be.Reshape(x, 6)
	be.Upload(v, []float32{1, 2, 3, 4, 5, 6})
	if got := download(be, x); !slices.Equal(got, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("a view does not share storage: %v", got)
	}
	mustPanic(t, "Upload: host slice has 5 values", func() { be.Upload(x, make([]float32, 5)) })
	mustPanic(t, "Reshape", func() { be.Reshape(x, 4) })
	mustPanic(t, "Free: tensor [6] is a view", func() { be.Free(v) })
	mustPanic(t, "New: negative dimension", func() { be.New(2, -1) })
	be.Free(x)
	mustPanic(t, "Fill: use of a freed tensor", func() { be.Fill(x, 1) })
	mustPanic(t, "Fill: use of a freed tensor", func() { be.Fill(v, 1) })
	mustPanic(t, "Free: use of a freed tensor", func() { be.Free(x) })
	mustPanic(t, "Download: use of a freed tensor", func() { be.Download(make([]float32, 6), x) })
	y, _ := be.New(2, 2)
	mustPanic(t, "Gemm: output [2 2] shares storage", func() { be.Gemm(false, false, 1, y, y, 0, y) })
	if _, err := be.New(int(be.maxBytes/4)+1, 1); err == nil {
		t.Error("New larger than memory: no error")
	}
	p, _ := kernels.DisjointPools(4, 2)
	pools, _ := be.NewPools(p)
	be.FreePools(pools)
	z, _ := be.New(1, 4)
	n, _ := be.New(1, 2)
	mustPanic(t, "PoolNorms: use of freed pools", func() { be.PoolNorms(n, z, pools, 0) })
}

// TestGemmOpNaN checks the op itself (small and blocked paths): β = 0 overwrites a C full of
// NaN, α = 0 with β = 1 leaves C alone.
func TestGemmOpNaN(t *testing.T) {
	be := New()
	for _, size := range []int{3, 40} {
		r := rand.New(rand.NewPCG(3, 4))
		a := upload(t, be, randSlice(r, size*size), size, size)
		b := upload(t, be, randSlice(r, size*size), size, size)
		nan := make([]float32, size*size)
		for i := range nan {
			nan[i] = float32(math.NaN())
		}
		c := upload(t, be, nan, size, size)
		be.Gemm(true, false, 1, a, b, 0, c)
		for i, v := range download(be, c) {
			if math.IsNaN(float64(v)) {
				t.Fatalf("size %d: C[%d] is NaN after β = 0", size, i)
			}
		}
		be.Upload(c, nan)
		be.Gemm(false, true, 0, a, b, 0, c)
		for i, v := range download(be, c) {
			if v != 0 {
				t.Fatalf("size %d: α = β = 0 gives C[%d] = %v, want 0", size, i, v)
			}
		}
	}
}

// TestThreadsDoNotChangeResults runs ops that split sums across goroutines with 1 and 3 threads
// and wants the same bits.
func TestThreadsDoNotChangeResults(t *testing.T) {
	run := func(threads int) [][]float32 {
		be := New()
		be.threads = threads
		r := rand.New(rand.NewPCG(5, 6))
		var outs [][]float32
		a := upload(t, be, randSlice(r, 300*257), 300, 257)
		b := upload(t, be, randSlice(r, 257*190), 257, 190)
		c := upload(t, be, randSlice(r, 300*190), 300, 190)
		be.Gemm(false, false, 0.5, a, b, 2, c)
		outs = append(outs, download(be, c))

		theta := upload(t, be, randSlice(r, 257), 257)
		dx, _ := be.New(300, 257)
		dtheta, _ := be.New(257)
		be.SoftShrinkBackward(dx, dtheta, a, a, theta)
		outs = append(outs, download(be, dx), download(be, dtheta))

		norms, _ := be.New(257)
		be.Norms(norms, a, kernels.PerCol)
		outs = append(outs, download(be, norms))

		x := upload(t, be, randSlice(r, 4*3*20*20), 4, 3, 20, 20)
		g := kernels.Conv2D{StrideH: 1, StrideW: 2, PadH: 1, PadW: 2}
		w := upload(t, be, randSlice(r, 5*3*4*3), 5, 3, 4, 3)
		ho, wo := g.OutSize(20, 20, 4, 3)
		y, _ := be.New(4, 5, ho, wo)
		be.Conv2DForward(y, x, w, g)
		dw, _ := be.New(5, 3, 4, 3)
		be.Conv2DBackwardFilter(dw, x, y, g)
		dxc, _ := be.New(4, 3, 20, 20)
		be.Conv2DBackwardData(dxc, y, w, g)
		outs = append(outs, download(be, y), download(be, dw), download(be, dxc))

		// 140 digits, 9×9 filters: 18 chunks of images, shared among the threads when there
		// are 3; the filter gradient's in 16 groups.
		x = upload(t, be, randSlice(r, 140*28*28), 140, 1, 28, 28)
		w = upload(t, be, randSlice(r, 3*9*9), 3, 1, 9, 9)
		y, _ = be.New(140, 3, 20, 20)
		g = kernels.Conv2D{StrideH: 1, StrideW: 1}
		be.Conv2DForward(y, x, w, g)
		dxc, _ = be.New(140, 1, 28, 28)
		be.Conv2DBackwardData(dxc, y, w, g)
		be.Conv2DBackwardFilter(w, x, y, g)
		outs = append(outs, download(be, y), download(be, dxc), download(be, w))
		return outs
	}
	one, three := run(1), run(3)
	for i := range one {
		for j := range one[i] {
			if math.Float32bits(one[i][j]) != math.Float32bits(three[i][j]) {
				t.Fatalf("output %d [%d]: %v with 1 thread, %v with 3", i, j, one[i][j], three[i][j])
			}
		}
	}
}

// TestInPlaceWhereAllowed runs SoftmaxXent with grad = logits and loss = labels, and wants the
// result it gives apart.
func TestInPlaceWhereAllowed(t *testing.T) {
	be := New()
	logits := randSlice(rand.New(rand.NewPCG(9, 10)), 5*4)
	labels := []float32{0, 3, 1, 2, 7}
	run := func(inPlace bool) []float32 {
		z := upload(t, be, logits, 5, 4)
		y := upload(t, be, labels, 5)
		grad, loss := z, y
		if !inPlace {
			grad, loss = must(be.New(5, 4)), must(be.New(5))
		}
		be.SoftmaxXent(loss, grad, z, y)
		return append(download(be, grad), download(be, loss)...)
	}
	want, got := run(false), run(true)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Errorf("[%d] = %v in place, %v apart", i, got[i], want[i])
		}
	}
}

// TestAliasPanics checks that ops the contract forbids to work in place refuse to.
func TestAliasPanics(t *testing.T) {
	be := New()
	x := must(be.New(2, 4))
	theta := must(be.New(4))
	l, _ := kernels.DisjointPools(4, 2)
	p, _ := be.NewPools(l)
	norms := must(be.New(2, 2))
	mustPanic(t, "SoftShrinkBackward: output [2 4] shares storage", func() { be.SoftShrinkBackward(x, nil, x, must(be.New(2, 4)), theta) })
	mustPanic(t, "PosShrinkBackward: output [4] shares storage", func() { be.PosShrinkBackward(must(be.New(2, 4)), theta, x, x, theta) })
	mustPanic(t, "BlockSoftThreshold: output [2 4] shares storage", func() { be.BlockSoftThreshold(x, x, p, 0.1) })
	mustPanic(t, "PoolNormsBackward: output [2 4] shares storage", func() { be.PoolNormsBackward(x, norms, x, norms, p) })
	mustPanic(t, "NormalizeRows: output [2 4] shares storage", func() { be.NormalizeRows(x, must(be.New(2)), x, 0) })
	mustPanic(t, "Conv2DForward: output", func() {
		y := must(be.New(1, 1, 2, 4))
		be.Conv2DForward(y, y, must(be.New(1, 1, 1, 1)), kernels.Conv2D{StrideH: 1, StrideW: 1})
	})
}

// Tensors past DRSAE_MAX_MEMORY in all are refused by New, naming the variable; Free gives the
// bytes back.
func TestMemoryBudget(t *testing.T) {
	t.Setenv(kernels.MemoryEnv, "4K")
	be := New()
	x, err := be.New(512) // 2 KiB
	if err != nil {
		t.Fatal(err)
	}
	if _, err := be.New(513); err == nil || !strings.Contains(err.Error(), kernels.MemoryEnv) {
		t.Errorf("past the budget: %v; want an error naming %s", err, kernels.MemoryEnv)
	}
	be.Free(x)
	if _, err := be.New(1024); err != nil {
		t.Errorf("the whole budget after a Free: %v", err)
	}
}
