// Package topo is the group-sparse and topographic auto-encoder (Kavukcuoglu, Ranzato, Fergus &
// LeCun, "Learning Invariant Features through Topographic Filter Maps", CVPR 2009), the model
// kind "topo": units on a map, with group sparsity over fixed pools of units.
package topo

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// phases: one phase of training.
var phases = []string{"train"}

// Kind is the kind's registered name.
const Kind = "topo"

// Pool layouts a Config can name.
const (
	PoolsTorus    = "torus"    // overlapping Window×Window windows on the MapH×MapW torus
	PoolsDisjoint = "disjoint" // consecutive groups of Group units
	PoolsTree     = "tree"     // a complete Branch-ary tree in heap order; a pool per node and its ancestors
)

func init() {
	model.Register(model.Kind{
		Name:      Kind,
		Summary:   "group-sparse / topographic auto-encoder on natural image patches (Kavukcuoglu et al. 2009)",
		Phases:    phases,
		NewConfig: func() model.Config { c := DefaultConfig(); return &c },
		NewTrain:  DefaultTrainConfig,
		Data: model.DataSpec{Source: "patches", Preprocess: "mean", Patch: 12, LCNSigma: 4, TrainSize: 20000,
			TestSize: 2000, Seed: 1},
		New: func(be kernels.Backend, c model.Config) (model.Module, error) { return New(be, *c.(*Config)) },
	})
}

// Config fixes the map, the pools and the loss. The inputs are image patches (the data's).
type Config struct {
	Inputs int `json:"inputs" cfg:"required,noflag" help:"n, pixels of a patch (from the data)"`
	Rows   int `json:"rows" cfg:"noflag" help:"patch height (from the data)"`
	Cols   int `json:"cols" cfg:"noflag" help:"patch width (from the data)"`
	MapH   int `json:"map_h" cfg:"required" help:"rows of the map of units (units: map_h·map_w)"`
	MapW   int `json:"map_w" cfg:"required" help:"columns of the map of units"`

	Pools  string  `json:"pools" help:"pool layout: torus (overlapping windows on the map), disjoint (groups) or tree"`
	Window int     `json:"window" help:"torus: window side, in map cells"`
	Stride int     `json:"stride" help:"torus: step between windows"`
	Sigma  float64 `json:"sigma" help:"torus: σ of the Gaussian window weights, in cells (0: flat)"`
	Group  int     `json:"group" help:"disjoint: units per group"`
	Branch int     `json:"branch" help:"tree: children per node (a complete tree in heap order)"`
	// Scatter, when not 0, relabels the pools' members by a random permutation drawn from this
	// seed: the same pooling with no relation between pools and map neighbourhoods, the control.
	Scatter uint64 `json:"scatter" help:"control experiment: scatter each pool's units over the map with this seed (0: off)"`

	Lambda float64 `json:"lambda" help:"weight λ of the group penalty Σ_j √(ε + Σ w z²)"`
	Eps    float64 `json:"eps" help:"ε inside the square root of each pool's norm"`

	// Predictive: the code is the optimal group-sparse code z* of ½‖x − Dz‖² + α/2‖z − F(x)‖² +
	// λ·penalty (model.GroupSparse, InferIters steps), D learns from z* and the encoder F regresses
	// it. Otherwise the encoder's output is the code and the whole loss is minimized.
	Predictive     bool    `json:"predictive" help:"predictive variant: the encoder regresses the optimal group-sparse code"`
	Alpha          float64 `json:"alpha" help:"predictive: weight α of ½‖z − F(x)‖² in the energy"`
	InferIters     int     `json:"infer_iters" help:"predictive: solver iterations per step"`
	LipschitzEvery int     `json:"lipschitz_every" help:"predictive: steps between re-estimates of λ_max(DᵀD) (5 warm-started power iterations)"`
	// The decoder learns DecoderLRScale times faster than the encoder: with its columns
	// renormalized after every step, a slow D keeps the noise of its random start for many epochs.
	DecoderLRScale float64 `json:"decoder_lr_scale" help:"D's learning rate, as a multiple of the encoder's"`
}

