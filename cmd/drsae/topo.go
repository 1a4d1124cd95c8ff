package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/viz"
)

// Group-sparse and topographic auto-encoders on natural image patches (Kavukcuoglu, Ranzato,
// Fergus & LeCun, CVPR 2009).
func init() {
	addKind(&modelKind{
		name:    model.TopoKind,
		summary: "group-sparse / topographic auto-encoder on natural image patches (Kavukcuoglu et al. 2009)",
		train:   topoTrain,
		encode:  topoEncode,
		eval:    topoEval,
		show:    topoShow,
	})
}

const topoTrainHelp = `Train a group-sparse auto-encoder on natural image patches:
  encoder z = g ⊙ max(0, W_e x − b), decoder x̂ = D z (unit-norm columns),
  loss ½‖x − D z‖² + λ Σ_j √(ε + Σ_{i∈P_j} w_ji z_i²),
with fixed pools P_j: overlapping Gaussian windows on a toroidal map of units (--pools torus, the
topographic map: neighbouring units learn similar filters), disjoint groups (--pools disjoint) or
tree paths (--pools tree). With --predictive the code is the optimal group-sparse code for D
(warm-started from and pulled towards the encoder by α/2‖z − F(x)‖²), D learns from it and the
encoder regresses it (predictive sparse decomposition).

Patches come from the CC0 photographs embedded in drsae (or --images), locally contrast
normalized, each patch with its mean removed. Files in --out: topo.safetensors (+ .json), and
map.png, the decoder filters laid out on the map. After training, held-out patches measure the
map: the mean |cos| of neighbouring decoder filters against random pairs, and how much single
units and pools change when the patch shifts by 1 and 2 pixels (see docs/topo.md).

The scale of λ depends on the pools' weights: a torus window's Gaussian weights sum to 1, while
disjoint groups and tree pools weigh every member 1, and in a tree a unit near the root is in
many pools; start tree layouts near --lambda 0.1.`

// topoArch holds the flags that shape a model.
type topoArch struct {
	cfg model.TopoConfig
	mp  string
}

func (a *topoArch) flags(fs *flag.FlagSet) {
	a.cfg = model.DefaultTopoConfig()
	c := &a.cfg
	fs.IntVar(&c.Patch, "patch", c.Patch, "patch side in pixels (inputs: patch²)")
	fs.StringVar(&a.mp, "map", fmt.Sprintf("%dx%d", c.MapH, c.MapW), "map of units, HxW (units: H·W)")
	fs.StringVar(&c.Pools, "pools", c.Pools, "pool layout: torus (overlapping windows on the map), disjoint (groups) or tree")
	fs.IntVar(&c.Window, "window", c.Window, "torus: window side, in map cells")
	fs.IntVar(&c.Stride, "stride", c.Stride, "torus: step between windows")
	fs.Float64Var(&c.Sigma, "sigma", c.Sigma, "torus: σ of the Gaussian window weights in cells (0: flat)")
	fs.IntVar(&c.Group, "group", 4, "disjoint: units per group")
	fs.IntVar(&c.Branch, "branch", 2, "tree: children per node (a complete tree in heap order)")
	fs.Uint64Var(&c.Scatter, "scatter", 0, "control experiment: scatter each pool's units over the map with this seed (0: off)")
	fs.Float64Var(&c.Lambda, "lambda", c.Lambda, "weight λ of the group penalty")
	fs.Float64Var(&c.Eps, "eps", c.Eps, "ε inside the square root of each pool's norm")
	fs.BoolVar(&c.Predictive, "predictive", false, "predictive variant: the encoder regresses the optimal group-sparse code")
	fs.Float64Var(&c.Alpha, "alpha", c.Alpha, "predictive: weight α of ½‖z − F(x)‖² in the energy")
	fs.IntVar(&c.InferIters, "infer-iters", c.InferIters, "predictive: solver iterations per step")
	fs.Float64Var(&c.LCNSigma, "lcn-sigma", c.LCNSigma, "σ in pixels of the local contrast normalization of the images (0: none)")
}

