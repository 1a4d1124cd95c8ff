package gpu

import "github.com/drsae/drsae/kernels"

// The GPU backend is preferred by kernels.Open("auto") whenever a context can be made.
func init() {
	kernels.Register("gpu", 10, func() (kernels.Backend, error) {
		b, err := New()
		if err != nil {
			return nil, err
		}
		return b, nil
	})
}
