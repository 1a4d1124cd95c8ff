package lateral

import (
	"context"
	"slices"
	"testing"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
)

// keptPairs counts the pairs i < j the pattern allows.
func keptPairs(l *Lateral) int { return len(l.prune.pairs(l.cfg.Units)) }

// TestLateralPruneRule: from a full S on 6 units (15 pairs), each pruning removes the
// ⌈0.2·15⌉ = 3 pairs of least co-activity (both halves of the matrix counted; a tie goes to the
// pair first in row-major order), restarts the co-activity, and stops at ⌈0.5·15⌉ = 8 pairs;
// the projection then zeroes S on the pruned pairs.
func TestLateralPruneRule(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := Config{Inputs: 4, Units: 6, Lambda: 0.1, SScale: 0.5, SMax: 1, LearnS: true, SLRScale: 1, InferIters: 5,
		LipschitzEvery: 10, PruneEvery: 1, PruneFrac: 0.2, PruneKeep: 0.5}
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if err := l.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	m := cfg.Units
	// Co-activity 10 everywhere but (0,3): 1 (its lower half only), (2,5): 0.5 + 0.5, (1,4) and
	// (3,4): 2, a tie that (1,4) wins.
	c := make([]float32, m*m)
	for i := range c {
		c[i] = 10
	}
	c[3*m+0], c[0*m+3] = 1, 0
	c[2*m+5], c[5*m+2] = 0.5, 0.5
	c[1*m+4], c[4*m+1] = 1, 1
	c[3*m+4], c[4*m+3] = 1, 1
	be.Upload(l.prune.coact, c)
	if err := l.pruneS(); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]int{{0, 3}, {2, 5}, {1, 4}} {
		if l.prune.mask[p[0]*m+p[1]] != 0 || l.prune.mask[p[1]*m+p[0]] != 0 {
			t.Errorf("pair %v not pruned", p)
		}
	}
	if n := keptPairs(l); n != 12 {
		t.Fatalf("%d pairs left after one pruning, want 12", n)
	}
	if got := modeltest.Download(t, be, l.prune.coact); slices.ContainsFunc(got, func(v float32) bool { return v != 0 }) {
		t.Error("co-activity not restarted after the pruning")
	}
	l.ProjectS(l.S())
	checkS(t, l)
	for _, want := range []int{9, 8, 8} {
		if err := l.pruneS(); err != nil {
			t.Fatal(err)
		}
		if n := keptPairs(l); n != want {
			t.Fatalf("%d pairs left, want %d", n, want)
		}
	}
}

// TestLateralPruneTraining: training a learned S on 15 units from full (105 pairs), pruning
// every 5 steps ⌈0.1·105⌉ = 11 pairs down to ⌈0.5·105⌉ = 53, leaves after each epoch of 9 steps
// the pairs the schedule says, with S symmetric, in [0, s_max], zero on the diagonal and on
// every pruned pair.
func TestLateralPruneTraining(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := DefaultConfig()
	cfg.Units, cfg.Branch, cfg.InferIters, cfg.PruneEvery, cfg.PruneFrac, cfg.PruneKeep = 15, 0, 10, 5, 0.1, 0.5
	l, err := New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if err := l.Init(nil, 2); err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.Epochs = 3
	tr, err := model.NewTrainer(l, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Free()
	want := []int{94, 72, 53} // prunings after steps 5 | 10, 15 | 20, 25 (the last one stops at 53)
	tr.OnEpoch = func(e model.Epoch) error {
		if n := keptPairs(l); n != want[e.Epoch-1] {
			t.Errorf("epoch %d: %d pairs left, want %d", e.Epoch, n, want[e.Epoch-1])
		}
		checkS(t, l)
		return nil
	}
	if err := tr.Run(context.Background(), &model.Samples{X: patches(t, 600, 3), Dim: 64}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestLateralPrunedNaturalPatches trains a learned S started full (63 units, branch 0) and
// pruned every 25 steps down to a quarter of its pairs, on natural patches, and asserts: the
// filters of the pruned pairs are more similar than those of the pairs that still inhibit each
// other, as along a branch of a hand-set tree; the pruning stopped at its floor; S keeps its
// constraints; and the inference still beats L1 sparse coding's codes and meets the optimality
// conditions.
func TestLateralPrunedNaturalPatches(t *testing.T) {
	be := modeltest.Backend(t)
	cfg := DefaultConfig()
	cfg.Branch, cfg.PruneEvery = 0, 25
	l, test := trained(t, be, cfg, 8)
	defer l.Free()
	hp, err := model.HostParams(l)
	if err != nil {
		t.Fatal(err)
	}
	sim := PrunedSimilarity(l.cfg, hp["D"].Data, hp["S"].Data)
	t.Logf("mean |cos|: pruned pairs %.4f (%d), inhibiting pairs %.4f (%d), ratio %.3f", sim.Branch, sim.Pairs[0], sim.Other, sim.Pairs[1], sim.Ratio)
	if !(sim.Ratio > 1.5) {
		t.Errorf("pruned/inhibiting |cos| ratio %.3f ≤ 1.5", sim.Ratio)
	}
	if n := keptPairs(l); n != 489 {
		t.Errorf("%d pairs left, want the floor ⌈0.25·1953⌉ = 489", n)
	}
	checkS(t, l)
	checkInference(t, l, test)
}
