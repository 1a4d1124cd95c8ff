// Package lateral is sparse coding with lateral inhibition (Szlam, Gregor & LeCun, "Structured
// sparse coding via lateral inhibition", NIPS 2011), the model kind "lateral": the energy
//
//	E(x, z) = ½‖x − D z‖² + λ‖z‖₁ + |z|ᵀ S |z|,   S ≥ 0, symmetric, zero diagonal,
//
// with S hand-set or learned, and in the tree form zero between a unit and its ancestors and
// descendants in a complete Branch-ary tree of units in heap order.
package lateral

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// phases: one phase of training.
var phases = []string{"train"}

// Kind is the kind's registered name.
const Kind = "lateral"

func init() {
	model.Register(model.Kind{
		Name:      Kind,
		Summary:   "sparse coding with (tree-structured, learned) lateral inhibition on natural image patches (Szlam et al. 2011)",
		Phases:    phases,
		NewConfig: func() model.Config { c := DefaultConfig(); return &c },
		NewTrain:  DefaultTrainConfig,
		Data: model.DataSpec{Source: "patches", Preprocess: "mean", Patch: 8, LCNSigma: 4, TrainSize: 20000,
			TestSize: 2000, Seed: 1},
		New: func(be kernels.Backend, c model.Config) (model.Module, error) { return New(be, *c.(*Config)) },
	})
}

// Config fixes the tree, the energy, the inference and S's pruning.
type Config struct {
	Inputs int `json:"inputs" cfg:"required,noflag" help:"n, pixels of a patch (from the data)"`
	Rows   int `json:"rows" cfg:"noflag" help:"patch height (from the data)"`
	Cols   int `json:"cols" cfg:"noflag" help:"patch width (from the data)"`
	Units  int `json:"units" cfg:"required" help:"m, units of the code: the nodes of the tree, in heap order"`
	Branch int `json:"branch" help:"children per node of the tree (0: no tree, S is full off the diagonal)"`

	Lambda float64 `json:"lambda" help:"weight λ of the L1 penalty λ‖z‖₁"`
	SScale float64 `json:"s_scale" help:"initial (or fixed) value of every allowed entry of S"`
	SMax   float64 `json:"s_max" help:"bound of every entry of a learned S: the projection clips S to [0, s_max]"`
	LearnS bool    `json:"learn_s" help:"learn S by gradient ascent on the energy (otherwise S stays hand-set)"`
	// SLRScale multiplies the learning rate of S's ascent step.
	SLRScale   float64 `json:"s_lr_scale" help:"S's learning rate, as a multiple of D's"`
	InferIters int     `json:"infer_iters" help:"proximal-gradient iterations of the inference per sample"`
	FISTA      bool    `json:"fista" help:"extrapolate the inference's iterates as FISTA does (otherwise plain ISTA steps)"`
	// LipschitzEvery: the step size 1/L of the inference is re-estimated every LipschitzEvery
	// training steps, not every minibatch (the estimate waits for the device).
	LipschitzEvery int `json:"lipschitz_every" help:"training steps between re-estimates of the inference's step size (a warm-started power iteration for λ_max(DᵀD); S's part needs none)"`

	// Pruning (PruneEvery > 0, a learned S): every PruneEvery training steps the allowed pairs
	// of units least co-active since the last pruning, ⌈PruneFrac·P₀⌉ of them (P₀ the pairs the
	// tree allows, all of them with branch 0), lose their entry of S for good, until
	// ⌈PruneKeep·P₀⌉ pairs are left.
	PruneEvery int     `json:"prune_every" help:"training steps between prunings of S: its least co-active allowed pairs lose their entry for good (0: never; needs learn_s; with branch 0, S starts full)"`
	PruneFrac  float64 `json:"prune_frac" help:"pairs pruned each time, as a fraction of the pairs S allows at the start"`
	PruneKeep  float64 `json:"prune_keep" help:"pruning stops when this fraction of the pairs S allows at the start is left"`
}

// DefaultConfig is a binary tree of 63 units (6 levels) over 8×8 patches, with S learned from
// 0.5 on every allowed entry, bounded by 1, 50 ISTA steps of inference with the step size
// re-estimated every 10 training steps, and no pruning.
func DefaultConfig() Config {
	return Config{Inputs: 64, Rows: 8, Cols: 8, Units: 63, Branch: 2, Lambda: 0.5, SScale: 0.5, SMax: 1,
		LearnS: true, SLRScale: 1, InferIters: 50, LipschitzEvery: 10, PruneFrac: 0.05, PruneKeep: 0.25}
}