// finish parses --map and drops the settings of the layouts not chosen, then validates.
func (a *topoArch) finish() error {
	c := &a.cfg
	hs, ws, ok := strings.Cut(strings.ToLower(a.mp), "x")
	h, err1 := strconv.Atoi(hs)
	w, err2 := strconv.Atoi(ws)
	if !ok || err1 != nil || err2 != nil || h <= 0 || w <= 0 {
		return usagef("--map %q: want HxW, e.g. 16x16", a.mp)
	}
	c.MapH, c.MapW = h, w
	switch c.Pools {
	case model.PoolsTorus:
		c.Group, c.Branch = 0, 0
	case model.PoolsDisjoint:
		c.Window, c.Stride, c.Sigma, c.Branch = 0, 0, 0, 0
	case model.PoolsTree:
		c.Window, c.Stride, c.Sigma, c.Group = 0, 0, 0, 0
	}
	if !c.Predictive {
		c.Alpha, c.InferIters = 0, 0
	}
	if err := c.Validate(); err != nil {
		return usageError{msg: err.Error()}
	}
	return nil
}

// topoSource returns the patch source: the embedded photographs, or the PNG and JPEG files in dir.
func topoSource(dir string, cfg model.TopoConfig) (*model.PatchSource, error) {
	if dir == "" {
		src, err := model.NaturalPatchSource(cfg)
		if err == nil && len(src.Images) == 0 {
			err = fmt.Errorf("--patch %d: no embedded photograph holds a %d×%d patch with %d pixels to spare", cfg.Patch, cfg.Patch, cfg.Patch, model.PatchMargin)
		}
		return src, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--images: %v", err)
	}
	var imgs []data.Gray
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			g, err := data.LoadGray(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			imgs = append(imgs, g)
		}
	}
	src := model.NewPatchSource(imgs, cfg.Patch, cfg.LCNSigma)
	if len(src.Images) == 0 {
		return nil, fmt.Errorf("--images %s: no PNG or JPEG image of at least %d×%d pixels", dir, cfg.Patch+2*model.PatchMargin, cfg.Patch+2*model.PatchMargin)
	}
	return src, nil
}

// topoHeldOutSeed draws the held-out patches of train, eval and encode: a seed no training run uses.
const topoHeldOutSeed = 1 << 40

