package topo_test

import (
	"context"
	"fmt"
	"log"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/topo"

	_ "github.com/drsae/drsae/cpu"
)

// Train a topographic map of 16×16 units on natural image patches: neighbouring units learn
// more similar filters than random pairs.
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
	src := data.NewPatchSource(imgs, 12, 4) // local contrast normalization, σ = 4 pixels
	x := src.Random(10000, 1)
	data.RemoveMean(x, 144) // each patch minus its mean
	train := &model.Samples{X: x, Dim: 144}
	t, err := topo.New(be, topo.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer t.Free()
	if err := t.Init(nil, 1); err != nil {
		log.Fatal(err)
	}
	tc := topo.DefaultTrainConfig()
	tc.Epochs = 4
	tr, err := model.NewTrainer(t, tc)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Free()
	if err := tr.Run(context.Background(), train, nil); err != nil {
		log.Fatal(err)
	}
	sim, err := t.DecoderSimilarity()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sim.Ratio > 1.5)
	// Output: true
}
