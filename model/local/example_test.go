package local_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/local"

	_ "github.com/drsae/drsae/cpu"
)

// Train a small locally connected sparse auto-encoder on crops of natural photographs for a few
// steps, save it, load it back, encode an image and measure the orientation map of its filters.
func Example() {
	be, err := kernels.Open("cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer be.Close()
	imgs, err := data.NaturalImages()
	if err != nil {
		log.Fatal(err)
	}
	const side = 20
	src := data.NewPatchSource(imgs, side, 4) // local contrast normalization, σ = 4 pixels
	train := &model.Samples{X: src.Random(256, 1), Dim: side * side, Rows: side, Cols: side}
	cfg := local.DefaultConfig()
	cfg.Rows, cfg.Cols, cfg.Inputs, cfg.Filter, cfg.Stride, cfg.Site = side, side, side*side, 8, 3, 2
	l, err := local.New(be, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Free()
	if err := l.Init(nil, 1); err != nil {
		log.Fatal(err)
	}
	tc := local.DefaultTrainConfig()
	tc.Epochs = 2
	tr, err := model.NewTrainer(l, tc)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Free()
	if err := tr.Run(context.Background(), train, nil); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "local")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "local.safetensors")
	if err := model.SaveModel(path, l, nil, nil); err != nil {
		log.Fatal(err)
	}
	loaded, _, err := model.LoadModel(be, path)
	if err != nil {
		log.Fatal(err)
	}
	defer loaded.Free()
	works := model.NewWorks(loaded)
	defer works.Free()
	z, err := model.Encode(loaded, works, train.Slice(0, 1), 1)
	if err != nil {
		log.Fatal(err)
	}
	om, err := loaded.(*local.LocalSparseAE).OrientationMap()
	if err != nil {
		log.Fatal(err)
	}
	h, w := cfg.MapSize()
	fmt.Printf("code of %d units on a %d×%d map; orientations of %d filters measured\n", len(z), h, w, len(om.Units))
	// Output: code of 100 units on a 10×10 map; orientations of 100 filters measured
}
