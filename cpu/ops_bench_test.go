package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// convShapes are convolutional sparse coding layers on MNIST-sized and patch-sized images.
var convShapes = []struct {
	n, c, h, w, k, kh, kw int
	g                     kernels.Conv2D
}{
	{32, 1, 28, 28, 16, 9, 9, kernels.Conv2D{StrideH: 1, StrideW: 1}},
	{16, 16, 20, 20, 32, 5, 5, kernels.Conv2D{StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}},
}

// BenchmarkConv measures the three convolution ops, in multiply-adds per second.
func BenchmarkConv(b *testing.B) {
	be := New()
	for _, s := range convShapes {
		r := rand.New(rand.NewPCG(1, 2))
		ho, wo := s.g.OutSize(s.h, s.w, s.kh, s.kw)
		x := must(be.New(s.n, s.c, s.h, s.w))
		w := must(be.New(s.k, s.c, s.kh, s.kw))
		y := must(be.New(s.n, s.k, ho, wo))
		be.Upload(x, randSlice(r, x.Len()))
		be.Upload(w, randSlice(r, w.Len()))
		be.Upload(y, randSlice(r, y.Len()))
		macs := float64(y.Len() * s.c * s.kh * s.kw)
		name := fmt.Sprintf("N%d_C%d_%dx%d_K%d_%dx%d", s.n, s.c, s.h, s.w, s.k, s.kh, s.kw)
		for _, op := range []struct {
			name string
			run  func()
		}{
			{"Forward", func() { be.Conv2DForward(y, x, w, s.g) }},
			{"BackwardData", func() { be.Conv2DBackwardData(x, y, w, s.g) }},
			{"BackwardFilter", func() { be.Conv2DBackwardFilter(w, x, y, s.g) }},
		} {
			b.Run(op.name+"/"+name, func(b *testing.B) {
				for b.Loop() {
					op.run()
				}
				b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

func must(t kernels.Tensor, err error) kernels.Tensor {
	if err != nil {
		panic(err)
	}
	return t
}
