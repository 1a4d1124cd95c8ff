package conv

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// chunk holds the buffers of consecutive samples of a batch, each tensor [n, …] as a matrix.
type chunk struct {
	n       int
	x, r    kernels.Tensor // [n, C·H·W]: the images; the residual x̂ − x
	u, z    kernels.Tensor // [n, K·Ho·Wo]: max(0, W ⋆ x − b); the code g ⊙ u
	dz, tmp kernels.Tensor // [n, K·Ho·Wo]
	s, ds   kernels.Tensor // [n, K·Hp·Wp]: each map's spatial cells √(ε₁ + Σ z²), and their gradient
	p, lam  kernels.Tensor // [n, G·Hp·Wp]: the complex cells; λ everywhere (their gradient)
	ones    kernels.Tensor // [1, n]
	all     []kernels.Tensor
	below   *chunk        // the layer beneath's buffers, whose features p are this chunk's x
	lcn     *contrastWork // with contrast_sigma, the images before their normalization into x
}

// input is the chunk's images: the bottom layer's x, or raw when it normalizes them.
func (c *chunk) input() kernels.Tensor {
	switch {
	case c.below != nil:
		return c.below.input()
	case c.lcn != nil:
		return c.lcn.raw
	}
	return c.x
}

func (c *chunk) free(be kernels.Backend) {
	model.FreeTensors(be, c.all...)
	if c.lcn != nil {
		c.lcn.free(be)
	}
	if c.below != nil {
		c.below.free(be)
	}
}

// work is a batch in chunks.
type work struct {
	b      int
	chunks []*chunk
	sums   *model.Scalars
	be     kernels.Backend
}

func (w *work) Size() int               { return w.b }
func (w *work) Inputs() kernels.Tensor  { return w.chunks[0].input() }
func (w *work) Targets() kernels.Tensor { return nil }

// UploadBatch copies the images x [B, C·H·W] into the chunks.
func (w *work) UploadBatch(x, _ []float32) {
	lo := 0
	for _, c := range w.chunks {
		in := c.input()
		w.be.Upload(in, x[lo:lo+in.Len()])
		lo += in.Len()
	}
}

func (w *work) Free() {
	for _, c := range w.chunks {
		c.free(w.be)
	}
	if w.sums != nil {
		w.sums.Free()
	}
}

// sampleBytes is the largest tensor of one sample, in bytes (of any layer of a stack).
func (m *ConvSparseAE) sampleBytes() int64 {
	b := 4 * int64(max(m.lc.Inputs, m.lc.Maps*m.perMap))
	if m.below != nil {
		b = max(b, m.below.sampleBytes())
	}
	return b
}

// workBytes is the bytes of one sample's buffers (of every layer of a stack).
func (m *ConvSparseAE) workBytes() int64 {
	c := m.lc
	b := 4 * int64(2*c.Inputs+4*c.Maps*m.perMap+2*c.Maps*m.geo.PoolH*m.geo.PoolW+2*c.Pooled())
	if m.lcn != nil {
		b += m.lcn.bytes()
	}
	if m.below != nil {
		b += m.below.workBytes()
	}
	return b
}

// chunkLimit is the most samples one chunk's tensors hold within the device's storage block (for
// every layer of a stack: sampleBytes is the largest of them).
func (m *ConvSparseAE) chunkLimit() (int, error) {
	limit := m.be.Info().MaxBytes / m.sampleBytes()
	if limit < 1 {
		return 0, fmt.Errorf("conv: one image needs a tensor of %s (the code or the input of its largest layer): more than the %s the %s backend holds in one tensor",
			kernels.FormatBytes(m.sampleBytes()), kernels.FormatBytes(m.be.Info().MaxBytes), m.be.Info().Name)
	}
	if testMaxChunk > 0 {
		limit = min(limit, int64(testMaxChunk))
	}
	return int(min(limit, 1<<20)), nil
}

// evalBytes bounds the buffers of evaluation and encoding batches.
const evalBytes = 256 << 20

// MaxBatch is the largest batch that evaluation and encoding run at once: one chunk, its buffers
// within 256 MiB.
func (m *ConvSparseAE) MaxBatch() int {
	limit, _ := m.chunkLimit()
	return max(1, min(limit, int(evalBytes/m.workBytes())))
}

// NewWork allocates the buffers of passes over b samples, in chunks that each fit one storage
// block of the device.
func (m *ConvSparseAE) NewWork(b int) (model.Work, error) {
	limit, err := m.chunkLimit()
	if err != nil {
		return nil, err
	}
	w := &work{b: b, be: m.be}
	for lo := 0; lo < b; lo += limit {
		c, err := m.newChunk(min(limit, b-lo))
		if err != nil {
			w.Free()
			return nil, err
		}
		w.chunks = append(w.chunks, c)
	}
	if w.sums, err = model.NewScalars(m.be, 3*len(w.chunks)); err != nil {
		w.Free()
		return nil, err
	}
	return w, nil
}

func (m *ConvSparseAE) newChunk(n int) (*chunk, error) {
	var below *chunk
	if m.below != nil {
		var err error
		if below, err = m.below.newChunk(n); err != nil {
			return nil, err
		}
	}
	c, g := m.lc, m.geo
	code, cells, pooled := c.Maps*m.perMap, c.Maps*g.PoolH*g.PoolW, c.Pooled()
	shapes := [][]int{{n, c.Inputs}, {n, code}, {n, code}, {n, code}, {n, code}, {n, cells}, {n, cells}, {1, n}, {n, pooled}}
	if c.Group > 1 {
		shapes = append(shapes, []int{n, pooled})
	}
	if below == nil {
		shapes = append(shapes, []int{n, c.Inputs})
	}
	ts, err := model.NewTensors(m.be, shapes...)
	if err != nil {
		if below != nil {
			below.free(m.be)
		}
		return nil, fmt.Errorf("conv: buffers for %d images: %w", n, err)
	}
	ch := &chunk{n: n, r: ts[0], u: ts[1], z: ts[2], dz: ts[3], tmp: ts[4], s: ts[5], ds: ts[6], ones: ts[7], lam: ts[8], all: ts, below: below}
	ch.p = ch.s
	if c.Group > 1 {
		ch.p = ts[9]
	}
	if below != nil {
		ch.x = m.be.Reshape(below.p, n, c.Inputs) // the features beneath are this layer's images
	} else {
		ch.x = ts[len(ts)-1]
	}
	if m.lcn != nil {
		if ch.lcn, err = m.lcn.newWork(n); err != nil {
			ch.free(m.be)
			return nil, err
		}
	}
	m.be.Fill(ch.ones, 1)
	m.be.Fill(ch.lam, float32(c.Lambda))
	return ch, nil
}
