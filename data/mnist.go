package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadImages reads an IDX images file (magic 0x00000803: [N, Rows, Cols] unsigned bytes),
// raw or gzip.
func ReadImages(path string) (*IDX, error) { return readIDXFile(path, MagicImages) }

// ReadLabels reads an IDX labels file (magic 0x00000801: [N] unsigned bytes), raw or gzip.
func ReadLabels(path string) (*IDX, error) { return readIDXFile(path, MagicLabels) }

// LoadIDXPair reads an images file and its labels file into a Dataset with pixels scaled to
// [0, 1] (byte/255). It returns an error if the two files disagree on the number of samples
// or a label is not below classes.
func LoadIDXPair(imagesPath, labelsPath string, classes int) (*Dataset, error) {
	if classes <= 0 || classes > 256 {
		panic(fmt.Sprintf("data: LoadIDXPair: %d classes; byte labels allow 1..256", classes))
	}
	im, err := ReadImages(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := ReadLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	n := im.Dims[0]
	if lb.Dims[0] != n {
		return nil, fileErr(labelsPath, nil, "dimension mismatch: %d labels, but images file %s has %d images", lb.Dims[0], imagesPath, n)
	}
	for i, l := range lb.Data {
		if int(l) >= classes {
			return nil, fileErr(labelsPath, nil, "label %d at index %d is out of range 0..%d", l, i, classes-1)
		}
	}
	var scale [256]float32
	for b := range scale {
		scale[b] = float32(b) / 255
	}
	px := make([]float32, len(im.Data))
	for i, b := range im.Data {
		px[i] = scale[b]
	}
	return &Dataset{
		Name: filepath.Base(imagesPath), N: n, Rows: im.Dims[1], Cols: im.Dims[2],
		Classes: classes, Pixels: px, Labels: lb.Data,
	}, nil
}

// The four files of an MNIST-format data set, by their standard names without ".gz".
const (
	trainImages = "train-images-idx3-ubyte"
	trainLabels = "train-labels-idx1-ubyte"
	testImages  = "t10k-images-idx3-ubyte"
	testLabels  = "t10k-labels-idx1-ubyte"
)

// findIDX returns the path of the file named base in dir, trying base.gz, base and the
// dotted spelling some copies use (train-images.idx3-ubyte), each also with .gz.
func findIDX(dir, base string) (string, error) {
	dotted := strings.Replace(base, "-idx", ".idx", 1)
	tried := []string{base + ".gz", base, dotted + ".gz", dotted}
	for _, name := range tried {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", &notFoundError{fmt.Sprintf("data: %s: no file named %s", dir, strings.Join(tried, ", "))}
}

// loadIDXDir loads the train and test sets of an MNIST-format folder.
func loadIDXDir(dir, name string, classes int) (train, test *Dataset, err error) {
	var paths [4]string
	for i, base := range []string{trainImages, trainLabels, testImages, testLabels} {
		if paths[i], err = findIDX(dir, base); err != nil {
			return nil, nil, err
		}
	}
	if train, err = LoadIDXPair(paths[0], paths[1], classes); err != nil {
		return nil, nil, err
	}
	if test, err = LoadIDXPair(paths[2], paths[3], classes); err != nil {
		return nil, nil, err
	}
	train.Name, test.Name = name+"/train", name+"/test"
	return train, test, nil
}

// hasIDXSet reports whether dir holds all four files of an MNIST-format data set.
func hasIDXSet(dir string) bool {
	for _, base := range []string{trainImages, trainLabels, testImages, testLabels} {
		if _, err := findIDX(dir, base); err != nil {
			return false
		}
	}
	return true
}

// notFoundError is a data set that is not on this machine; errors.Is(err, fs.ErrNotExist)
// holds for it.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == os.ErrNotExist }

// LoadMNIST loads the MNIST training (60,000) and test (10,000) sets from dir, a folder with
// the four standard files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; raw or .gz). dir "" means FindMNIST().
func LoadMNIST(dir string) (train, test *Dataset, err error) {
	if dir == "" {
		if dir, err = FindMNIST(); err != nil {
			return nil, nil, err
		}
	}
	return loadIDXDir(dir, "mnist", 10)
}

// LoadFashionMNIST loads Fashion-MNIST (same format and sizes as MNIST, classes named in
// FashionClasses) from dir; dir "" means FindFashionMNIST().
func LoadFashionMNIST(dir string) (train, test *Dataset, err error) {
	if dir == "" {
		if dir, err = FindFashionMNIST(); err != nil {
			return nil, nil, err
		}
	}
	return loadIDXDir(dir, "fashion-mnist", 10)
}

// FashionClasses are the names of the Fashion-MNIST labels 0..9.
var FashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs the files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FindFashionMNIST returns the Fashion-MNIST folder: $DRSAE_FASHION_MNIST if set, else
// FashionMNISTDir. The error says what to install if it is missing.
func FindFashionMNIST() (string, error) {
	if d := os.Getenv("DRSAE_FASHION_MNIST"); d != "" {
		if hasIDXSet(d) {
			return d, nil
		}
		return "", &notFoundError{fmt.Sprintf("data: DRSAE_FASHION_MNIST=%s does not hold the four Fashion-MNIST files (%s)", d, idxSetNames)}
	}
	return findFashionIn(FashionMNISTDir)
}

func findFashionIn(dir string) (string, error) {
	if hasIDXSet(dir) {
		return dir, nil
	}
	return "", &notFoundError{fmt.Sprintf("data: Fashion-MNIST not found in %s; run `apt-get install dataset-fashion-mnist` (Debian), or set DRSAE_FASHION_MNIST to a folder holding %s", dir, idxSetNames)}
}

var idxSetNames = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, raw or .gz"
