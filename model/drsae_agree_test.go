package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/drsae/drsae/cpu"
	"github.com/drsae/drsae/kernels"
)

// TestDrSAEBackendsAgree builds the paper's net (784-400-10, T = 11) with the same Init seed on
// the cpu and the gpu backend, runs Forward (unsupervised and supervised), Loss, ActiveCounts
// and Backward on the same 50 unit-norm inputs, then SGD steps as the trainer issues them, and
// logs for every tensor it can reach the relative L2 difference gpu vs cpu, so that one run on a
// device shows where the gpu backend first goes wrong. It fails at the end if any tensor differs
// by more than 1e-3 relative. It needs DRSAE_TEST_BACKEND=gpu; a gpu that does not open skips
// it, or fails it with DRSAE_REQUIRE_GPU=1.
func TestDrSAEBackendsAgree(t *testing.T) {
	if os.Getenv("DRSAE_TEST_BACKEND") != "gpu" {
		t.Skip("compares the gpu backend with the cpu backend: run with DRSAE_TEST_BACKEND=gpu")
	}
	gb := openTestBackend(t) // skips, or fails with DRSAE_REQUIRE_GPU=1, when the gpu does not open
	cb := cpu.New()
	defer cb.Close()
	info := gb.Info()
	t.Logf("gpu backend: %s | %s | %s", info.Vendor, info.Device, info.Version)

	cfg := DefaultDrSAEConfig()
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
		w  *DrSAEBatch
		g  *DrSAEGrads
	}
	build := func(be kernels.Backend) *side {
		m, err := NewDrSAE(be, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Init(x, 1); err != nil {
			t.Fatal(err)
		}
		w, err := m.NewBatch(B)
		if err != nil {
			t.Fatal(err)
		}
		g, err := m.NewGrads()
		if err != nil {
			t.Fatal(err)
		}
		be.Upload(w.X, x)
		be.Upload(w.Labels, labels)
		return &side{be, m, w, g}
	}
	gs, cs := build(gb), build(cb)
	defer func() {
		for _, s := range []*side{gs, cs} {
			s.g.Free(s.be)
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
		for i, name := range DrSAEParams {
			compare(stage, name, gs.m.Params()[i], cs.m.Params()[i])
		}
	}
	compareLoss := func(stage string, sup bool) {
		var ls [2]DrSAELoss
		for i, s := range []*side{gs, cs} {
			l, err := s.m.Loss(s.w, sup, labels)
			if err != nil {
				t.Logf("BAD %s: Loss on %s: %v", stage, s.be.Info().Name, err)
				bad = append(bad, stage+" Loss")
			}
			ls[i] = l
		}
		t.Logf("    %-22s Loss gpu: recon %.6g sparsity %.6g class %.6g total %.6g errors %d", stage, ls[0].Recon, ls[0].Sparsity, ls[0].Class, ls[0].Total, ls[0].Errors)
		t.Logf("    %-22s Loss cpu: recon %.6g sparsity %.6g class %.6g total %.6g errors %d", stage, ls[1].Recon, ls[1].Sparsity, ls[1].Class, ls[1].Total, ls[1].Errors)
		for _, q := range []struct {
			name string
			g, c float64
		}{{"recon", ls[0].Recon, ls[1].Recon}, {"sparsity", ls[0].Sparsity, ls[1].Sparsity}, {"class", ls[0].Class, ls[1].Class}, {"total", ls[0].Total, ls[1].Total}} {
			if d := math.Abs(q.g - q.c); d > 1e-3*math.Max(math.Abs(q.c), 1e-6) || math.IsNaN(d) {
				t.Logf("BAD %-22s loss term %s: gpu %.7g cpu %.7g", stage, q.name, q.g, q.c)
				bad = append(bad, stage+" loss "+q.name)
			}
		}
	}
	// l0 logs the active units of z^T: ActiveCounts (a column reduction on the device) and a
	// count of the downloaded code on the host, on both backends.
	l0 := func(stage string) {
		var counts [2][]float32
		var summary []string
		for i, s := range []*side{gs, cs} {
			counts[i] = make([]float32, u)
			if err := s.m.ActiveCounts(s.w, counts[i]); err != nil {
				t.Fatalf("ActiveCounts: %v", err)
			}
			dev := 0.0
			for _, v := range counts[i] {
				dev += float64(v)
			}
			host := 0
			for _, v := range down(s.be, s.w.Code()) {
				if v > 0 {
					host++
				}
			}
			summary = append(summary, fmt.Sprintf("%s: ActiveCounts %.2f, host count of z^T %.2f", s.be.Info().Name, dev/B, float64(host)/B))
		}
		t.Logf("    %-22s L0 (active units per sample) %s", stage, strings.Join(summary, "; "))
		diff := 0
		for i := range counts[0] {
			if counts[0][i] != counts[1][i] {
				diff++
			}
		}
		if diff > u/50 {
			t.Logf("BAD %-22s ActiveCounts differ on %d of %d units", stage, diff, u)
			bad = append(bad, stage+" ActiveCounts")
		}
	}

	compareParams("Init")
	for _, sup := range []bool{false, true} {
		stage := fmt.Sprintf("sup=%v", sup)
		gs.m.Forward(gs.w, sup)
		cs.m.Forward(cs.w, sup)
		for i := range T {
			if i > 0 {
				compare(stage+" Forward", fmt.Sprintf("a%d", i+1), gs.w.a[i], cs.w.a[i])
			} else {
				compare(stage+" Forward", "a1=E·x", gs.w.a[0], cs.w.a[0])
			}
			compare(stage+" Forward", fmt.Sprintf("z%d", i+1), gs.w.z[i], cs.w.z[i])
		}
		compare(stage+" Forward", "r=x̂−x", gs.w.r, cs.w.r)
		if sup {
			compare(stage+" Forward", "zn", gs.w.zn, cs.w.zn)
			compare(stage+" Forward", "norms", gs.w.norms, cs.w.norms)
			compare(stage+" Forward", "logits", gs.w.logits, cs.w.logits)
			compare(stage+" Forward", "dlog", gs.w.dlog, cs.w.dlog)
			compare(stage+" Forward", "xent", gs.w.xent, cs.w.xent)
		}
		compareLoss(stage+" Loss", sup)
		compare(stage+" Loss", "rnorm", gs.w.rnorm, cs.w.rnorm)
		compare(stage+" Loss", "l1", gs.w.l1, cs.w.l1)
		if sup {
			compare(stage+" Loss", "pred", gs.w.pred, cs.w.pred)
		}
		l0(stage + " Forward")
		gs.m.Backward(gs.w, gs.g, sup)
		cs.m.Backward(cs.w, cs.g, sup)
		compare(stage+" Backward", "dz (t=0)", gs.w.dz, cs.w.dz)
		compare(stage+" Backward", "g (t=0)", gs.w.g, cs.w.g)
		compare(stage+" Backward", "gsum", gs.w.gsum, cs.w.gsum)
		for i, name := range DrSAEParams {
			compare(stage+" Backward", "d"+name, gs.g.List()[i], cs.g.List()[i])
		}
	}

	// One SGD step and the projection, as the trainer issues them (no sync in between).
	for _, s := range []*side{gs, cs} {
		opt, err := NewSGD(s.be, s.m.Params(), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		opt.Step(s.m.Params(), s.g.List(), 0.01)
		s.m.Project()
	}
	compareParams("SGD+Project")
	gs.m.Forward(gs.w, true)
	cs.m.Forward(cs.w, true)
	compare("after step Forward", "z^T", gs.w.Code(), cs.w.Code())
	compareLoss("after step", true)
	l0("after step")

	// Training steps on new minibatches, uploaded while the device may still be busy, with
	// momentum, as drsae_train.go runs them; the loss is read back only at the end.
	opts := map[*side]*SGD{}
	for _, s := range []*side{gs, cs} {
		opt, err := NewSGD(s.be, s.m.Params(), 0.5, nil)
		if err != nil {
			t.Fatal(err)
		}
		opts[s] = opt
		defer opt.Free()
	}
	for i, mb := range more {
		for _, s := range []*side{gs, cs} {
			s.be.Upload(s.w.X, mb[0])
			s.be.Upload(s.w.Labels, mb[1])
			s.m.Forward(s.w, i%2 == 1)
			s.m.Backward(s.w, s.g, i%2 == 1)
			opts[s].Step(s.m.Params(), s.g.List(), 0.01)
			s.m.Project()
		}
	}
	labels = more[len(more)-1][1]
	stage := fmt.Sprintf("after %d more steps", len(more))
	compareParams(stage)
	for _, s := range []*side{gs, cs} {
		s.m.Forward(s.w, true)
	}
	compare(stage, "z^T", gs.w.Code(), cs.w.Code())
	compare(stage, "logits", gs.w.logits, cs.w.logits)
	compareLoss(stage, true)
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
