package conv_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/conv"

	_ "github.com/drsae/drsae/cpu"
)

// Train a convolutional group-sparse auto-encoder on images for a few steps, save it, load it
// back and compute the pooled features of an image.
func Example() {
	be, err := kernels.Open("cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer be.Close()
	// 200 images of 16×16 pixels: oriented gratings.
	const side, count = 16, 200
	x := make([]float32, count*side*side)
	for n := range count {
		a := float64(n) * 0.7
		for i := range side {
			for j := range side {
				x[(n*side+i)*side+j] = float32(math.Sin(math.Cos(a)*float64(i) + math.Sin(a)*float64(j)))
			}
		}
	}
	train := &model.Samples{X: x, Dim: side * side, Rows: side, Cols: side}
	cfg := conv.DefaultConfig()
	cfg.Inputs, cfg.Rows, cfg.Cols, cfg.Maps, cfg.Filter = side*side, side, side, 8, 5
	m, err := conv.New(be, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Free()
	if err := m.Init(train, 1); err != nil {
		log.Fatal(err)
	}
	tc := conv.DefaultTrainConfig()
	tc.Epochs = 2
	tr, err := model.NewTrainer(m, tc)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Free()
	if err := tr.Run(context.Background(), train, nil); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "conv")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "conv.safetensors")
	if err := model.SaveModel(path, m, nil, nil); err != nil {
		log.Fatal(err)
	}
	loaded, _, err := model.LoadModel(be, path)
	if err != nil {
		log.Fatal(err)
	}
	defer loaded.Free()
	f, err := loaded.(*conv.ConvSparseAE).Features(x[:side*side])
	if err != nil {
		log.Fatal(err)
	}
	g := cfg.Geometry()
	fmt.Printf("%d features: %d groups of %d×%d complex cells\n", len(f), g.Groups, g.PoolH, g.PoolW)
	// Output: 144 features: 4 groups of 6×6 complex cells
}
