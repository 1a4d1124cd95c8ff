//go:build !cgo

package gpu

const cgoEnabled = false

// glThread is empty without cgo: New fails before any GL thread starts.
type glThread struct{}

func (b *Backend) loop(factory ContextFactory, ready chan<- error) {
	close(b.exited)
	ready <- errNoCgo
}
