package model

import (
	"fmt"
	"slices"

	"github.com/drsae/drsae/kernels"
)

// A Cache keeps buffers per batch size, made on first use: a training run needs the training
// batch, the evaluation batch and the last, partial one. Beyond four sizes the least recently
// used is freed. Every workspace of the model layer is kept in one.
type Cache[W any] struct {
	make func(b int) (W, error)
	free func(W)
	ws   map[int]W
	used []int // sizes, most recently used last
}

const cacheSizes = 4

// NewCache makes an empty cache of buffers made by make and released by free.
func NewCache[W any](make func(b int) (W, error), free func(W)) *Cache[W] {
	return &Cache[W]{make: make, free: free, ws: map[int]W{}}
}

// Works is the cache of a module's Work buffers.
type Works = Cache[Work]

// NewWorks makes an empty cache of m's Work buffers.
func NewWorks(m Module) *Works { return NewCache(m.NewWork, Work.Free) }

// Get returns the buffers for batches of b samples.
func (c *Cache[W]) Get(b int) (W, error) {
	if i := slices.Index(c.used, b); i >= 0 {
		c.used = append(append(c.used[:i:i], c.used[i+1:]...), b)
		return c.ws[b], nil
	}
	if b <= 0 {
		var zero W
		return zero, fmt.Errorf("batch of %d samples, want > 0", b)
	}
	if len(c.used) == cacheSizes {
		c.free(c.ws[c.used[0]])
		delete(c.ws, c.used[0])
		c.used = c.used[1:]
	}
	w, err := c.make(b)
	if err != nil {
		return w, fmt.Errorf("buffers for a batch of %d: %w", b, err)
	}
	c.ws[b] = w
	c.used = append(c.used, b)
	return w, nil
}

// Free releases every buffer.
func (c *Cache[W]) Free() {
	for _, w := range c.ws {
		c.free(w)
	}
	c.ws, c.used = map[int]W{}, nil
}

// ForBatches runs m's Forward in phase over the samples of s in consecutive batches of at most
// batch, uploading inputs (and targets, where s has them), and calls f after each with the
// samples [lo, hi) it held. f may be nil.
func ForBatches(m Module, works *Works, s *Samples, batch, phase int, f func(w Work, lo, hi int) error) error {
	be := m.Backend()
	if l, ok := m.(BatchLimiter); ok {
		batch = min(batch, l.MaxBatch())
	}
	for lo := 0; lo < s.N(); lo += batch {
		hi := min(s.N(), lo+batch)
		w, err := works.Get(hi - lo)
		if err != nil {
			return err
		}
		b := s.Slice(lo, hi)
		y := b.Y
		if t := w.Targets(); t == nil || y == nil || len(y) != t.Len() {
			y = nil
		}
		Upload(be, w, b.X, y)
		if err := m.Forward(w, phase); err != nil {
			return err
		}
		if f != nil {
			if err := f(w, lo, hi); err != nil {
				return err
			}
		}
	}
	return nil
}

// Upload copies a batch of w.Size() samples x into w (through ChunkedWork.UploadBatch where w is
// one), and their targets y unless y is nil (a LISTA encoding labelled digits leaves its targets
// alone: ForBatches passes nil).
func Upload(be kernels.Backend, w Work, x, y []float32) {
	if c, ok := w.(ChunkedWork); ok {
		c.UploadBatch(x, y)
		return
	}
	be.Upload(w.Inputs(), x)
	if y != nil {
		be.Upload(w.Targets(), y)
	}
}

// WithTargets returns s with the targets m regresses, for a Targeter, when s comes without them
// (or with class labels instead): a copy of s whose Y the Targeter computed. Otherwise it returns s.
func WithTargets(m Module, s *Samples, progress ProgressFunc) (*Samples, error) {
	tg, ok := m.(Targeter)
	if !ok || s.N() == 0 || (s.Y != nil && s.Classes == 0) {
		return s, nil
	}
	c := *s
	c.Y, c.YDim, c.Classes = nil, 0, 0
	if err := tg.Targets(&c, progress); err != nil {
		return nil, err
	}
	return &c, nil
}

// Evaluate runs m over every sample of s in phase, in batches of at most batch, and returns the
// sums of its loss terms and measures; for a Targeter it computes the targets first, where s has
// none.
func Evaluate(m Module, works *Works, s *Samples, batch, phase int) (Sums, error) {
	var sums Sums
	s, err := WithTargets(m, s, nil)
	if err != nil {
		return sums, err
	}
	err = ForBatches(m, works, s, batch, phase, func(w Work, lo, hi int) error {
		l, err := m.Loss(w, phase)
		sums.Add(l)
		return err
	})
	return sums, err
}

// Encode returns the codes [N, units] of the samples of s (Module.Code after Forward in the last
// phase), computed in batches of at most batch.
func Encode(m Module, works *Works, s *Samples, batch int) ([]float32, error) {
	var codes []float32
	err := ForBatches(m, works, s, batch, len(m.Phases())-1, func(w Work, lo, hi int) error {
		z := m.Code(w)
		if codes == nil {
			codes = make([]float32, s.N()*z.Len()/(hi-lo))
		}
		k := z.Len() / (hi - lo)
		return m.Backend().Download(codes[lo*k:hi*k], z)
	})
	return codes, err
}

// Scalars reduces device tensors to numbers for loss read-backs: each queued Sum or Count
// writes one float on the device, and Read downloads them in order.
type Scalars struct {
	be kernels.Backend
	ts []kernels.Tensor
	n  int
}

// NewScalars allocates room for k queued values.
func NewScalars(be kernels.Backend, k int) (*Scalars, error) {
	shapes := make([][]int, k)
	for i := range shapes {
		shapes[i] = []int{1}
	}
	ts, err := NewTensors(be, shapes...)
	if err != nil {
		return nil, err
	}
	return &Scalars{be: be, ts: ts}, nil
}

func (s *Scalars) next() kernels.Tensor {
	if s.n == len(s.ts) {
		panic(fmt.Sprintf("model: Scalars: more than %d values queued", len(s.ts)))
	}
	s.n++
	return s.ts[s.n-1]
}

// Sum queues Σ f(x) over all of x (f by op).
func (s *Scalars) Sum(x kernels.Tensor, op kernels.ReduceOp) {
	s.be.Reduce(s.next(), s.be.Reshape(x, 1, x.Len()), op, kernels.PerRow)
}

// Count queues the number of entries of x with |x| > theta.
func (s *Scalars) Count(x kernels.Tensor, theta float32) {
	s.be.CountAbove(s.next(), s.be.Reshape(x, 1, x.Len()), theta, kernels.PerRow)
}

// Read downloads the queued values in order and empties the queue.
func (s *Scalars) Read() ([]float64, error) {
	out := make([]float64, s.n)
	var v [1]float32
	for i := range out {
		if err := s.be.Download(v[:], s.ts[i]); err != nil {
			s.n = 0
			return nil, err
		}
		out[i] = float64(v[0])
	}
	s.n = 0
	return out, nil
}

// Free releases the device buffers.
func (s *Scalars) Free() { FreeTensors(s.be, s.ts...) }
