package main

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/lateral"
	"github.com/drsae/drsae/viz"
)

func init() {
	cliKinds[lateral.Kind] = &cliKind{help: lateralHelp, report: lateralReport, show: lateralShow}
}

const lateralHelp = `Train sparse coding with lateral inhibition on natural image patches (Szlam, Gregor & LeCun 2011):
  energy E(x, z) = ½‖x − D z‖² + λ‖z‖₁ + |z|ᵀ S |z|, D with unit-norm columns, S ≥ 0 symmetric,
with zero diagonal. The units are the nodes of a complete tree (--branch children per node, heap
order; --branch 0: no tree) and S is zero between a unit and its ancestors and descendants:
each unit inhibits all but those up and down its branch. The code of x is the z that lowers E,
found by --infer-iters proximal-gradient steps from z = 0 whose threshold for unit i is
λ + 2(S|z|)_i (--fista to extrapolate). Each minibatch takes one descent step on D and, with
--learn-s, one ascent step on S (its gradient |z||z|ᵀ), then projects S back: symmetric, in
[0, s_max], zero on the diagonal and along branches. Without --learn-s, S stays at --s-scale on
every allowed entry. With --prune-every K (and --learn-s), every K steps the allowed pairs least
often on together lose their entry of S for good (--prune-frac of the pairs at a time, down to
--prune-keep of them); with --branch 0, S starts full.

Patches come from the CC0 photographs embedded in drsae (or --images), locally contrast
normalized, each patch with its mean removed. At the end, held-out patches give the energy and
its terms, and the dictionary gives the mean |cos| of filters along a branch against filters in
different branches (docs/lateral.md).`

func lateralReport(c *useContext, mod model.Module, s *model.Samples) error {
	l := mod.(*lateral.Lateral)
	cfg := l.Config().(*lateral.Config)
	works := model.NewWorks(l)
	defer works.Free()
	sums, err := model.Evaluate(l, works, s, c.batch, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "energy %.4f: ½‖x−Dz‖² = %.4f, ‖z‖₁ = %.4f, |z|ᵀS|z| = %.4f; active units %.2f of %d\n",
		sums.Mean("loss"), sums.Mean("recon"), sums.Mean("l1"), sums.Mean("inhib"), sums.Mean("L0"), cfg.Units)
	host, err := model.HostParams(l)
	if err != nil {
		return err
	}
	var top, sum float64
	var allowed, zero int
	m := cfg.Units
	for i, v := range host["S"].Data {
		if !cfg.Related(i/m, i%m) {
			allowed++
			top, sum = math.Max(top, float64(v)), sum+float64(v)
			if v == 0 {
				zero++
			}
		}
	}
	switch {
	case cfg.PruneEvery > 0:
		fmt.Fprintf(stdout, "S: %d allowed entries, %d of them zero (pruned); the others: mean %.4f, largest %.4f (bound %g)\n",
			allowed, zero, sum/float64(max(allowed-zero, 1)), top, cfg.SMax)
		sim := lateral.PrunedSimilarity(*cfg, host["D"].Data, host["S"].Data)
		fmt.Fprintf(stdout, "decoder filters, mean |cos|: pruned pairs %.3f, inhibiting pairs %.3f, ratio %.2f\n", sim.Branch, sim.Other, sim.Ratio)
	case allowed > 0:
		fmt.Fprintf(stdout, "S: %d allowed entries, mean %.4f, largest %.4f (bound %g)\n", allowed, sum/float64(allowed), top, cfg.SMax)
	}
	if cfg.Branch > 0 {
		sim := lateral.BranchSimilarity(*cfg, host["D"].Data)
		fmt.Fprintf(stdout, "decoder filters, mean |cos|: along a branch %.3f, different branches %.3f, ratio %.2f; parent and child %.3f\n",
			sim.Branch, sim.Other, sim.Ratio, sim.Parent)
	}
	return nil
}

// lateralShow draws the dictionary laid out as the tree (tree.png: one row per root-to-leaf
// path, the root on the left; with no tree, a plain grid) and S (inhibition.png, units in heap
// order).
func lateralShow(c *useContext, mod model.Module, prefix string) ([]string, error) {
	l := mod.(*lateral.Lateral)
	cfg := l.Config().(*lateral.Config)
	host, err := model.HostParams(l)
	if err != nil {
		return nil, err
	}
	n, m := cfg.Inputs, cfg.Units
	th, tw := cfg.Rows, cfg.Cols
	if th*tw != n {
		th, tw = 1, n
	}
	filters := viz.Cols(host["D"].Data, n, m)
	var tiles [][]float32
	cols := 0
	if cfg.Branch == 0 {
		tiles = filters
	} else {
		for i := range m {
			cols = max(cols, cfg.Depth(i)+1)
		}
		blank := make([]float32, n)
		for leaf := range m {
			if cfg.Branch*leaf+1 < m { // has a child: not a leaf
				continue
			}
			path := make([][]float32, cfg.Depth(leaf)+1)
			for u, d := leaf, len(path)-1; u >= 0; u, d = cfg.Parent(u), d-1 {
				path[d] = filters[u]
			}
			for len(path) < cols {
				path = append(path, blank)
			}
			tiles = append(tiles, path...)
		}
	}
	tree, heat := prefix+"tree.png", prefix+"inhibition.png"
	if err := viz.SavePNG(tree, viz.Grid(tiles, th, tw, cols, viz.GridOptions{Zoom: 3})); err != nil {
		return nil, err
	}
	zoom := max(1, 256/m)
	if err := viz.SavePNG(heat, viz.HeatMap(host["S"].Data, m, m, viz.HeatMapOptions{Zoom: zoom})); err != nil {
		return nil, err
	}
	return []string{tree, heat}, nil
}