// DefaultConfig is a 16×16 torus of units with overlapping 5×5 Gaussian pools (σ = 1.5 cells)
// at stride 1, the layout of Kavukcuoglu et al.'s topographic maps scaled to a run of a minute on
// a CPU, over 12×12 patches.
func DefaultConfig() Config {
	return Config{Inputs: 144, Rows: 12, Cols: 12, MapH: 16, MapW: 16, Pools: PoolsTorus, Window: 5, Stride: 1, Sigma: 1.5,
		Group: 4, Branch: 2, Lambda: 0.5, Eps: model.DefaultGroupEps, Alpha: 1, InferIters: 30, LipschitzEvery: 10, DecoderLRScale: 5}
}

// DefaultTrainConfig trains on 20,000 natural patches in about half a minute on a CPU: 10 epochs
// of minibatches of 64, SGD with lr 0.02 and momentum 0.9.
func DefaultTrainConfig() model.TrainConfig {
	c := model.DefaultTrainConfig()
	c.Batch, c.Epochs, c.LR, c.ReportEvery = 64, 10, 0.02, 20
	return c
}

// Units is m = MapH·MapW.
func (c Config) Units() int { return c.MapH * c.MapW }

// Validate returns an error naming the first key out of range.
func (c Config) Validate() error {
	if err := model.CheckSizes(c.Inputs, 0, 0); err != nil {
		return err
	}
	switch {
	case c.Inputs <= 0:
		return fmt.Errorf("inputs = %d, want > 0", c.Inputs)
	case c.MapH <= 0:
		return fmt.Errorf("map_h = %d, want > 0", c.MapH)
	case c.MapW <= 0:
		return fmt.Errorf("map_w = %d, want > 0", c.MapW)
	case c.MapH > model.MaxUnits || c.MapW > model.MaxUnits || c.MapH*c.MapW > model.MaxUnits:
		return fmt.Errorf("map_h × map_w = %d×%d, beyond drsae's limit of %d units", c.MapH, c.MapW, model.MaxUnits)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("lambda = %g, want a finite value ≥ 0", c.Lambda)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("eps = %g, want a finite value > 0", c.Eps)
	case c.Predictive && (!(c.Alpha >= 0) || math.IsInf(c.Alpha, 0)):
		return fmt.Errorf("alpha = %g, want a finite value ≥ 0", c.Alpha)
	case c.Predictive && c.InferIters <= 0:
		return fmt.Errorf("infer_iters = %d, want > 0", c.InferIters)
	case c.Predictive && c.LipschitzEvery <= 0:
		return fmt.Errorf("lipschitz_every = %d, want > 0", c.LipschitzEvery)
	case !(c.DecoderLRScale > 0) || math.IsInf(c.DecoderLRScale, 0):
		return fmt.Errorf("decoder_lr_scale = %g, want > 0", c.DecoderLRScale)
	case c.Rows*c.Cols != 0 && c.Rows*c.Cols != c.Inputs:
		return fmt.Errorf("rows × cols = %d×%d does not hold %d inputs", c.Rows, c.Cols, c.Inputs)
	}
	_, err := c.Layout()
	return err
}

// Layout builds the pool layout the config names.
func (c Config) Layout() (*kernels.PoolLayout, error) {
	m := c.Units()
	var l *kernels.PoolLayout
	var err error
	switch c.Pools {
	case PoolsTorus:
		l, err = kernels.TorusPools(c.MapH, c.MapW, c.Window, c.Stride, c.Sigma)
	case PoolsDisjoint:
		l, err = kernels.DisjointPools(m, c.Group)
	case PoolsTree:
		if c.Branch <= 0 {
			return nil, fmt.Errorf("branch = %d, want > 0 for tree pools", c.Branch)
		}
		parent := make([]int, m)
		for i := range parent {
			parent[i] = (i - 1) / c.Branch
		}
		parent[0] = -1
		l, err = kernels.TreePools(parent)
	default:
		return nil, fmt.Errorf("pools = %q, want %q, %q or %q", c.Pools, PoolsTorus, PoolsDisjoint, PoolsTree)
	}
	if err != nil || c.Scatter == 0 {
		return l, err
	}
	perm := data.Permutation(m, c.Scatter)
	members := make([][]int, l.NumPools())
	weights := make([][]float32, l.NumPools())
	for j := range members {
		idx, w := l.Pool(j)
		for _, i := range idx {
			members[j] = append(members[j], perm[i])
		}
		weights[j] = append([]float32(nil), w...)
	}
	return kernels.NewPoolLayout(m, members, weights)
}
