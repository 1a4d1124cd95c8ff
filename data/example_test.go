package data_test

import (
	"fmt"
	"log"

	"github.com/drsae/drsae/data"
)

// The DrSAE recipe for MNIST: 50,000 training and 10,000 validation images, each scaled to
// unit L2 norm, fed in seeded random minibatches.
func Example() {
	train, test, err := data.LoadMNIST("") // "" finds the files: see FindMNIST
	if err != nil {
		log.Fatal(err)
	}
	train, valid := train.Split(50000)
	train.NormalizeL2()
	valid.NormalizeL2()

	const batch = 100
	x := make([]float32, batch*train.Dim()) // [batch, 784]
	y := make([]float32, batch)             // class indices
	order := data.Permutation(train.N, 1)
	train.Batch(order[:batch], x, y)

	fmt.Println(train.N, valid.N, test.N, train.Rows, train.Cols, train.Labels[0])
	// Output: 50000 10000 10000 28 28 5
}

// Patches of natural images, contrast-normalized and ZCA-whitened, as for learning
// Gabor-like dictionaries.
func ExamplePatches() {
	imgs, err := data.NaturalImages()
	if err != nil {
		log.Fatal(err)
	}
	const size = 12
	x := data.Patches(imgs, size, 10000, 1) // [10000, 144]
	data.RemoveMean(x, size*size)
	data.DivideStd(x, size*size, 0.1)
	w, err := data.FitWhitening(x, size*size, 0.1)
	if err != nil {
		log.Fatal(err)
	}
	w.Apply(x)
	fmt.Println(len(imgs), len(x)/(size*size))
	// Output: 5 10000
}