func topoTrain(args []string) error {
	fs := newFlags("train topo", "[flags]", topoTrainHelp)
	backend := backendFlag(fs)
	var arch topoArch
	arch.flags(fs)
	opt := model.DefaultTopoTrainOptions()
	out := fs.String("out", "runs/topo", "folder for the trained model and map.png")
	images := fs.String("images", "", "folder of PNG/JPEG photographs to cut patches from (default: the embedded CC0 photos)")
	patches := fs.Int("patches", 20000, "training patches")
	fs.IntVar(&opt.Epochs, "epochs", opt.Epochs, "passes over the patches")
	fs.IntVar(&opt.Batch, "batch", opt.Batch, "minibatch size")
	fs.Float64Var(&opt.LR, "lr", opt.LR, "learning rate of the encoder (W_e, b, g)")
	fs.Float64Var(&opt.DecoderLR, "decoder-lr", opt.DecoderLR, "learning rate of the decoder D")
	fs.Float64Var(&opt.Momentum, "momentum", opt.Momentum, "SGD momentum")
	fs.Uint64Var(&opt.Seed, "seed", opt.Seed, "random seed (initialization, patches, minibatch order)")
	quiet := fs.Bool("quiet", false, "one line per epoch only")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := arch.finish(); err != nil {
		return err
	}
	switch {
	case *patches <= 0:
		return usagef("--patches %d: want > 0", *patches)
	case opt.Epochs <= 0:
		return usagef("--epochs %d: want > 0", opt.Epochs)
	case opt.Batch <= 0 || opt.Batch > *patches:
		return usagef("--batch %d: want 1..%d (--patches)", opt.Batch, *patches)
	case !(opt.LR > 0) || math.IsInf(opt.LR, 0):
		return usagef("--lr %g: want > 0", opt.LR)
	case !(opt.DecoderLR > 0) || math.IsInf(opt.DecoderLR, 0):
		return usagef("--decoder-lr %g: want > 0", opt.DecoderLR)
	case !(opt.Momentum >= 0 && opt.Momentum < 1):
		return usagef("--momentum %g: want 0 ≤ μ < 1", opt.Momentum)
	}
	cfg := arch.cfg
	src, err := topoSource(*images, cfg)
	if err != nil {
		return err
	}
	x := src.Random(*patches, opt.Seed)
	be, err := openBackend(*backend)
	if err != nil {
		return err
	}
	defer be.Close()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	t, err := model.NewTopo(be, cfg)
	if err != nil {
		return err
	}
	defer t.Free()
	t.Init(opt.Seed)
	info := be.Info()
	fmt.Fprintf(stderr, "topo %s on %s (%s): %d×%d patches, %d×%d map, %d %s pools, λ=%g; %d patches × %d epochs, batch %d, lr %g/%g\n",
		topoKindName(cfg), info.Name, info.Device, cfg.Patch, cfg.Patch, cfg.MapH, cfg.MapW, t.Layout.NumPools(), cfg.Pools, cfg.Lambda,
		*patches, opt.Epochs, opt.Batch, opt.LR, opt.DecoderLR)
	start := time.Now()
	tty := !*quiet && isTerminal()
	_, err = t.Train(x, opt, func(p model.Progress) {
		switch {
		case p.EndOfEpoch:
			if tty {
				fmt.Fprint(stderr, "\r\033[K")
			}
			fmt.Fprintln(stderr, p.String())
		case tty:
			fmt.Fprintf(stderr, "\r\033[K%s", p.String())
		}
	})
	if err != nil {
		if errors.Is(err, model.ErrTopoNotFinite) {
			return fmt.Errorf("%v: try a smaller --lr/--decoder-lr or --lambda", err)
		}
		return err
	}
	elapsed := time.Since(start)
	rep, err := topoMeasure(t, src, 2000)
	if err != nil {
		return err
	}
	path := filepath.Join(*out, "topo.safetensors")
	meta := rep.meta()
	meta["train_seconds"] = fmt.Sprintf("%.1f", elapsed.Seconds())
	meta["backend"] = info.Name + ": " + info.Device
	if err := t.Save(path, meta); err != nil {
		return err
	}
	mapPath := filepath.Join(*out, "map.png")
	if err := topoSaveMap(t, mapPath, false, viz.GridOptions{Zoom: 3}); err != nil {
		return err
	}
	rep.print(t)
	fmt.Fprintf(stdout, "training took %s on %s\n", elapsed.Round(100*time.Millisecond), info.Device)
	fmt.Fprintf(stdout, "model: %s (+ %s); map: %s\n", path, model.ConfigPath(path), mapPath)
	return nil
}

func topoKindName(c model.TopoConfig) string {
	if c.Predictive {
		return "predictive"
	}
	return "auto-encoder"
}

func isTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && stderr == os.Stderr
}

// topoReport is what eval prints and train stores in the model's metadata.
type topoReport struct {
	loss     model.TopoLoss
	sim      model.MapSimilarity
	shifts   []model.ShiftReport
	patches  int
	lambda   float64
	pred     bool
	deadUnit int
}

