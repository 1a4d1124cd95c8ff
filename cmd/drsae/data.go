package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// dataFlags are where the data come from on this machine (not saved with a model).
type dataFlags struct{ dir, images string }

func (d *dataFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&d.dir, "data-dir", "", "folder with the four IDX files of mnist or fashion (default: $DRSAE_MNIST / $DRSAE_FASHION_MNIST, else where they are installed)")
	fs.StringVar(&d.images, "images", "", "patches: a folder of PNG/JPEG photographs to cut them from (default: the CC0 photographs embedded in drsae)")
}

// Seeds of the validation and test patches: streams no training run draws from.
const (
	validSeed = 0x7a1d_0000_0000_0000
	testSeed  = 0x7e57_0000_0000_0000
)

// samples are a run's data: the training, validation and test samples.
type samples struct{ train, valid, test *model.Samples }

// loadData prepares the samples spec describes: for digits, the first TrainSize training
// images (0: all but the validation ones), the next ValidSize, and the first TestSize test
// images (0: all); for patches, TrainSize, ValidSize and TestSize patches from three
// independent streams of positions. A missing or corrupt data set is one error.
func loadData(spec model.DataSpec, df dataFlags) (*samples, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Source == "patches" {
		return loadPatches(spec, df)
	}
	load := data.LoadMNIST
	if spec.Source == "fashion" {
		load = data.LoadFashionMNIST
	}
	all, test, err := load(df.dir)
	if err != nil {
		return nil, err
	}
	if err := checkSplit(spec, df, all, test); err != nil {
		return nil, err
	}
	for _, d := range []*data.Dataset{all, test} {
		preprocess(d.Pixels, d.Dim(), spec.Preprocess)
	}
	n := spec.TrainSize
	if n == 0 {
		n = all.N - spec.ValidSize
	}
	train, rest := all.Split(n)
	valid, _ := rest.Split(min(spec.ValidSize, rest.N))
	if spec.TestSize > 0 && spec.TestSize < test.N {
		test, _ = test.Split(spec.TestSize)
	}
	s := &samples{model.FromDataset(train), model.FromDataset(valid), model.FromDataset(test)}
	s.train.Name, s.valid.Name, s.test.Name = spec.Source+"/train", spec.Source+"/valid", spec.Source+"/test"
	return s, nil
}

// checkSplit checks that the training and test images are not empty, have one shape, and that
// the training file holds the training and validation samples asked for.
func checkSplit(spec model.DataSpec, df dataFlags, all, test *data.Dataset) error {
	where := spec.Source
	if df.dir != "" {
		where += " in " + df.dir
	}
	switch {
	case all.N == 0 || test.N == 0:
		return fmt.Errorf("%s: %d training and %d test images; need some of each", where, all.N, test.N)
	case all.Dim() == 0:
		return fmt.Errorf("%s: images of %d×%d pixels", where, all.Rows, all.Cols)
	case test.Rows != all.Rows || test.Cols != all.Cols:
		return fmt.Errorf("%s: training images are %d×%d, test images %d×%d", where, all.Rows, all.Cols, test.Rows, test.Cols)
	case spec.ValidSize >= all.N:
		return usagef("--valid-size %d: %s has %d training images, and some must be left to train on", spec.ValidSize, where, all.N)
	case spec.TrainSize+spec.ValidSize > all.N:
		return usagef("--train-size %d with --valid-size %d: %s has %d training images", spec.TrainSize, spec.ValidSize, where, all.N)
	}
	return nil
}

func preprocess(x []float32, dim int, how string) {
	switch how {
	case "l2":
		data.NormalizeRows(x, dim, 0)
	case "mean":
		data.RemoveMean(x, dim)
	case "contrast":
		data.RemoveMean(x, dim)
		// The floor (pixels are in [0, 1]) keeps nearly flat samples from being blown up into
		// noise: below a standard deviation of 0.05 they are divided by 0.05.
		data.DivideStd(x, dim, 0.05)
	}
}

// patchSource prepares the photographs for spec's patches: the embedded ones, or those in
// df.images, each locally contrast normalized with spec.LCNSigma.
func patchSource(spec model.DataSpec, df dataFlags) (*data.PatchSource, error) {
	var imgs []data.Gray
	var err error
	if df.images == "" {
		imgs, err = data.NaturalImages()
	} else {
		imgs, err = readImages(df.images)
	}
	if err != nil {
		return nil, err
	}
	src := data.NewPatchSource(imgs, spec.Patch, spec.LCNSigma)
	if len(src.Images) == 0 {
		return nil, fmt.Errorf("no photograph holds a %d×%d patch with %d pixels to spare (--patch, --images)", spec.Patch, spec.Patch, data.PatchMargin)
	}
	return src, nil
}

func readImages(dir string) ([]data.Gray, error) {
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
	return imgs, nil
}

func loadPatches(spec model.DataSpec, df dataFlags) (*samples, error) {
	src, err := patchSource(spec, df)
	if err != nil {
		return nil, err
	}
	dim := spec.Patch * spec.Patch
	cut := func(name string, n int, seed uint64) *model.Samples {
		x := data.Patches(src.Images, spec.Patch, n, seed)
		preprocess(x, dim, spec.Preprocess)
		return &model.Samples{Name: "patches/" + name, X: x, Dim: dim, Rows: spec.Patch, Cols: spec.Patch}
	}
	train := spec.TrainSize
	if train == 0 {
		train = max(1, min(50000, (256<<20)/(4*dim)))
	}
	test := spec.TestSize
	if test == 0 {
		test = max(1, min(2000, (64<<20)/(4*dim)))
	}
	// The patches live on the host: a size that would take more than half its memory is refused
	// before any is cut.
	if bytes, limit := 4*int64(dim)*int64(train+spec.ValidSize+test), kernels.HostMemory()/2; bytes > limit {
		return nil, usagef("--train-size %d, --valid-size %d and --test-size %d patches of %d×%d pixels take %s, more than half of this machine's %s",
			train, spec.ValidSize, test, spec.Patch, spec.Patch, kernels.FormatBytes(bytes), kernels.FormatBytes(2*limit))
	}
	return &samples{cut("train", train, spec.Seed), cut("valid", spec.ValidSize, spec.Seed^validSeed), cut("test", test, spec.Seed^testSeed)}, nil
}

// provisional is a sample of the shape spec's data will have, to check flags before loading them.
func provisional(spec model.DataSpec) *model.Samples {
	if spec.Source == "patches" {
		return &model.Samples{Dim: spec.Patch * spec.Patch, Rows: spec.Patch, Cols: spec.Patch}
	}
	return &model.Samples{Dim: 784, Rows: 28, Cols: 28, Classes: 10}
}

// fitShape sets a config's keys that come from the data: inputs, rows, cols and classes.
func fitShape(cfg model.Config, s *model.Samples) {
	for key, v := range map[string]int{"inputs": s.Dim, "rows": s.Rows, "cols": s.Cols, "classes": s.Classes} {
		if f, ok := valueOf(cfg, key); ok {
			f.SetInt(int64(v))
		}
	}
}
