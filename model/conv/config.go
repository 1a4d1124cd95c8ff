// Package conv is the convolutional group-sparse auto-encoder, the model kind "conv": an encoder
// image → convolution → ReLU → a learned gain per feature map, a linear convolutional decoder
// (the adjoint of a convolution) and group sparsity over complex cells — the L2 norm of the code
// over a spatial window and a group of neighbouring feature maps (Kavukcuoglu, Sermanet, Boureau,
// Gregor, Mathieu & LeCun, "Learning Convolutional Feature Hierarchies for Visual Recognition",
// NIPS 2010; the pooling of Kavukcuoglu et al., CVPR 2009, made convolutional). After training,
// the encoder with its pooling is a feature extractor (Features).
package conv

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// Kind is the kind's registered name.
const Kind = "conv"

var phases = []string{"train"}

func init() {
	model.Register(model.Kind{
		Name:      Kind,
		Summary:   "convolutional group-sparse auto-encoder (conv → ReLU → gain, convolutional decoder, pooled L2 sparsity)",
		Phases:    phases,
		NewConfig: func() model.Config { c := DefaultConfig(); return &c },
		NewTrain:  DefaultTrainConfig,
		Data:      model.DataSpec{Source: "mnist", Preprocess: "none", TrainSize: 50000, ValidSize: 10000},
		New:       func(be kernels.Backend, c model.Config) (model.Module, error) { return New(be, *c.(*Config)) },
	})
}

// MaxCode bounds the code of one sample, maps × code height × code width (2²⁶ floats, 256 MiB).
const MaxCode = 1 << 26

// Config is the geometry of the encoder, its pooling and the loss. Images are Channels maps of
// Rows×Cols pixels, NCHW, flattened to Inputs = Channels·Rows·Cols values per sample.
type Config struct {
	Inputs   int `json:"inputs" cfg:"required,noflag" help:"values per image, channels·rows·cols (from the data)"`
	Channels int `json:"channels" cfg:"noflag" help:"input maps (1 for grayscale images)"`
	Rows     int `json:"rows" cfg:"required,noflag" help:"image height (from the data)"`
	Cols     int `json:"cols" cfg:"required,noflag" help:"image width (from the data)"`
	// ContrastSigma, when > 0, normalizes the images' local contrast inside the model before the
	// first layer's encoder (contrastNorm; Jarrett et al. 2009). Only the first layer: a stacked
	// layer refuses it.
	ContrastSigma float64 `json:"contrast_sigma,omitempty" help:"σ in pixels of the Gaussian window of a local contrast normalization of the images inside the model, before the first layer (Jarrett et al. 2009; 0: none)"`

	Maps   int `json:"maps" cfg:"required" help:"feature maps K of the code"`
	Filter int `json:"filter" help:"side of the square filters, in pixels"`
	Stride int `json:"stride" help:"step of the convolution"`
	Pad    int `json:"pad" help:"zero padding on every side of the image"`

	Pool        int `json:"pool" help:"side of a complex cell's spatial window, in code pixels"`
	PoolStride  int `json:"pool_stride" help:"step between complex cells"`
	Group       int `json:"group" help:"neighbouring feature maps per complex cell"`
	GroupStride int `json:"group_stride" help:"step between groups of maps (0: group, disjoint groups)"`

	Lambda float64 `json:"lambda" help:"weight λ of the penalty Σ over complex cells of √(ε + Σ z²)"`
	Eps    float64 `json:"eps" help:"ε inside each complex cell's square root"`
	// The decoder learns DecoderLRScale times as fast as the encoder, as in model/topo.
	DecoderLRScale float64 `json:"decoder_lr_scale" help:"the decoder's learning rate, as a multiple of the encoder's"`

	// Below, when set, stacks this layer on a trained conv model: the images pass through its
	// encoder and pooling, frozen, and this layer learns to code its complex cells' responses.
	// Init reads the file; BelowConfig, its config, is saved here so that the stack loads whole
	// (its parameters are saved as below.W, below.b, …).
	Below       string  `json:"below" help:"stack on this trained conv model (.safetensors): learn a layer over its pooled features, frozen beneath"`
	BelowConfig *Config `json:"below_config,omitempty" cfg:"noflag" help:"the config of the layer beneath (from below)"`
}