// DefaultTrainConfig: 8 epochs of minibatches of 64, SGD with lr 0.2 and momentum 0.9.
func DefaultTrainConfig() model.TrainConfig {
	c := model.DefaultTrainConfig()
	c.Batch, c.Epochs, c.LR, c.ReportEvery = 64, 8, 0.2, 20
	return c
}

// Validate returns an error naming the first key out of range.
func (c Config) Validate() error {
	if err := model.CheckSizes(c.Inputs, c.Units, c.InferIters); err != nil {
		return err
	}
	finite := func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }
	switch {
	case c.Inputs <= 0:
		return fmt.Errorf("inputs = %d, want > 0", c.Inputs)
	case c.Units <= 0:
		return fmt.Errorf("units = %d, want > 0", c.Units)
	case c.Units > 8192:
		return fmt.Errorf("units = %d, beyond the kind's limit of 8192 (S is units×units)", c.Units)
	case c.Branch < 0:
		return fmt.Errorf("branch = %d, want ≥ 0", c.Branch)
	case !finite(c.Lambda):
		return fmt.Errorf("lambda = %g, want a finite value ≥ 0", c.Lambda)
	case !finite(c.SScale):
		return fmt.Errorf("s_scale = %g, want a finite value ≥ 0", c.SScale)
	case !(c.SMax > 0) || math.IsInf(c.SMax, 0):
		return fmt.Errorf("s_max = %g, want a finite value > 0", c.SMax)
	case c.SScale > c.SMax:
		return fmt.Errorf("s_scale = %g is above s_max = %g", c.SScale, c.SMax)
	case !(c.SLRScale > 0) || math.IsInf(c.SLRScale, 0):
		return fmt.Errorf("s_lr_scale = %g, want a finite value > 0", c.SLRScale)
	case c.InferIters <= 0:
		return fmt.Errorf("infer_iters = %d, want > 0", c.InferIters)
	case c.LipschitzEvery <= 0:
		return fmt.Errorf("lipschitz_every = %d, want > 0", c.LipschitzEvery)
	case c.PruneEvery < 0:
		return fmt.Errorf("prune_every = %d, want ≥ 0", c.PruneEvery)
	case c.PruneEvery > 0 && !c.LearnS:
		return fmt.Errorf("prune_every = %d, but S is not learned (learn_s false): pruning ranks the pairs by S's gradient", c.PruneEvery)
	case c.PruneEvery > 0 && !(c.PruneFrac > 0 && c.PruneFrac <= 1):
		return fmt.Errorf("prune_frac = %g, want a fraction in (0, 1]", c.PruneFrac)
	case c.PruneEvery > 0 && !(c.PruneKeep >= 0 && c.PruneKeep <= 1):
		return fmt.Errorf("prune_keep = %g, want a fraction in [0, 1]", c.PruneKeep)
	case c.Rows*c.Cols != 0 && c.Rows*c.Cols != c.Inputs:
		return fmt.Errorf("rows × cols = %d×%d does not hold %d inputs", c.Rows, c.Cols, c.Inputs)
	}
	return nil
}

// Parent is the parent of unit i in the tree (−1 for the root, and for every unit without a tree).
func (c Config) Parent(i int) int {
	if c.Branch == 0 || i == 0 {
		return -1
	}
	return (i - 1) / c.Branch
}

// Related reports whether i is j, or an ancestor or a descendant of j in the tree: the pairs
// whose S entry is zero.
func (c Config) Related(i, j int) bool {
	if i == j {
		return true
	}
	if c.Branch == 0 {
		return false
	}
	for a := c.Parent(i); a >= 0; a = c.Parent(a) {
		if a == j {
			return true
		}
	}
	for a := c.Parent(j); a >= 0; a = c.Parent(a) {
		if a == i {
			return true
		}
	}
	return false
}

// Mask is the [m,m] pattern of S's allowed entries, row-major: 1 where units are unrelated.
func (c Config) Mask() []float32 {
	m := c.Units
	out := make([]float32, m*m)
	for i := range m {
		for j := range m {
			if !c.Related(i, j) {
				out[i*m+j] = 1
			}
		}
	}
	return out
}
