package drsae

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/drsae/drsae/cpu"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
)

// TestDrSAEBackendsAgree builds the paper's net (784-400-10, T = 11) with the same Init seed on
// the cpu and the gpu backend, runs Forward (unsupervised and supervised), Loss, the active counts
// and Backward on the same 50 unit-norm inputs, then SGD steps as the trainer issues them, and
// logs for every tensor it can reach the relative L2 difference gpu vs cpu, so that one run on a
// device shows where the gpu backend first goes wrong. It fails at the end if any tensor differs
// by more than 1e-3 relative. It needs DRSAE_TEST_BACKEND=gpu; a gpu that does not open skips
// it, or fails it with DRSAE_REQUIRE_GPU=1.
func TestDrSAEBackendsAgree(t *testing.T) {
	if os.Getenv("DRSAE_TEST_BACKEND") != "gpu" {
		t.Skip("compares the gpu backend with the cpu backend: run with DRSAE_TEST_BACKEND=gpu")
	}
	gb := modeltest.Backend(t) // skips, or fails with DRSAE_REQUIRE_GPU=1, when the gpu does not open
	cb := cpu.New()
	defer cb.Close()
	info := gb.Info()
	t.Logf("gpu backend: %s | %s | %s", info.Vendor, info.Device, info.Version)

	cfg := DefaultConfig()
	n, u, T := cfg.Inputs, cfg.Units, cfg.T
	const B, steps = 50, 5
	rng := rand.New(rand.NewPCG(50, 784))
	// Minibatches of unit-norm, non-negative, sparse inputs like MNIST digits, and labels.
	batch := func() ([]float32, []float32) {
		x, l := make([]float32, B*n), make([]float32, B)
		for b := 0; b < B; b++ {
			s := 0.0
			for i := 0; i < n; i++ {
				if rng.Float64() < 0.2 {
					v := rng.Float64()
					x[b*n+i] = float32(v)
					s += v * v
				}
			}
			for i := 0; i < n; i++ {
				x[b*n+i] = float32(float64(x[b*n+i]) / math.Sqrt(s))
			}
			l[b] = float32(rng.IntN(cfg.Classes))
		}
		return x, l
	}
	x, labels := batch()
	var more [][2][]float32
	for range steps {
		bx, bl := batch()
		more = append(more, [2][]float32{bx, bl})
	}

	type side struct {
		be kernels.Backend
		m  *DrSAE
		w  *work
	}
	build := func(be kernels.Backend) *side {
		m, err := New(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Init(&model.Samples{X: x, Dim: n}, 1); err != nil {
			t.Fatal(err)
		}
		mw, err := m.NewWork(B)
		if err != nil {
			t.Fatal(err)
		}
		if err := model.AllocGrads(be, m.Params()); err != nil {
			t.Fatal(err)
		}
		w := mw.(*work)
		be.Upload(w.x, x)
		be.Upload(w.labels, labels)
		return &side{be, m, w}
	}
	gs, cs := build(gb), build(cb)
	defer func() {
		for _, s := range []*side{gs, cs} {
			s.w.Free()
			s.m.Free()
		}
	}()

	var bad []string
	down := func(be kernels.Backend, x kernels.Tensor) []float32 {
		v := make([]float32, x.Len())
		if err := be.Download(v, x); err != nil {
			t.Fatalf("download: %v", err)
		}
		return v
	}
	// compare logs ‖gpu − cpu‖/‖cpu‖ and the worst element of one tensor.
	compare := func(stage, name string, gt, ct kernels.Tensor) {
		g, c := down(gb, gt), down(cb, ct)
		var d2, c2, worst, scale float64
		wi, nan := -1, 0
		for i := range c {
			gv, cv := float64(g[i]), float64(c[i])
			if math.IsNaN(gv) != math.IsNaN(cv) {
				nan++
				continue
			}
			if math.IsNaN(cv) {
				continue
			}
			d := math.Abs(gv - cv)
			d2 += d * d
			c2 += cv * cv
			scale = math.Max(scale, math.Abs(cv))
			if d > worst || wi < 0 {
				worst, wi = d, i
			}
		}
		rel := math.Sqrt(d2 / math.Max(c2, 1e-300))
		if c2 == 0 {
			rel = math.Sqrt(d2)
		}
		line := fmt.Sprintf("%-22s %-10s %-10s relL2 %.3g  maxAbs %.3g (max|cpu| %.3g)", stage, name, fmt.Sprint(gt.Shape()), rel, worst, scale)
		if wi >= 0 {
			line += fmt.Sprintf("  worst [%d] gpu %.7g cpu %.7g", wi, g[wi], c[wi])
		}
		if nan > 0 {
			line += fmt.Sprintf("  NaN-mismatch %d", nan)
		}
		if rel > 1e-3 || nan > 0 {
			t.Logf("BAD %s", line)
			bad = append(bad, stage+" "+name)
		} else {
			t.Logf("ok  %s", line)
		}
	}
	compareParams := func(stage string) {
		for i, p := range gs.m.Params() {
			compare(stage, p.Name, p.Value, cs.m.Params()[i].Value)
		}
	}
	compareLoss := func(stage string, phase int) {
		var ls [2]model.Sums
		for i, s := range []*side{gs, cs} {
			l, err := s.m.Loss(s.w, phase)
			if err != nil {
				t.Logf("BAD %s: Loss on %s: %v", stage, s.be.Info().Name, err)
				bad = append(bad, stage+" Loss")
			}
			ls[i] = l
		}
		t.Logf("    %-22s Loss gpu: %v", stage, ls[0].Metrics(""))
		t.Logf("    %-22s Loss cpu: %v", stage, ls[1].Metrics(""))
		for _, name := range ls[1].Names {
			g, c := ls[0].Mean(name), ls[1].Mean(name)
			tol := 1e-3 * math.Max(math.Abs(c), 1e-6)
			if name == "err" || name == "L0" {
				tol = 0.05 * math.Max(c, 1) // counts near a threshold may differ by a few
			}
			if d := math.Abs(g - c); d > tol || math.IsNaN(d) {
				t.Logf("BAD %-22s loss term %s: gpu %.7g cpu %.7g", stage, name, g, c)
				bad = append(bad, stage+" loss "+name)
			}
		}
	}
	// l0 compares the active units of z^T per unit: CountAbove (a column reduction on the
	// device) on both backends.
	l0 := func(stage string) {
		var counts [2][]float32
		for i, s := range []*side{gs, cs} {
			c, _ := s.be.New(u)
			s.be.CountAbove(c, s.w.enc.Code(), 0, kernels.PerCol)
			counts[i] = down(s.be, c)
			s.be.Free(c)
		}
		diff := 0
		for i := range counts[0] {
			if counts[0][i] != counts[1][i] {
				diff++
			}
		}
		if diff > u/50 {
			t.Logf("BAD %-22s active counts differ on %d of %d units", stage, diff, u)
			bad = append(bad, stage+" active counts")
		}
	}

	compareParams("Init")
	for phase := range 2 {
		sup := phase == 1
		stage := fmt.Sprintf("phase %d", phase)
		gs.m.Forward(gs.w, phase)
		cs.m.Forward(cs.w, phase)
		compare(stage+" Forward", fmt.Sprintf("z1…z%d", T-1), gs.w.enc.Steps(), cs.w.enc.Steps())
		compare(stage+" Forward", fmt.Sprintf("z%d", T), gs.w.enc.Code(), cs.w.enc.Code())
		compare(stage+" Forward", "r=x̂−x", gs.w.r, cs.w.r)
		if sup {
			compare(stage+" Forward", "zn", gs.w.zn, cs.w.zn)
			compare(stage+" Forward", "norms", gs.w.norms, cs.w.norms)
			compare(stage+" Forward", "logits", gs.w.logits, cs.w.logits)
			compare(stage+" Forward", "dlog", gs.w.dlog, cs.w.dlog)
			compare(stage+" Forward", "xent", gs.w.xent, cs.w.xent)
		}
		compareLoss(stage+" Loss", phase)
		l0(stage + " Forward")
		gs.m.Backward(gs.w, phase)
		cs.m.Backward(cs.w, phase)
		compare(stage+" Backward", fmt.Sprintf("dz%d", T), gs.w.enc.Delta, cs.w.enc.Delta)
		compare(stage+" Backward", "gsum", gs.w.enc.GSum, cs.w.enc.GSum)
		for i, p := range gs.m.Params() {
			compare(stage+" Backward", "d"+p.Name, p.Grad, cs.m.Params()[i].Grad)
		}
	}

	// One SGD step and the projection, as the trainer issues them (no sync in between), then
	// training steps with momentum on new minibatches, uploaded while the device may still be
	// busy; the loss is read back only at the end.
	step := func(s *side, opt *model.Optimizer) {
		opt.Step(s.m.Params(), 0.01)
		for _, p := range s.m.Params() {
			if p.Project != nil {
				p.Project(p.Value)
			}
		}
	}
	opts := map[*side][2]*model.Optimizer{}
	for _, s := range []*side{gs, cs} {
		tc := DefaultTrainConfig()
		tc.Momentum = 0
		plain, err := model.NewOptimizer(s.be, s.m.Params(), tc)
		if err != nil {
			t.Fatal(err)
		}
		tc.Momentum = 0.5
		heavy, err := model.NewOptimizer(s.be, s.m.Params(), tc)
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Free()
		defer heavy.Free()
		opts[s] = [2]*model.Optimizer{plain, heavy}
		step(s, plain)
	}
	compareParams("SGD+Project")
	gs.m.Forward(gs.w, 1)
	cs.m.Forward(cs.w, 1)
	compare("after step Forward", "z^T", gs.w.enc.Code(), cs.w.enc.Code())
	compareLoss("after step", 1)
	l0("after step")
	for i, mb := range more {
		for _, s := range []*side{gs, cs} {
			s.be.Upload(s.w.x, mb[0])
			s.be.Upload(s.w.labels, mb[1])
			s.m.Forward(s.w, i%2)
			s.m.Backward(s.w, i%2)
			step(s, opts[s][1])
		}
	}
	stage := fmt.Sprintf("after %d more steps", len(more))
	compareParams(stage)
	for _, s := range []*side{gs, cs} {
		s.m.Forward(s.w, 1)
	}
	compare(stage, "z^T", gs.w.enc.Code(), cs.w.enc.Code())
	compare(stage, "logits", gs.w.logits, cs.w.logits)
	compareLoss(stage, 1)
	l0(stage)

	if err := gb.Sync(); err != nil {
		t.Errorf("gpu Sync: %v", err)
	}
	if len(bad) > 0 {
		t.Errorf("SUMMARY %d tensors or terms differ from the cpu backend by more than 1e-3 relative; the first: %s\nall: %s",
			len(bad), bad[0], strings.Join(bad, "; "))
	} else {
		t.Logf("SUMMARY every tensor and loss term agrees with the cpu backend within 1e-3 relative")
	}
}
