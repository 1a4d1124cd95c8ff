package lateral_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/lateral"

	_ "github.com/drsae/drsae/cpu"
)

// Train sparse coding with tree-structured lateral inhibition (a binary tree of 63 units) on
// natural 8×8 patches, save it, load it and encode patches: filters along a branch of the tree
// come out more similar than filters in different branches.
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
	src := data.NewPatchSource(imgs, 8, 4) // local contrast normalization, σ = 4 pixels
	x := src.Random(5000, 1)
	data.RemoveMean(x, 64)
	train := &model.Samples{X: x, Dim: 64}
	l, err := lateral.New(be, lateral.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer l.Free()
	if err := l.Init(nil, 1); err != nil {
		log.Fatal(err)
	}
	tr, err := model.NewTrainer(l, lateral.DefaultTrainConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Free()
	if err := tr.Run(context.Background(), train, nil); err != nil {
		log.Fatal(err)
	}
	sim, err := l.BranchSimilarity()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "lateral")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "lateral.safetensors")
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
	z, err := model.Encode(loaded, works, &model.Samples{X: x[:10*64], Dim: 64}, 10)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(z), sim.Ratio > 1.5)
	// Output: 630 true
}