// topoMeasure evaluates t on count held-out patches of src.
func topoMeasure(t *model.Topo, src *model.PatchSource, count int) (*topoReport, error) {
	x := src.Random(count, topoHeldOutSeed)
	r := &topoReport{patches: count, lambda: t.Config.Lambda, pred: t.Config.Predictive}
	var err error
	if r.loss, err = t.Evaluate(x, 256); err != nil {
		return nil, err
	}
	if r.sim, err = t.DecoderSimilarity(); err != nil {
		return nil, err
	}
	for _, s := range []int{1, 2} {
		rep, err := t.ShiftInvariance(src, s, count, topoHeldOutSeed+uint64(s))
		if err != nil {
			return nil, err
		}
		r.shifts = append(r.shifts, rep)
	}
	codes, _, err := t.Responses(x, 256)
	if err != nil {
		return nil, err
	}
	m := t.Config.Units()
	for i := range m {
		dead := true
		for s := 0; s < count && dead; s++ {
			dead = codes[s*m+i] == 0
		}
		if dead {
			r.deadUnit++
		}
	}
	return r, nil
}

func (r *topoReport) meta() map[string]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 5, 64) }
	m := map[string]string{
		"heldout_loss":        f(r.loss.Loss(r.lambda)),
		"heldout_recon":       f(r.loss.Recon),
		"cos_neighbour":       f(r.sim.Neighbour),
		"cos_random":          f(r.sim.Random),
		"cos_ratio":           f(r.sim.Ratio),
		"shift1_units":        f(r.shifts[0].Units),
		"shift1_pools":        f(r.shifts[0].Pools),
		"shift1_scattered":    f(r.shifts[0].Scattered),
		"shift2_units":        f(r.shifts[1].Units),
		"shift2_pools":        f(r.shifts[1].Pools),
		"shift2_scattered":    f(r.shifts[1].Scattered),
		"heldout_active_frac": f(r.loss.Active),
	}
	if r.pred {
		m["heldout_pred_err"] = f(r.loss.PredErr)
	}
	return m
}

func (r *topoReport) print(t *model.Topo) {
	c := t.Config
	fmt.Fprintf(stdout, "held-out patches (%d): ½‖x−Dz‖² = %.4f, penalty Σ√(ε+Σwz²) = %.4f, energy %.4f; active units %.1f%%, never active %d of %d\n",
		r.patches, r.loss.Recon, r.loss.Penalty, r.loss.Loss(c.Lambda), 100*r.loss.Active, r.deadUnit, c.Units())
	if c.Predictive {
		fmt.Fprintf(stdout, "encoder prediction error ½‖z* − F(x)‖² = %.4f\n", r.loss.PredErr)
	}
	fmt.Fprintf(stdout, "decoder filters, mean |cos|: map neighbours %.3f, random pairs %.3f, ratio %.2f\n", r.sim.Neighbour, r.sim.Random, r.sim.Ratio)
	fmt.Fprintln(stdout, "shift sensitivity of the response pattern (0: unchanged, 1: as different as another patch):")
	for _, s := range r.shifts {
		fmt.Fprintf(stdout, "  %d px: units %.3f, pools %.3f (%.2f× units), pools scattered at random %.3f; raw units %.3f, raw pools %.3f\n",
			s.Shift, s.Units, s.Pools, s.Pools/s.Units, s.Scattered, s.RawUnits, s.RawPools)
	}
}

// topoModelFlags are the flags of eval, encode and show.
type topoModelFlags struct {
	fs      *flag.FlagSet
	modelP  *string
	backend *string
	images  *string
}

func newTopoModelFlags(cmd, summary string) *topoModelFlags {
	f := &topoModelFlags{fs: newFlags(cmd, "--model FILE [flags]", summary)}
	f.modelP = f.fs.String("model", "", "the saved model (topo.safetensors)")
	f.backend = backendFlag(f.fs)
	f.images = f.fs.String("images", "", "folder of PNG/JPEG photographs (default: the embedded CC0 photos)")
	return f
}

func (f *topoModelFlags) parse(args []string) error {
	if err := parseFlags(f.fs, args); err != nil {
		return err
	}
	if *f.modelP == "" {
		return usagef("--model FILE is required")
	}
	return nil
}

