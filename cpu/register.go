package cpu

import "github.com/drsae/drsae/kernels"

// The CPU backend always opens; it is the fallback of kernels.Open("auto").
func init() {
	kernels.Register("cpu", 0, func() (kernels.Backend, error) { return New(), nil })
}
