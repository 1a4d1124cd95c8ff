package kernels_test

import (
	"fmt"
	"log"

	"github.com/drsae/drsae/kernels"

	_ "github.com/drsae/drsae/cpu" // registers "cpu"; import gpu too for "gpu" and "auto"
)

// Open a backend by name, move data to it, run ops, and read the result back. Tensors are
// opaque and row-major; host data crosses only through Upload and Download.
func Example() {
	be, err := kernels.Open("cpu") // or "gpu", or "auto": a hardware GPU when there is one
	if err != nil {
		log.Fatal(err)
	}
	defer be.Close()
	x, _ := be.New(2, 3) // [2,3]
	w, _ := be.New(4, 3) // [4,3]
	y, _ := be.New(2, 4) // [2,4]
	theta, _ := be.New(4)
	defer func() {
		for _, t := range []kernels.Tensor{x, w, y, theta} {
			be.Free(t)
		}
	}()
	be.Upload(x, []float32{1, 2, 3, 4, 5, 6})
	be.Upload(w, []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1})
	be.Fill(theta, 2.5)
	be.Gemm(false, true, 1, x, w, 0, y) // y = x·wᵀ
	be.PosShrink(y, y, theta)           // y = max(y − θ, 0)
	out := make([]float32, y.Len())
	if err := be.Download(out, y); err != nil { // waits for the device
		log.Fatal(err)
	}
	fmt.Println(out)
	// Output: [0 0 0.5 3.5 1.5 2.5 3.5 12.5]
}
