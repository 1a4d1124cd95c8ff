package lateral

import (
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
)

// countingBackend counts the downloads: the host round trips.
type countingBackend struct {
	kernels.Backend
	downloads int
}

func (c *countingBackend) Download(dst []float32, src kernels.Tensor) error {
	c.downloads++
	return c.Backend.Download(dst, src)
}

// TestLateralLipschitzEvery: over training steps, Forward reads nothing back but at the steps
// that re-estimate L (the first and every lipschitz_every-th), L changes only there, AfterStep
// reads back only to prune, and after every step L bounds the curvature of the inference's
// smooth part, λ_max(DᵀD) + 2·‖S‖₂, which is at most λ_max(DᵀD) + 2·max_i Σ_j S_ij (λ_max to
// 10⁻⁶ by model.LipschitzConstant); for the default tree and for an S pruned from full.
func TestLateralLipschitzEvery(t *testing.T) {
	inner := modeltest.Backend(t)
	for _, c := range []struct {
		name          string
		branch, prune int
	}{{"tree", 2, 0}, {"pruned", 0, 5}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Branch, cfg.PruneEvery, cfg.LipschitzEvery = c.branch, c.prune, 4
			lipschitzSteps(t, inner, cfg, 13)
		})
	}
}

// lipschitzSteps runs the steps of TestLateralLipschitzEvery for a model of cfg.
func lipschitzSteps(t *testing.T, inner kernels.Backend, cfg Config, steps int) {
	t.Helper()
	be := &countingBackend{Backend: inner}
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if err := l.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	if err := model.AllocGrads(be, l.Params()); err != nil {
		t.Fatal(err)
	}
	opt, err := model.NewOptimizer(be, l.Params(), tc)
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Free()
	w, err := l.NewWork(tc.Batch)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	x := patches(t, steps*tc.Batch, 5)
	m := cfg.Units
	for step := range steps {
		be.Upload(w.Inputs(), x[step*tc.Batch*64:(step+1)*tc.Batch*64])
		n, L := be.downloads, l.L
		if err := l.Forward(w, 0); err != nil {
			t.Fatal(err)
		}
		estimated := step%cfg.LipschitzEvery == 0
		if read := be.downloads - n; (read > 0) != estimated || (l.L != L) != estimated {
			t.Fatalf("step %d: Forward read back %d times, L %g → %g; want reads and a new L only every %d steps", step, read, L, l.L, cfg.LipschitzEvery)
		}
		l.Backward(w, 0)
		opt.Step(l.Params(), tc.LR)
		n = be.downloads
		if err := l.AfterStep(w); err != nil {
			t.Fatal(err)
		}
		pruned := cfg.PruneEvery > 0 && (step+1)%cfg.PruneEvery == 0
		if read := be.downloads - n; (read > 0) != pruned {
			t.Fatalf("step %d: AfterStep read back %d times; want reads only to prune, every %d steps", step, read, cfg.PruneEvery)
		}
		lmax, err := model.LipschitzConstant(inner, l.D())
		if err != nil {
			t.Fatal(err)
		}
		s := modeltest.Download(t, inner, l.S())
		var rows float64
		for i := range m {
			var r float64
			for _, v := range s[i*m : (i+1)*m] {
				r += float64(v)
			}
			rows = max(rows, r)
		}
		if bound := lmax + 2*rows; !(l.L >= bound) {
			t.Fatalf("after step %d: L = %g below λ_max(DᵀD) + 2·max row sum of S = %g + 2·%g", step, l.L, lmax, rows)
		}
	}
}
