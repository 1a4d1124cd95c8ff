package main

import (
	"fmt"
	"image"
	"math"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/topo"
	"github.com/drsae/drsae/viz"
)

func init() {
	cliKinds[topo.Kind] = &cliKind{help: topoHelp, report: topoReport, show: topoShow}
}

const topoHelp = `Train a group-sparse auto-encoder on natural image patches (Kavukcuoglu et al. 2009):
  encoder z = g ⊙ max(0, W_e x − b), decoder x̂ = D z (unit-norm columns),
  loss ½‖x − D z‖² + λ Σ_j √(ε + Σ_{i∈P_j} w_ji z_i²),
with fixed pools P_j: overlapping Gaussian windows on a toroidal map of units (--pools torus, the
topographic map: neighbouring units learn similar filters), disjoint groups (--pools disjoint) or
tree paths (--pools tree). With --predictive the code is the optimal group-sparse code for D
(warm-started from and pulled towards the encoder by α/2‖z − F(x)‖²), D learns from it and the
encoder regresses it (predictive sparse decomposition).

Patches come from the CC0 photographs embedded in drsae (or --images), locally contrast
normalized, each patch with its mean removed. At the end, held-out patches measure the map: the
mean |cos| of neighbouring decoder filters against random pairs, and how much single units and
pools change when the patch shifts by 1 and 2 pixels (docs/topo.md).

The scale of λ depends on the pools' weights: a torus window's Gaussian weights sum to 1, while
disjoint groups and tree pools weigh every member 1, and in a tree a unit near the root is in
many pools; start tree layouts near --lambda 0.1.`

// topoShiftSeed draws the patches of the shift measurements and pictures.
const topoShiftSeed = 1 << 40

func topoReport(c *useContext, mod model.Module, s *model.Samples) error {
	t := mod.(*topo.Topo)
	cfg := t.Config().(*topo.Config)
	works := model.NewWorks(t)
	defer works.Free()
	sums, err := model.Evaluate(t, works, s, c.batch, 0)
	if err != nil {
		return err
	}
	codes, _, err := t.Responses(s.X, 256)
	if err != nil {
		return err
	}
	m, dead := cfg.Units(), 0
	for i := range m {
		used := false
		for k := 0; k < s.N() && !used; k++ {
			used = codes[k*m+i] != 0
		}
		if !used {
			dead++
		}
	}
	fmt.Fprintf(stdout, "½‖x−Dz‖² = %.4f, penalty Σ√(ε+Σwz²) = %.4f, energy %.4f; active units %.1f%%, never active %d of %d\n",
		sums.Mean("recon"), sums.Mean("penalty"), sums.Mean("loss"), 100*sums.Mean("active"), dead, m)
	if cfg.Predictive {
		fmt.Fprintf(stdout, "encoder prediction error ½‖z* − F(x)‖² = %.4f\n", sums.Mean("pred_err"))
	}
	sim, err := t.DecoderSimilarity()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "decoder filters, mean |cos|: map neighbours %.3f, random pairs %.3f, ratio %.2f\n", sim.Neighbour, sim.Random, sim.Ratio)
	src, err := patchSource(c.spec, c.df)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "shift sensitivity of the response pattern (0: unchanged, 1: as different as another patch):")
	for _, px := range []int{1, 2} {
		r, err := t.ShiftInvariance(src, px, s.N(), topoShiftSeed+uint64(px))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %d px: units %.3f, pools %.3f (%.2f× units), pools scattered at random %.3f; raw units %.3f, raw pools %.3f\n",
			r.Shift, r.Units, r.Pools, r.Pools/r.Units, r.Scattered, r.RawUnits, r.RawPools)
	}
	return nil
}

// topoShow draws the decoder filters (columns of D) and the encoder filters (rows of W_e) laid
// out on the map, and for a few patches, each at its place and shifted by 1 and 2 pixels, the
// patch, the units' responses on the map and the pools' responses (heat maps; a good map's pools
// light up in the same places as the patch shifts).
func topoShow(c *useContext, mod model.Module, prefix string) ([]string, error) {
	t := mod.(*topo.Topo)
	cfg := t.Config().(*topo.Config)
	n, m, side := cfg.Inputs, cfg.Units(), int(math.Round(math.Sqrt(float64(cfg.Inputs))))
	host, err := model.HostParams(t)
	if err != nil {
		return nil, err
	}
	we := host["We"].Data // [m,n]: transposed to D's [n,m] layout
	enc := make([]float32, n*m)
	for i := range m {
		for k := range n {
			enc[k*m+i] = we[i*n+k]
		}
	}
	opt := viz.GridOptions{Zoom: 3}
	var written []string
	for name, d := range map[string][]float32{"map.png": host["D"].Data, "encoder.png": enc} {
		if err := viz.SavePNG(prefix+name, viz.TopoMap(d, side, cfg.MapH, cfg.MapW, opt)); err != nil {
			return nil, err
		}
		written = append(written, prefix+name)
	}
	src, err := patchSource(c.spec, c.df)
	if err != nil {
		return nil, err
	}
	var x []float32
	for e := range 4 {
		img := e % len(src.Images)
		at := data.RandomPositions(src.Images[img], side, 1, 2, topoShiftSeed+uint64(e))[0]
		for _, s := range []int{0, 1, 2} {
			x = append(x, src.PatchAt(img, at.Add(image.Pt(s, 0)))...)
		}
	}
	codes, pooled, err := t.Responses(x, 256)
	if err != nil {
		return nil, err
	}
	p := t.Layout.NumPools()
	ph, pw := (cfg.MapH+cfg.Stride-1)/max(cfg.Stride, 1), (cfg.MapW+cfg.Stride-1)/max(cfg.Stride, 1)
	if cfg.Pools != topo.PoolsTorus || cfg.Scatter != 0 || ph*pw != p {
		pw = int(math.Ceil(math.Sqrt(float64(p)))) // a near-square grid, the last cells empty
		ph = (p + pw - 1) / pw
	}
	rows := make([]viz.ResponseRow, len(x)/n)
	for i := range rows {
		pool := make([]float32, ph*pw)
		copy(pool, pooled[i*p:(i+1)*p])
		rows[i] = viz.ResponseRow{Patch: x[i*n : (i+1)*n], Units: codes[i*m : (i+1)*m], Pooled: pool}
	}
	path := prefix + "responses.png"
	return append(written, path), viz.SavePNG(path, viz.ResponseMaps(rows, side, cfg.MapH, cfg.MapW, ph, pw, opt))
}