// DefaultConfig is 32 maps of 9×9 filters over 28×28 digits, complex cells of 2×2 code pixels
// at stride 2 over groups of 2 maps.
func DefaultConfig() Config {
	return Config{Inputs: 784, Channels: 1, Rows: 28, Cols: 28, Maps: 32, Filter: 9, Stride: 1,
		Pool: 2, PoolStride: 2, Group: 2, Lambda: 0.1, Eps: 1e-4, DecoderLRScale: 1}
}

// DefaultTrainConfig: Adam, minibatches of 32, 5 epochs.
func DefaultTrainConfig() model.TrainConfig {
	c := model.DefaultTrainConfig()
	c.Batch, c.Epochs, c.Optimizer, c.LR, c.ReportEvery, c.EvalBatch = 32, 5, model.OptAdam, 1e-3, 20, 256
	return c
}

// Geometry is the shape of every stage for one sample.
type Geometry struct {
	Conv, Pool, GroupPool kernels.Conv2D
	CodeH, CodeW          int // the code's maps are CodeH×CodeW
	PoolH, PoolW          int // complex cells per group of maps
	Groups                int // groups of maps
}

// Layer is the top layer alone: for a stack, its input is the layer beneath's features,
// Groups maps of PoolH×PoolW cells, instead of the images.
func (c Config) Layer() Config {
	if c.BelowConfig != nil {
		g := c.BelowConfig.Geometry()
		c.Channels, c.Rows, c.Cols = g.Groups, g.PoolH, g.PoolW
		c.Inputs = c.Channels * c.Rows * c.Cols
	}
	c.Below, c.BelowConfig = "", nil
	return c
}

// Geometry computes the top layer's shapes; Validate has checked that they are not empty.
func (c Config) Geometry() Geometry {
	c = c.Layer()
	g := Geometry{Conv: kernels.Conv2D{StrideH: c.Stride, StrideW: c.Stride, PadH: c.Pad, PadW: c.Pad},
		Pool: kernels.Conv2D{StrideH: c.PoolStride, StrideW: c.PoolStride}, GroupPool: kernels.Conv2D{StrideH: c.groupStride(), StrideW: 1}}
	g.CodeH, g.CodeW = g.Conv.OutSize(c.Rows, c.Cols, c.Filter, c.Filter)
	g.PoolH, g.PoolW = g.Pool.OutSize(g.CodeH, g.CodeW, c.Pool, c.Pool)
	g.Groups = (c.Maps-c.Group)/c.groupStride() + 1
	return g
}

func (c Config) groupStride() int {
	if c.GroupStride == 0 {
		return c.Group
	}
	return c.GroupStride
}

// Units is the size of one sample's code (the top layer's), Maps·CodeH·CodeW.
func (c Config) Units() int { g := c.Geometry(); return c.Maps * g.CodeH * g.CodeW }

// Pooled is the size of one sample's features, Groups·PoolH·PoolW.
func (c Config) Pooled() int { g := c.Geometry(); return g.Groups * g.PoolH * g.PoolW }

