package cpu

import (
	"fmt"
	"slices"

	"github.com/drsae/drsae/kernels"
)

// storage is the memory shared by a tensor and its Reshape views.
type storage struct {
	data  []float32
	freed bool
	bytes int64 // counted in the backend's budget
}

// Tensor is a row-major float32 array in host memory. Views made by Reshape share its storage.
type Tensor struct {
	st    *storage
	shape []int
	n     int // product of shape
	view  bool
}

// Shape returns the dimensions, outermost first. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Len is the product of Shape.
func (t *Tensor) Len() int { return t.n }

// String describes the tensor for panics and debugging.
func (t *Tensor) String() string { return fmt.Sprintf("cpu.Tensor%v", t.shape) }

// tensorOf returns t as a *Tensor, and panics if it is nil, from another backend, or freed.
func tensorOf(op string, t kernels.Tensor) *Tensor {
	ct, ok := t.(*Tensor)
	if !ok || ct == nil {
		panic(fmt.Sprintf("kernels: %s: tensor %T is not a cpu tensor", op, t))
	}
	if ct.st.freed {
		panic(fmt.Sprintf("kernels: %s: use of a freed tensor (shape %v)", op, ct.shape))
	}
	return ct
}

// data returns the storage of t (see tensorOf).
func data(op string, t kernels.Tensor) []float32 { return tensorOf(op, t).st.data }

// noAlias panics if out shares storage with one of ins.
func noAlias(op string, out kernels.Tensor, ins ...kernels.Tensor) {
	o := out.(*Tensor)
	for _, in := range ins {
		if in.(*Tensor).st == o.st {
			panic(fmt.Sprintf("kernels: %s: output %v shares storage with input %v", op, out.Shape(), in.Shape()))
		}
	}
}

// sameStorage reports whether a and b (cpu tensors) share storage; kernels.CheckNoAlias calls it.
func sameStorage(a, b kernels.Tensor) bool { return a.(*Tensor).st == b.(*Tensor).st }

// New allocates a zero-filled tensor, or returns an error if it is larger than the host memory.
func (be *Backend) New(shape ...int) (kernels.Tensor, error) {
	n := kernels.Volume("New", shape)
	if lim := be.maxBytes; int64(n) > lim/4 {
		return nil, fmt.Errorf("kernels: New: tensor %v needs %d bytes, more than the %d bytes one tensor may have here (host memory or address space)", shape, 4*int64(n), lim)
	}
	bytes, err := be.budget.Take("cpu: New", shape)
	if err != nil {
		return nil, err
	}
	return &Tensor{st: &storage{data: make([]float32, n), bytes: bytes}, shape: slices.Clone(shape), n: n}, nil
}

// Reshape returns a view of t with another shape of the same length, sharing its storage.
func (be *Backend) Reshape(t kernels.Tensor, shape ...int) kernels.Tensor {
	ct := tensorOf("Reshape", t)
	if n := kernels.Volume("Reshape", shape); n != ct.Len() {
		panic(fmt.Sprintf("kernels: Reshape: tensor %v has %d values, shape %v has %d", ct.shape, ct.Len(), shape, n))
	}
	return &Tensor{st: ct.st, shape: slices.Clone(shape), n: ct.n, view: true}
}

// Upload: dst[i] = src[i].
func (be *Backend) Upload(dst kernels.Tensor, src []float32) {
	d := data("Upload", dst)
	kernels.CheckUpload("Upload", dst, len(src))
	copy(d, src)
}

// Download: dst[i] = src[i]. It never fails: ops are synchronous.
func (be *Backend) Download(dst []float32, src kernels.Tensor) error {
	s := data("Download", src)
	kernels.CheckUpload("Download", src, len(dst))
	copy(dst, s)
	return nil
}

// Copy: dst[i] = src[i]; shapes may differ, lengths may not.
func (be *Backend) Copy(dst, src kernels.Tensor) {
	d, s := data("Copy", dst), data("Copy", src)
	kernels.CheckLen("Copy", dst, src)
	// Like the other memory-bound ops, halves past 64k elements. Tensors do not overlap in part
	// (a view shares all of its tensor's storage), so the halves are independent.
	be.parallelFor(len(d), memoryWork(len(d)), func(lo, hi int) { copy(d[lo:hi], s[lo:hi]) })
}

// Free releases t's storage to the garbage collector; t and its views must not be used again.
// Freeing a view, or freeing twice, panics.
func (be *Backend) Free(t kernels.Tensor) {
	ct := tensorOf("Free", t)
	if ct.view {
		panic(fmt.Sprintf("kernels: Free: tensor %v is a view made by Reshape; free the original", ct.shape))
	}
	ct.st.freed = true
	ct.st.data = nil
	be.budget.Give(ct.st.bytes)
}

// Sync returns nil: every op has finished when it returns.
func (be *Backend) Sync() error { return nil }

// Close releases nothing (tensors are garbage collected) and returns nil.
func (be *Backend) Close() error { return nil }
