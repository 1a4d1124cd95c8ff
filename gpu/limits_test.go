package gpu

import (
	"strings"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// A tensor larger than GL_MAX_SHADER_STORAGE_BLOCK_SIZE is refused by New, naming the limit.
func TestTensorLargerThanStorageBlockIsRefused(t *testing.T) {
	b := backend(t)
	n := int(b.Info().MaxBytes/4) + 1
	x, err := b.New(n)
	if err == nil {
		b.Free(x)
		t.Fatalf("New(%d) with MaxBytes %d: no error", n, b.Info().MaxBytes)
	}
	if !strings.Contains(err.Error(), "GL_MAX_SHADER_STORAGE_BLOCK_SIZE") {
		t.Errorf("error does not name the limit: %v", err)
	}
	if x, err := b.New(n - 1); err != nil {
		t.Errorf("New(%d), exactly the limit: %v", n-1, err)
	} else {
		b.Free(x)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

// A shader that fails to compile is reported by the next Sync with the op, the file, and the
// compiler's info log; later ops are skipped and Download reports the same error.
func TestCompileErrorIsReported(t *testing.T) {
	backend(t)
	broken := "#version 430\nlayout(local_size_x = LOCAL_SIZE) in;\nvoid main() {\n\tthis is not glsl;\n}\n"
	b, err := New(withShader("fill.comp", broken))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	x, _ := b.New(10)
	b.Fill(x, 1)
	err = b.Sync()
	if err == nil {
		t.Fatal("Sync after a broken shader: no error")
	}
	t.Logf("the error reads:\n%v", err)
	for _, want := range []string{"Fill", "fill.comp", "compiling"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q (want the op, the file, and the info log)", want)
		}
	}
	// The log names line 4 of fill.comp: "0:4(2): error" (Mesa) or "0(4) : error" (NVIDIA).
	if !strings.Contains(err.Error(), "0:4(") && !strings.Contains(err.Error(), "0(4)") {
		t.Errorf("info log does not point at line 4 of the file, source 0")
	}
	b.Axpby(1, x, 0, x) // skipped
	out := make([]float32, 10)
	if err2 := b.Download(out, x); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("Download after the error returned %v, want the sticky error", err2)
	}
}

// With the work-group count limit lowered to 3, every dispatch must fold its groups into a 2D
// grid and stride over the rest: results must not change.
func TestSmallGroupLimitStillCoversEverything(t *testing.T) {
	backend(t)
	b, err := New(withMaxGroups(3))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := 5000 // 20 groups of 256, in a 3×3 grid
	x := upload(t, b, ramp(n, 1), n)
	y, _ := b.New(n)
	b.Fill(y, 3)
	b.Axpby(1, x, 1, y)
	got := download(t, b, y)
	want := ramp(n, 1)
	for i := range got {
		if got[i] != want[i]+3 {
			t.Fatalf("y[%d] = %v, want %v", i, got[i], want[i]+3)
		}
	}
}

// Tensors past DRSAE_MAX_MEMORY in all are refused by New, naming the variable; Free gives the
// bytes back.
func TestMemoryBudget(t *testing.T) {
	b := backend(t)
	t.Setenv(kernels.MemoryEnv, "4K")
	old := b.budget
	b.budget = kernels.NewBudget(0)
	defer func() { b.budget = old }()
	x, err := b.New(512) // 2 KiB
	if err != nil {
		t.Fatal(err)
	}
	if y, err := b.New(513); err == nil || !strings.Contains(err.Error(), kernels.MemoryEnv) {
		t.Errorf("past the budget: %v; want an error naming %s", err, kernels.MemoryEnv)
		if err == nil {
			b.Free(y)
		}
	}
	b.Free(x)
	y, err := b.New(1024)
	if err != nil {
		t.Errorf("the whole budget after a Free: %v", err)
	} else {
		b.Free(y)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

// A device below the limits the shaders need is refused by New, naming the limit.
func TestTooLittleSharedMemoryIsRefused(t *testing.T) {
	backend(t)
	b, err := New(withMaxShared(needShared - 4))
	if err == nil {
		b.Close()
		t.Fatal("New with too little shared memory: no error")
	}
	if !strings.Contains(err.Error(), "GL_MAX_COMPUTE_SHARED_MEMORY_SIZE") {
		t.Errorf("error does not name the limit: %v", err)
	}
	b, err = New(withMaxShared(needShared))
	if err != nil {
		t.Fatalf("New with exactly the shared memory needed: %v", err)
	}
	b.Close()
}

// Sums that one shader invocation would have to loop over past loopMax, and that the op cannot
// split, are refused: the next Sync names the op and llvmpipe's loop limit, instead of a result
// silently cut short. Just inside the limit (side 253) the op runs and its longest sum is whole:
// with every input 1 it is exactly side² (the conformance suite checks the long sums that are
// split).
func TestLoopLimitIsRefused(t *testing.T) {
	backend(t)
	s1 := kernels.Conv2D{StrideH: 1, StrideW: 1}
	cases := []struct {
		name string
		// run queues the op with all inputs 1 for kernels or windows of side n, and returns
		// the output and the index of its longest sum.
		run func(b *Backend, n int) (kernels.Tensor, int)
	}{
		{"Conv2DForward", func(b *Backend, n int) (kernels.Tensor, int) {
			y := ones(t, b, 1, 1, 1, 1)
			b.Conv2DForward(y, ones(t, b, 1, 1, n, n), ones(t, b, 1, 1, n, n), s1)
			return y, 0
		}},
		{"Conv2DBackwardData", func(b *Backend, n int) (kernels.Tensor, int) {
			// One input pixel padded by n−1, so an n×n output: the pixel is reached by all n² taps.
			dx := ones(t, b, 1, 1, 1, 1)
			b.Conv2DBackwardData(dx, ones(t, b, 1, 1, n, n), ones(t, b, 1, 1, n, n), padded(n-1))
			return dx, 0
		}},
		{"LocalForward", func(b *Backend, n int) (kernels.Tensor, int) {
			y := ones(t, b, 1, 1, 1, 1)
			b.LocalForward(y, ones(t, b, 1, 1, n, n), ones(t, b, 1, 1, 1, 1, n, n), s1)
			return y, 0
		}},
		{"L2Pool2DBackward", func(b *Backend, n int) (kernels.Tensor, int) {
			// One pixel padded by n−1 and pooled by n×n windows: it is in all n² of them.
			dx := ones(t, b, 1, 1, 1, 1)
			b.L2Pool2DBackward(dx, ones(t, b, 1, 1, n, n), ones(t, b, 1, 1, 1, 1), ones(t, b, 1, 1, n, n), ones(t, b, n, n), padded(n-1))
			return dx, 0
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, n := range []int{253, 254} {
				b, err := New()
				if err != nil {
					t.Fatal(err)
				}
				out, at := c.run(b, n)
				got := make([]float32, out.Len())
				err = b.Download(got, out)
				b.Close()
				switch {
				case n == 253 && err != nil:
					t.Errorf("side %d, inside the limit: %v", n, err)
				case n == 253 && got[at] != float32(n*n):
					t.Errorf("side %d, inside the limit: the longest sum is %v, want %d", n, got[at], n*n)
				case n == 254 && err == nil:
					t.Errorf("side %d, past the limit: no error", n)
				case n == 254 && (!strings.Contains(err.Error(), c.name) || !strings.Contains(err.Error(), "LP_MAX_TGSI_LOOP_ITERATIONS")):
					t.Errorf("side %d: the error does not name the op and the limit: %v", n, err)
				}
			}
		})
	}
	// L2Pool2D splits a window by rows; one row longer than the limit is refused.
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const w = loopMax + 1
	b.L2Pool2D(ones(t, b, 1, 1, 1, 1), ones(t, b, 1, 1, 1, w), ones(t, b, 1, w), s1, 0)
	if err := b.Sync(); err == nil || !strings.Contains(err.Error(), "LP_MAX_TGSI_LOOP_ITERATIONS") {
		t.Errorf("L2Pool2D, a window row of %d taps: %v, want the loop limit named", w, err)
	}
}

// padded is stride 1 with padding p on every side.
func padded(p int) kernels.Conv2D { return kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: p, PadW: p} }

// ones is a new tensor of b filled with 1.
func ones(t *testing.T, b *Backend, shape ...int) kernels.Tensor {
	t.Helper()
	x, err := b.New(shape...)
	if err != nil {
		t.Fatal(err)
	}
	b.Fill(x, 1)
	return x
}