// Validate returns an error naming the first key out of range.
func (c Config) Validate() error {
	if c.Below != "" && c.BelowConfig == nil {
		return fmt.Errorf("below = %q without below_config: the config of the layer beneath is needed (the command line reads it from the file)", c.Below)
	}
	if b := c.BelowConfig; b != nil {
		if err := b.Validate(); err != nil {
			return fmt.Errorf("below_config: %v", err)
		}
		if c.ContrastSigma != 0 {
			return fmt.Errorf("contrast_sigma = %g on a stacked layer: the contrast normalization applies to the images, before the first layer only (set it when training the layer beneath)", c.ContrastSigma)
		}
		if c.Inputs != b.Inputs || c.Channels != b.Channels || c.Rows != b.Rows || c.Cols != b.Cols {
			return fmt.Errorf("inputs = %d (%d×%d×%d): the layer beneath takes %d (%d×%d×%d)", c.Inputs, c.Channels, c.Rows, c.Cols,
				b.Inputs, b.Channels, b.Rows, b.Cols)
		}
		if err := c.Layer().Validate(); err != nil {
			return fmt.Errorf("on the %s features of the layer beneath: %v", b.featureShape(), err)
		}
		return nil
	}
	if err := model.CheckSizes(c.Inputs, c.Maps, 0); err != nil {
		return err
	}
	pos := func(key string, v int) error {
		if v <= 0 {
			return fmt.Errorf("%s = %d, want > 0", key, v)
		}
		return nil
	}
	for _, k := range []struct {
		key string
		v   int
	}{{"inputs", c.Inputs}, {"channels", c.Channels}, {"rows", c.Rows}, {"cols", c.Cols}, {"maps", c.Maps},
		{"filter", c.Filter}, {"stride", c.Stride}, {"pool", c.Pool}, {"pool_stride", c.PoolStride}, {"group", c.Group}} {
		if err := pos(k.key, k.v); err != nil {
			return err
		}
	}
	switch {
	case c.Channels*c.Rows*c.Cols != c.Inputs || c.Rows > model.MaxInputs || c.Cols > model.MaxInputs:
		return fmt.Errorf("channels × rows × cols = %d×%d×%d does not hold %d inputs", c.Channels, c.Rows, c.Cols, c.Inputs)
	case c.Pad < 0 || c.Pad >= c.Filter:
		return fmt.Errorf("pad = %d, want 0 ≤ pad < filter (%d)", c.Pad, c.Filter)
	case c.Filter > c.Rows+2*c.Pad || c.Filter > c.Cols+2*c.Pad:
		return fmt.Errorf("filter = %d, larger than the %d×%d image with pad %d", c.Filter, c.Rows, c.Cols, c.Pad)
	case c.Group > c.Maps:
		return fmt.Errorf("group = %d, more than the %d maps", c.Group, c.Maps)
	case c.GroupStride < 0:
		return fmt.Errorf("group_stride = %d, want ≥ 0", c.GroupStride)
	case (c.Maps-c.Group)%c.groupStride() != 0:
		return fmt.Errorf("maps = %d: the groups of %d maps at stride %d do not end on the last map", c.Maps, c.Group, c.groupStride())
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("lambda = %g, want a finite value ≥ 0", c.Lambda)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("eps = %g, want a finite value > 0", c.Eps)
	case !(c.DecoderLRScale > 0) || math.IsInf(c.DecoderLRScale, 0):
		return fmt.Errorf("decoder_lr_scale = %g, want > 0", c.DecoderLRScale)
	case c.ContrastSigma != 0 && !(c.ContrastSigma >= minContrastSigma) || math.IsInf(c.ContrastSigma, 0):
		return fmt.Errorf("contrast_sigma = %g, want 0 (no contrast normalization) or a finite value ≥ %g (a narrower window is one pixel: it maps every image to zero)",
			c.ContrastSigma, minContrastSigma)
	}
	g := c.Geometry()
	switch {
	case c.Pool > g.CodeH || c.Pool > g.CodeW:
		return fmt.Errorf("pool = %d, larger than the %d×%d code", c.Pool, g.CodeH, g.CodeW)
	case c.Maps*g.CodeH*g.CodeW > MaxCode:
		return model.SizeError("maps × code height × code width", c.Maps*g.CodeH*g.CodeW, MaxCode)
	}
	return nil
}

// featureShape names the shape of the features, "G×H×W".
func (c Config) featureShape() string {
	g := c.Geometry()
	return fmt.Sprintf("%d×%d×%d", g.Groups, g.PoolH, g.PoolW)
}
