package main

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/conv"
	"github.com/drsae/drsae/viz"
)

func init() {
	cliKinds[conv.Kind] = &cliKind{help: convHelp, defaults: convDefaults, report: convReport, show: convShow,
		inputs: func(cfg model.Config) []pathUse {
			if b := cfg.(*conv.Config).Below; b != "" {
				return modelFiles("--below", b)
			}
			return nil
		}}
}

// convDefaults reads the layer beneath a stack (--below): its config, and the data it was
// trained on, where no flag chose other data.
func convDefaults(cfg model.Config, spec *model.DataSpec, set map[string]bool) error {
	c := cfg.(*conv.Config)
	if c.Below == "" {
		return nil
	}
	b, err := readConv("--below", c.Below, spec, set, true)
	if err != nil {
		return err
	}
	c.BelowConfig = b
	c.Inputs, c.Channels, c.Rows, c.Cols = b.Inputs, b.Channels, b.Rows, b.Cols
	return nil
}

// readConv reads the config of the conv model saved at path (given by flag) and copies into spec
// the data it was trained on, where no flag chose other data, with the sizes of its splits when
// sizes is set.
func readConv(flag, path string, spec *model.DataSpec, set map[string]bool, sizes bool) (*conv.Config, error) {
	s, err := model.ReadSaved(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", flag, err)
	}
	c, ok := s.Config.(*conv.Config)
	if !ok {
		return nil, usagef("%s %s: a %s model, not a conv one", flag, path, s.Kind)
	}
	for _, f := range model.Fields(&s.Data) {
		size := f.Key == "train_size" || f.Key == "valid_size" || f.Key == "test_size"
		if !set[f.Flag] && (sizes || !size) {
			copyField(spec, f)
		}
	}
	return c, nil
}

const convHelp = `Train a convolutional group-sparse auto-encoder (Kavukcuoglu et al. 2010): for each image x,
  code z_k = g_k · max(0, W_k ⋆ x − b_k) (K = --maps feature maps, --filter × --filter filters),
  reconstruction x̂ = Σ_k D_k ⋆ᵀ z_k (the adjoint of a convolution; each D_k of norm ≤ 1),
  loss ½‖x − x̂‖² + λ Σ_cells √(ε + Σ z²),
where a complex cell pools a --pool × --pool window of code pixels (at --pool-stride) over --group
neighbouring maps. The cells' responses are the features of the encoder (drsae encode writes the
code z; docs/conv.md shows the PyTorch formulas).

--contrast-sigma S normalizes each image's local contrast inside the model, on the backend, before
the first layer (Jarrett et al. 2009: the Gaussian-weighted local mean removed, then divided by
the local deviation, floored by its mean over the image); it is saved with the model, and eval,
encode, show and convnet apply it.

Stacking: --below FILE (a trained conv model) trains a second layer on the complex cells of the
first, which stays frozen beneath it; the stack is saved whole, and --below again stacks a third.

Large images: --data patches --patch 256 cuts 256×256 crops of whole photographs (the CC0 ones
embedded in drsae, or --images); a batch larger than the GPU's largest storage block is split
into chunks.`

// convReport prints the loss terms on s of every layer, from the bottom.
func convReport(c *useContext, mod model.Module, s *model.Samples) error {
	var layers []*conv.ConvSparseAE
	for m := mod.(*conv.ConvSparseAE); m != nil; m = m.Below() {
		layers = append([]*conv.ConvSparseAE{m}, layers...)
	}
	for i, m := range layers {
		works := model.NewWorks(m)
		sums, err := model.Evaluate(m, works, s, c.batch, 0)
		works.Free()
		if err != nil {
			return err
		}
		cfg := m.Config().(*conv.Config)
		g := cfg.Geometry()
		of := fmt.Sprintf("‖x‖² %.4g", meanSquare(s))
		if i > 0 {
			of = "x: the features of layer " + fmt.Sprint(i)
		} else if cfg.ContrastSigma > 0 {
			xn, err := m.Normalized(s.X)
			if err != nil {
				return err
			}
			of = fmt.Sprintf("x: the images contrast normalized with σ %g, ‖x‖² %.4g", cfg.ContrastSigma, meanSquare(&model.Samples{X: xn, Dim: s.Dim}))
		}
		if len(layers) > 1 {
			fmt.Fprintf(stdout, "layer %d: ", i+1)
		}
		fmt.Fprintf(stdout, "½‖x − x̂‖² = %.4g per image (%s), penalty Σ√(ε+Σz²) = %.4g, loss %.4g; active code units %.2f%%\n",
			sums.Mean("recon"), of, sums.Mean("penalty"), sums.Mean("loss"), 100*sums.Mean("active"))
		fmt.Fprintf(stdout, "  code %d maps of %d×%d; features %d groups of %d×%d complex cells (%d values per image)\n",
			cfg.Maps, g.CodeH, g.CodeW, g.Groups, g.PoolH, g.PoolW, cfg.Pooled())
	}
	return nil
}

// meanSquare is the mean ‖x‖² of the samples.
func meanSquare(s *model.Samples) float64 {
	var sum float64
	for _, v := range s.X {
		sum += float64(v) * float64(v)
	}
	return sum / math.Max(1, float64(s.N()))
}

