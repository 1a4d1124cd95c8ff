package main

import (
	"flag"
	"fmt"

	"github.com/drsae/drsae/data"
)

// dataFlags are the flags that choose and prepare a data set of vectors for the sparse coding
// commands (dict, lista): MNIST or Fashion-MNIST digits as 784-vectors, or patches of natural
// images.
type dataFlags struct {
	source     string // mnist | fashion | patches
	dir        string // folder with the IDX files; "" finds them
	split      string // train | test
	n          int    // samples; 0 = all (the IDX sets) or 50000 (patches)
	skip       int    // samples skipped at the start of the split
	patch      int    // patch side, for patches
	preprocess string // none | l2 | contrast; "" = the source's default
	seed       uint64 // patch positions
}

// add registers the data flags on fs; split and n give the command's defaults.
func (f *dataFlags) add(fs *flag.FlagSet, split string, n int) {
	fs.StringVar(&f.source, "data", "mnist", "data set: mnist, fashion (Fashion-MNIST) or patches (of the natural images shipped with drsae)")
	fs.StringVar(&f.dir, "data-dir", "", "folder with the four IDX files of mnist or fashion (default: $DRSAE_MNIST / $DRSAE_FASHION_MNIST, else where they are installed)")
	fs.StringVar(&f.split, "split", split, "train or test: which part of the data set (for patches, two disjoint seeds)")
	fs.IntVar(&f.n, "n", n, "number of samples (0: the whole split; 50000 for patches)")
	fs.IntVar(&f.skip, "skip", 0, "skip this many samples at the start of the split")
	fs.IntVar(&f.patch, "patch", 12, "patch side in pixels (patches only)")
	fs.StringVar(&f.preprocess, "preprocess", "", "none, l2 (each sample scaled to unit norm) or contrast (each sample's mean removed, divided by its std); default: none for mnist and fashion, contrast for patches")
	fs.Uint64Var(&f.seed, "data-seed", 1, "seed of the patch positions (patches only)")
}

// check validates the flags; errors are usage errors naming the flag.
func (f *dataFlags) check() error {
	switch f.source {
	case "mnist", "fashion", "patches":
	default:
		return usagef("--data %q: want mnist, fashion or patches", f.source)
	}
	if f.split != "train" && f.split != "test" {
		return usagef("--split %q: want train or test", f.split)
	}
	if f.n < 0 {
		return usagef("--n %d: want ≥ 0", f.n)
	}
	if f.skip < 0 {
		return usagef("--skip %d: want ≥ 0", f.skip)
	}
	if f.source == "patches" && (f.patch < 2 || f.patch > 64) {
		return usagef("--patch %d: want 2..64", f.patch)
	}
	if f.preprocess == "" {
		f.preprocess = "none"
		if f.source == "patches" {
			f.preprocess = "contrast"
		}
	}
	switch f.preprocess {
	case "none", "l2", "contrast":
	default:
		return usagef("--preprocess %q: want none, l2 or contrast", f.preprocess)
	}
	return nil
}

// describe names the data for a model's config and for people.
func (f *dataFlags) describe() string {
	if f.source == "patches" {
		return fmt.Sprintf("patches %dx%d", f.patch, f.patch)
	}
	return f.source
}

// load returns the samples [N, dim], dim, and the class labels as float32 (nil for patches).
// A missing or corrupt data set is one error.
func (f *dataFlags) load() (x []float32, dim int, labels []float32, err error) {
	switch f.source {
	case "mnist", "fashion":
		var train, test *data.Dataset
		if f.source == "mnist" {
			train, test, err = data.LoadMNIST(f.dir)
		} else {
			train, test, err = data.LoadFashionMNIST(f.dir)
		}
		if err != nil {
			return nil, 0, nil, err
		}
		ds := train
		if f.split == "test" {
			ds = test
		}
		if f.skip >= ds.N {
			return nil, 0, nil, usagef("--skip %d: the %s split has %d samples", f.skip, f.split, ds.N)
		}
		_, ds = ds.Split(f.skip)
		n := f.n
		if n == 0 || n > ds.N {
			n = ds.N
		}
		dim = ds.Dim()
		x = append([]float32(nil), ds.Pixels[:n*dim]...)
		labels = make([]float32, n)
		for i := range labels {
			labels[i] = float32(ds.Labels[i])
		}
	case "patches":
		imgs, err := data.NaturalImages()
		if err != nil {
			return nil, 0, nil, err
		}
		n := f.n
		if n == 0 {
			n = 50000
		}
		// The test split draws its positions from an independent stream.
		seed := f.seed
		if f.split == "test" {
			seed ^= 0x7e57_0000_0000_0000
		}
		dim = f.patch * f.patch
		x = data.Patches(imgs, f.patch, f.skip+n, seed)[f.skip*dim:]
	}
	switch f.preprocess {
	case "l2":
		data.NormalizeRows(x, dim, 0)
	case "contrast":
		data.RemoveMean(x, dim)
		// The floor (pixels are in [0, 1]) keeps nearly flat patches from being blown up into
		// noise: below a standard deviation of 0.05 they are divided by 0.05.
		data.DivideStd(x, dim, 0.05)
	}
	return x, dim, labels, nil
}
