package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/lista"
)

// The sparse coding benchmarks run at the size, B = 256 samples of n = 784 (MNIST) with
// m = 400 atoms, on random data: the work per iteration does not depend on the values.
const (
	sparseB = 256
	sparseN = 784
	sparseM = 400
)

// sparseProblem uploads a random dictionary with unit-norm columns [n, m] and a batch [B, n].
func sparseProblem(b *testing.B, be kernels.Backend) (d, x kernels.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	host := make([]float32, sparseN*sparseM)
	for j := 0; j < sparseM; j++ {
		var s float64
		for i := 0; i < sparseN; i++ {
			v := rng.NormFloat64()
			host[i*sparseM+j] = float32(v)
			s += v * v
		}
		for i := 0; i < sparseN; i++ {
			host[i*sparseM+j] /= float32(math.Sqrt(s))
		}
	}
	d = mustNew(b, be, sparseN, sparseM)
	be.Upload(d, host)
	xs := make([]float32, sparseB*sparseN)
	for i := range xs {
		xs[i] = float32(rng.Float64())
	}
	x = mustNew(b, be, sparseB, sparseN)
	be.Upload(x, xs)
	return d, x
}

// fista: FISTA and ISTA on a batch, 50 iterations per call (each call also computes X D/L
// once), in iterations/s: one iteration codes all B samples. The Gram form makes an iteration
// one [B,m]×[m,m] product (2·B·m² flops, also reported as GFLOP/s) plus elementwise work.
var fista = Group{Name: "FISTA", Cases: fistaCases()}

func fistaCases() []Case {
	const iters = 50
	var cases []Case
	for _, alg := range []model.Algorithm{model.FISTA, model.ISTA} {
		cases = append(cases, Case{Name: fmt.Sprintf("%v/B%d-%d-%d", alg, sparseB, sparseN, sparseM), Unit: "iter/s",
			Run: func(b *testing.B, be kernels.Backend) {
				d, x := sparseProblem(b, be)
				defer be.Free(d)
				defer be.Free(x)
				z := mustNew(b, be, sparseB, sparseM)
				defer be.Free(z)
				c, err := model.NewSparseCoder(be, d, model.CodingOptions{Lambda: 0.1, Algorithm: alg, MaxIter: iters})
				if err != nil {
					stop(b, err)
				}
				defer c.Free()
				if _, err := c.Encode(z, x); err != nil { // allocate the workspace
					stop(b, err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := c.Encode(z, x); err != nil { // Encode ends with a Sync
						stop(b, err)
					}
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(iters*b.N)/sec, "iter/s")
				b.ReportMetric(2*float64(sparseB)*sparseM*sparseM*float64(iters*b.N)/sec/1e9, "GFLOP/s")
			}})
	}
	return cases
}

// listaForward: the LISTA encoder (T steps from W_e x) on a batch, in samples/s.
var listaForward = Group{Name: "LISTAForward", Cases: listaForwardCases()}

func listaForwardCases() []Case {
	var cases []Case
	for _, T := range []int{1, 3, 10} {
		cases = append(cases, Case{Name: fmt.Sprintf("T%d/B%d-%d-%d", T, sparseB, sparseN, sparseM), Unit: "samples/s",
			Run: func(b *testing.B, be kernels.Backend) {
				l, x := newBenchLISTA(b, be, T)
				defer l.Free()
				defer be.Free(x)
				w, err := l.NewWork(sparseB)
				if err != nil {
					stop(b, err)
				}
				defer w.Free()
				be.Copy(w.Inputs(), x)
				sec := timeLoop(b, be, func() {
					if err := l.Forward(w, 0); err != nil {
						stop(b, err)
					}
				})
				b.ReportMetric(float64(sparseB*b.N)/sec, "samples/s")
			}})
	}
	return cases
}

// listaTrainStep: one training step of LISTA with T = 3 — forward, backpropagation through the
// steps and the SGD update — in samples/s.
var listaTrainStep = Group{Name: "LISTATrainStep", Cases: []Case{{
	Name: fmt.Sprintf("T3/B%d-%d-%d", sparseB, sparseN, sparseM), Unit: "samples/s",
	Run: func(b *testing.B, be kernels.Backend) {
		l, x := newBenchLISTA(b, be, 3)
		defer l.Free()
		defer be.Free(x)
		host := make([]float32, x.Len())
		if err := be.Download(host, x); err != nil {
			stop(b, err)
		}
		trainSteps(b, l, sparseB, host, make([]float32, sparseB*sparseM), 0, 1)
	}}}}

func newBenchLISTA(b *testing.B, be kernels.Backend, T int) (*lista.LISTA, kernels.Tensor) {
	d, x := sparseProblem(b, be)
	defer be.Free(d)
	cfg := lista.DefaultConfig()
	cfg.Inputs, cfg.Units, cfg.T, cfg.Lambda = sparseN, sparseM, T, 0.1
	l, err := lista.New(be, cfg)
	if err != nil {
		stop(b, err)
	}
	if err := l.SetDictionary(d); err != nil {
		stop(b, err)
	}
	return l, x
}
