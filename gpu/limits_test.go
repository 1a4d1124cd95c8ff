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