// load reads the model and prepares its patch source.
func (f *topoModelFlags) load() (kernels.Backend, *model.Topo, *model.PatchSource, error) {
	be, err := openBackend(*f.backend)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := model.LoadTopo(be, *f.modelP)
	if err != nil {
		be.Close()
		return nil, nil, nil, err
	}
	src, err := topoSource(*f.images, t.Config)
	if err != nil {
		t.Free()
		be.Close()
		return nil, nil, nil, err
	}
	return be, t, src, nil
}

func topoEval(args []string) error {
	f := newTopoModelFlags("eval", `Evaluate a topographic / group-sparse auto-encoder on held-out natural patches: the energy and
its terms, the fraction of active units, the similarity of neighbouring decoder filters on the
map, and the shift sensitivity of single units and pools (1 and 2 pixels).`)
	count := f.fs.Int("patches", 2000, "held-out patches")
	if err := f.parse(args); err != nil {
		return err
	}
	if *count < 2 {
		return usagef("--patches %d: want ≥ 2", *count)
	}
	be, t, src, err := f.load()
	if err != nil {
		return err
	}
	defer be.Close()
	defer t.Free()
	start := time.Now()
	rep, err := topoMeasure(t, src, *count)
	if err != nil {
		return err
	}
	c := t.Config
	fmt.Fprintf(stdout, "model %s: topo %s, %d×%d patches, %d×%d map, %d %s pools, λ=%g, on %s (%s)\n", *f.modelP, topoKindName(c),
		c.Patch, c.Patch, c.MapH, c.MapW, t.Layout.NumPools(), c.Pools, c.Lambda, be.Info().Name, time.Since(start).Round(time.Millisecond))
	rep.print(t)
	return nil
}

func topoEncode(args []string) error {
	f := newTopoModelFlags("encode", `Write natural patches and their codes to a safetensors file: "patches" [N,n], "codes" [N,m]
(the encoder's output g ⊙ max(0, W_e x − b)) and "pooled" [N,P] (the pool responses
√(ε + Σ w z²)).`)
	out := f.fs.String("out", "", "output file (.safetensors); required")
	count := f.fs.Int("patches", 10000, "patches to encode")
	seed := f.fs.Uint64("seed", topoHeldOutSeed, "seed of the patch positions")
	if err := f.parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out FILE is required")
	}
	if *count <= 0 {
		return usagef("--patches %d: want > 0", *count)
	}
	be, t, src, err := f.load()
	if err != nil {
		return err
	}
	defer be.Close()
	defer t.Free()
	x := src.Random(*count, *seed)
	codes, pooled, err := t.Responses(x, 256)
	if err != nil {
		return err
	}
	c := t.Config
	ts := []model.NamedTensor{
		{Name: "patches", Shape: []int{*count, c.Inputs()}, Data: x},
		{Name: "codes", Shape: []int{*count, c.Units()}, Data: codes},
		{Name: "pooled", Shape: []int{*count, t.Layout.NumPools()}, Data: pooled},
	}
	meta := map[string]string{"model": *f.modelP, "seed": fmt.Sprint(*seed), "lcn_sigma": fmt.Sprint(c.LCNSigma)}
	if err := model.SaveTensors(*out, ts, meta); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: patches [%d,%d], codes [%d,%d], pooled [%d,%d]\n", *out, *count, c.Inputs(), *count, c.Units(), *count, t.Layout.NumPools())
	return nil
}

