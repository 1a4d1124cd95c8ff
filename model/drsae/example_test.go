package drsae_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/drsae"

	_ "github.com/drsae/drsae/cpu"
)

// Build a DrSAE, train it briefly on MNIST digits, save it, load it back and encode digits.
func Example() {
	be, err := kernels.Open("cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer be.Close()
	all, _, err := data.LoadMNIST("")
	if err != nil {
		log.Fatal(err)
	}
	sub, _ := all.Split(1200)
	sub.NormalizeL2() // the paper's inputs: unit-norm digits
	tr, va := sub.Split(1000)
	train, valid := model.FromDataset(tr), model.FromDataset(va)

	cfg := drsae.DefaultConfig() // 784-400¹¹-10, the paper's net
	cfg.Units, cfg.T = 32, 3
	m, err := drsae.New(be, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Free()
	if err := m.Init(train, 1); err != nil {
		log.Fatal(err)
	}
	tc := drsae.DefaultTrainConfig()
	tc.PretrainEpochs, tc.Epochs, tc.LR = 1, 2, 0.03
	trainer, err := model.NewTrainer(m, tc)
	if err != nil {
		log.Fatal(err)
	}
	defer trainer.Free()
	if err := trainer.Run(context.Background(), train, valid); err != nil {
		log.Fatal(err)
	}
	fmt.Println(trainer.State.Phase, trainer.State.Epoch, trainer.State.StopReason)

	dir, _ := os.MkdirTemp("", "drsae")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "m.safetensors")
	if err := model.SaveModel(path, m, nil, nil); err != nil {
		log.Fatal(err)
	}
	back, _, err := model.LoadModel(be, path)
	if err != nil {
		log.Fatal(err)
	}
	defer back.Free()
	works := model.NewWorks(back)
	defer works.Free()
	codes, err := model.Encode(back, works, valid, 100) // z^T of every sample, [N, units]
	if err != nil {
		log.Fatal(err)
	}
	ev, err := drsae.Evaluate(back.(*drsae.DrSAE), works, valid, 100)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(codes)/valid.N(), ev.N, ev.ErrorRate() < 0.5)
	// Output:
	// done 2 all epochs done
	// 32 200 true
}
