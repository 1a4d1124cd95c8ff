package lista_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/lista"

	_ "github.com/drsae/drsae/cpu"
)

// Train a LISTA with T = 2 to approximate the FISTA codes of a random dictionary: the trained
// encoder's code error falls below that of the 2 ISTA steps it starts as.
func Example() {
	be, err := kernels.Open("cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer be.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const n, m = 16, 24
	random := func(k int, scale float64) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(scale * rng.NormFloat64())
		}
		return v
	}
	d, _ := be.New(n, m)
	defer be.Free(d)
	be.Upload(d, random(n*m, 0.25))
	train := &model.Samples{X: random(2000*n, 1), Dim: n}
	held := &model.Samples{X: random(200*n, 1), Dim: n}

	cfg := lista.DefaultConfig()
	cfg.Inputs, cfg.Units, cfg.T, cfg.Lambda = n, m, 2, 0.2
	l, err := lista.New(be, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Free()
	if err := l.SetDictionary(d); err != nil { // W_e = Dᵀ/L, S = I − DᵀD/L, θ = λ/L
		log.Fatal(err)
	}
	held, err = model.WithTargets(l, held, nil) // z* by FISTA
	if err != nil {
		log.Fatal(err)
	}
	works := model.NewWorks(l)
	defer works.Free()
	before, _ := model.Evaluate(l, works, held, 100, 0)
	tc := lista.DefaultTrainConfig()
	tc.Epochs, tc.Optimizer, tc.LR = 10, model.OptAdam, 0.01
	tr, err := model.NewTrainer(l, tc)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Free()
	if err := tr.Run(context.Background(), train, nil); err != nil {
		log.Fatal(err)
	}
	after, _ := model.Evaluate(l, works, held, 100, 0)
	fmt.Println(after.Mean("code_err") < 0.5*before.Mean("code_err"))
	// Output: true
}
