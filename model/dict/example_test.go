package dict_test

import (
	"context"
	"fmt"
	"log"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/dict"

	_ "github.com/drsae/drsae/cpu"
)

// Learn a dictionary of 64 atoms on natural image patches and measure the codes of held-out ones.
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
	patches := func(n int, seed uint64) *model.Samples {
		x := data.Patches(imgs, 8, n, seed)
		data.RemoveMean(x, 64)
		data.DivideStd(x, 64, 0.05)
		return &model.Samples{X: x, Dim: 64, Rows: 8, Cols: 8}
	}
	train, held := patches(2000, 1), patches(500, 2)
	cfg := dict.DefaultConfig()
	cfg.Inputs, cfg.Units, cfg.Lambda, cfg.Iterations = 64, 64, 0.5, 30
	d, err := dict.New(be, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Free()
	if err := d.Init(train, 1); err != nil {
		log.Fatal(err)
	}
	works := model.NewWorks(d)
	defer works.Free()
	before, _ := model.MeasureCodes(d, works, held, 250)
	tc := dict.DefaultTrainConfig()
	tc.Epochs = 3
	tr, err := model.NewTrainer(d, tc)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Free()
	if err := tr.Run(context.Background(), train, nil); err != nil {
		log.Fatal(err)
	}
	after, err := model.MeasureCodes(d, works, held, 250)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(after.Samples, after.Objective < before.Objective, after.FVU < 1)
	// Output: 500 true true
}
