package gpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/drsae/drsae/kernels"
)

func upload(t testing.TB, b *Backend, data []float32, shape ...int) kernels.Tensor {
	t.Helper()
	x, err := b.New(shape...)
	if err != nil {
		t.Fatal(err)
	}
	b.Upload(x, data)
	return x
}

func download(t testing.TB, b *Backend, x kernels.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := b.Download(out, x); err != nil {
		t.Fatal(err)
	}
	return out
}

func ramp(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32((i*7919)%101-50)
	}
	return v
}

func TestFillAxpby(t *testing.T) {
	b := backend(t)
	for _, n := range []int{1, 7, 256, 1000, 70001} {
		x := upload(t, b, ramp(n, 0.5), n)
		y, _ := b.New(n)
		b.Fill(y, float32(math.NaN()))
		b.Axpby(2, x, 0, y) // β = 0 ignores the NaN
		b.Axpby(1, x, -1, y)
		got := download(t, b, y)
		want := ramp(n, 0.5)
		for i := range got {
			if got[i] != -want[i] {
				t.Fatalf("n=%d: y[%d] = %v, want %v", n, i, got[i], -want[i])
			}
		}
		b.Free(x)
		b.Free(y)
	}
}

// Several goroutines use the backend at once, each with its own tensors, and run far enough ahead
// of the GL thread to hit the queue bound.
func TestConcurrentCallers(t *testing.T) {
	b := backend(t)
	const workers, steps, n = 4, 400, 33
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			x, _ := b.New(n)
			y, _ := b.New(n)
			defer b.Free(x)
			defer b.Free(y)
			b.Fill(x, float32(w+1))
			for range steps {
				b.Axpby(1, x, 1, y)
			}
			got := make([]float32, n)
			if err := b.Download(got, y); err != nil {
				errs <- err
				return
			}
			for i, v := range got {
				if want := float32(steps * (w + 1)); v != want {
					errs <- fmt.Errorf("worker %d: y[%d] = %v, want %v", w, i, v, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