// convShow draws the encoder and decoder filters of every layer (a row of tiles per map when
// there are several input channels; neighbouring maps of a group side by side) and, for the first
// test images, the images (and, with contrast_sigma, the images as the first layer reads them)
// and their top complex cells' responses, a row per image.
func convShow(c *useContext, mod model.Module, prefix string) ([]string, error) {
	m := mod.(*conv.ConvSparseAE)
	cfg := m.Config().(*conv.Config)
	host, err := model.HostParams(m)
	if err != nil {
		return nil, err
	}
	var written []string
	// Layer L from the top has its parameters under L−1 "below." prefixes.
	prefixes, layers := []string{""}, []conv.Config{cfg.Layer()}
	for b := cfg.BelowConfig; b != nil; b = b.BelowConfig {
		prefixes, layers = append(prefixes, prefixes[len(prefixes)-1]+"below."), append(layers, b.Layer())
	}
	for i := range layers {
		l := len(layers) - 1 - i // from the bottom
		for _, p := range []struct{ name, file string }{{"W", "encoder"}, {"D", "decoder"}} {
			path := fmt.Sprintf("%slayer%d-%s.png", prefix, i+1, p.file)
			if err := saveFilters(path, host[prefixes[l]+p.name].Data, layers[l]); err != nil {
				return written, err
			}
			written = append(written, path)
		}
	}
	d, err := loadData(c.spec, c.df)
	if err != nil {
		return written, err
	}
	n := min(4, d.test.N())
	if n == 0 || cfg.Channels != 1 {
		return written, nil
	}
	x := d.test.X[:n*cfg.Inputs]
	feat, err := m.Features(x)
	if err != nil {
		return written, err
	}
	g := cfg.Geometry()
	if err := viz.SavePNG(prefix+"images.png", viz.Grid(viz.Rows(x, n, cfg.Inputs), cfg.Rows, cfg.Cols, n, viz.GridOptions{Zoom: 2})); err != nil {
		return written, err
	}
	written = append(written, prefix+"images.png")
	first := cfg
	for first.BelowConfig != nil {
		first = first.BelowConfig
	}
	if first.ContrastSigma > 0 {
		xn, err := m.Normalized(x)
		if err != nil {
			return written, err
		}
		if err := viz.SavePNG(prefix+"normalized.png", viz.Grid(viz.Rows(xn, n, cfg.Inputs), cfg.Rows, cfg.Cols, n, viz.GridOptions{Zoom: 2})); err != nil {
			return written, err
		}
		written = append(written, prefix+"normalized.png")
	}
	cells := g.PoolH * g.PoolW
	path := prefix + "pooled.png"
	written = append(written, path)
	return written, viz.SavePNG(path, viz.Grid(viz.Rows(feat, n*g.Groups, cells), g.PoolH, g.PoolW, g.Groups, viz.GridOptions{Zoom: 3}))
}

// saveFilters draws the filters w [K, C, F, F] of one layer l as a grid of F×F tiles: a row per
// map when there are several input channels, else the maps of a group side by side.
func saveFilters(path string, w []float32, l conv.Config) error {
	f, cols := l.Filter, l.Channels
	if cols == 1 {
		cols = max(1, int(math.Round(math.Sqrt(float64(l.Maps))/float64(l.Group)))) * l.Group
	}
	return viz.SavePNG(path, viz.Grid(viz.Rows(w, l.Maps*l.Channels, f*f), f, f, cols, viz.GridOptions{Zoom: 4}))
}

// convnetShow draws the encoder filters of every layer of a net.
func convnetShow(c *useContext, mod model.Module, prefix string) ([]string, error) {
	cfg := mod.Config().(*conv.NetConfig)
	host, err := model.HostParams(mod)
	if err != nil {
		return nil, err
	}
	var layers []conv.Config
	for b := cfg.Stack; b != nil; b = b.BelowConfig {
		layers = append([]conv.Config{b.Layer()}, layers...)
	}
	var written []string
	for i, l := range layers {
		path := fmt.Sprintf("%slayer%d-encoder.png", prefix, i+1)
		if err := saveFilters(path, host[fmt.Sprintf("layer%d.W", i+1)].Data, l); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

func init() {
	cliKinds[conv.NetKind] = &cliKind{help: convnetHelp, defaults: convnetDefaults, report: convnetReport, show: convnetShow,
		inputs: func(cfg model.Config) []pathUse {
			if f := cfg.(*conv.NetConfig).Source; f != "" {
				return modelFiles("--features", f)
			}
			return nil
		}}
}

const convnetHelp = `Train a classifier on a conv stack's features (drsae train conv, --below for more layers): the
images pass through every layer's encoder z = g ⊙ max(0, W ⋆ x − b) and its complex-cell pooling,
then logits = C·features + c, trained on the softmax cross-entropy; the decoders are dropped.
--init pretrained starts the encoders from --features (fine-tuned end to end, or with --freeze
only the classifier learns); --init random takes the architecture of --features with random
filters, the control for what pre-training brings. Early stopping and the saved model follow the
validation error.`

// convnetDefaults reads the stack of --features: its config and, where no flag chose other data,
// its data.
func convnetDefaults(cfg model.Config, spec *model.DataSpec, set map[string]bool) error {
	c := cfg.(*conv.NetConfig)
	if c.Source == "" {
		return usagef("--features FILE is required (a model of drsae train conv; with --init random only its architecture is used)")
	}
	st, err := readConv("--features", c.Source, spec, set, false)
	if err != nil {
		return err
	}
	c.Stack, c.Inputs = st, st.Inputs
	return nil
}

// convnetReport prints the error rate and cross-entropy on s.
func convnetReport(c *useContext, m model.Module, s *model.Samples) error {
	works := model.NewWorks(m)
	defer works.Free()
	sums, err := model.Evaluate(m, works, s, c.batch, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "error %.2f%% (%.0f of %d), cross-entropy %.4f\n", 100*sums.Mean("err"), sums.Mean("err")*float64(sums.N), sums.N, sums.Mean("loss"))
	return nil
}
