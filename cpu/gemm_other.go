//go:build !amd64

package cpu

// gemmKernels lists the micro-kernels this CPU can run: only the portable one.
func gemmKernels() []*gemmKernel { return []*gemmKernel{kernelGo} }

// packWholeA and packWholeB have no fast versions here: the Go loops of packA and packB run.
func packWholeA(dst []float32, transA bool, a []float32, lda, rows, kb, mr int) bool { return false }
func packWholeB(dst []float32, transB bool, b []float32, ldb, cols, kb, nr int) bool { return false }