func topoShow(args []string) error {
	f := newTopoModelFlags("show", `Draw a topographic / group-sparse auto-encoder as PNG files in --out:
  map.png        the decoder filters (columns of D) laid out on the map of units
  encoder.png    the encoder filters (rows of W_e) on the same map
  responses.png  for a few patches, each shown at its place and shifted by 1 and 2 pixels: the
                 patch, the single-unit responses on the map, the pool responses on the pool map
                 (heat maps; a good map's pools light up in the same places as the patch shifts)`)
	out := f.fs.String("out", "", "folder for the pictures (default: the model's folder)")
	examples := f.fs.Int("examples", 4, "patches in responses.png")
	zoom := f.fs.Int("zoom", 3, "screen pixels per patch pixel")
	if err := f.parse(args); err != nil {
		return err
	}
	if *examples <= 0 || *zoom <= 0 {
		return usagef("--examples %d, --zoom %d: want > 0", *examples, *zoom)
	}
	be, t, src, err := f.load()
	if err != nil {
		return err
	}
	defer be.Close()
	defer t.Free()
	dir := *out
	if dir == "" {
		dir = filepath.Dir(*f.modelP)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	opt := viz.GridOptions{Zoom: *zoom}
	var written []string
	for _, enc := range []bool{false, true} {
		name := "map.png"
		if enc {
			name = "encoder.png"
		}
		path := filepath.Join(dir, name)
		if err := topoSaveMap(t, path, enc, opt); err != nil {
			return err
		}
		written = append(written, path)
	}
	path := filepath.Join(dir, "responses.png")
	if err := topoSaveResponses(t, src, path, *examples, opt); err != nil {
		return err
	}
	written = append(written, path)
	sort.Strings(written)
	fmt.Fprintf(stdout, "wrote %s\n", strings.Join(written, ", "))
	return nil
}

// topoSaveMap draws D's columns (or W_e's rows) on the map.
func topoSaveMap(t *model.Topo, path string, encoder bool, opt viz.GridOptions) error {
	be, c := t.Backend(), t.Config
	n, m := c.Inputs(), c.Units()
	src := t.D
	if encoder {
		src = t.We
	}
	h := make([]float32, src.Len())
	if err := be.Download(h, src); err != nil {
		return err
	}
	if encoder { // W_e is [m,n]: transpose to D's [n,m] layout
		d := make([]float32, n*m)
		for i := range m {
			for k := range n {
				d[k*m+i] = h[i*n+k]
			}
		}
		h = d
	}
	return viz.SavePNG(path, viz.TopoMap(h, c.Patch, c.MapH, c.MapW, opt))
}

// topoPoolGrid returns the picture layout of the pools: the window grid of a torus, else a
// near-square grid (the last cells left empty).
func topoPoolGrid(t *model.Topo) (ph, pw int) {
	c, p := t.Config, t.Layout.NumPools()
	if c.Pools == model.PoolsTorus && c.Scatter == 0 {
		ph, pw = (c.MapH+c.Stride-1)/c.Stride, (c.MapW+c.Stride-1)/c.Stride
		if ph*pw == p {
			return ph, pw
		}
	}
	pw = int(math.Ceil(math.Sqrt(float64(p))))
	return (p + pw - 1) / pw, pw
}

// topoSaveResponses draws, for examples patches and their shifts by 0, 1, 2 pixels to the right,
// the patch, the units' responses and the pools' responses.
func topoSaveResponses(t *model.Topo, src *model.PatchSource, path string, examples int, opt viz.GridOptions) error {
	c := t.Config
	n, m, p := c.Inputs(), c.Units(), t.Layout.NumPools()
	ph, pw := topoPoolGrid(t)
	var x []float32
	for e := range examples {
		img := e % len(src.Images)
		at := data.RandomPositions(src.Images[img], c.Patch, 1, 2, topoHeldOutSeed+uint64(e))[0]
		for _, s := range []int{0, 1, 2} {
			x = append(x, src.PatchAt(img, at.Add(image.Pt(s, 0)))...)
		}
	}
	codes, pooled, err := t.Responses(x, 256)
	if err != nil {
		return err
	}
	rows := make([]viz.ResponseRow, len(x)/n)
	for i := range rows {
		pool := make([]float32, ph*pw)
		copy(pool, pooled[i*p:(i+1)*p])
		rows[i] = viz.ResponseRow{Patch: x[i*n : (i+1)*n], Units: codes[i*m : (i+1)*m], Pooled: pool}
	}
	return viz.SavePNG(path, viz.ResponseMaps(rows, c.Patch, c.MapH, c.MapW, ph, pw, opt))
}
