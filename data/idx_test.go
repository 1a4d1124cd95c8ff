package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// idxBytes encodes an IDX file by hand (independently of WriteIDX): magic, dims, data.
func idxBytes(magic uint32, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func gzipBytes(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	if _, err := z.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestIDXRoundTrip(t *testing.T) {
	dir := t.TempDir()
	pix := randomBytes(3*4*5, 1)
	lab := []byte{0, 1, 2}
	for _, gz := range []bool{false, true} {
		enc := func(b []byte) []byte {
			if gz {
				return gzipBytes(t, b)
			}
			return b
		}
		// Names deliberately do not say whether the file is compressed.
		suffix := map[bool]string{false: "raw", true: "gz"}[gz]
		ip := writeFile(t, dir, "images-"+suffix, enc(idxBytes(MagicImages, []uint32{3, 4, 5}, pix)))
		lp := writeFile(t, dir, "labels-"+suffix, enc(idxBytes(MagicLabels, []uint32{3}, lab)))

		im, err := ReadImages(ip)
		if err != nil {
			t.Fatal(err)
		}
		if im.Type != TypeUint8 || !equalInts(im.Dims, []int{3, 4, 5}) || !bytes.Equal(im.Data, pix) {
			t.Errorf("gzip=%v: images read back as type %#x dims %v, data equal %v", gz, im.Type, im.Dims, bytes.Equal(im.Data, pix))
		}
		lb, err := ReadLabels(lp)
		if err != nil {
			t.Fatal(err)
		}
		if !equalInts(lb.Dims, []int{3}) || !bytes.Equal(lb.Data, lab) {
			t.Errorf("gzip=%v: labels read back as dims %v data %v", gz, lb.Dims, lb.Data)
		}

		d, err := LoadIDXPair(ip, lp, 3)
		if err != nil {
			t.Fatal(err)
		}
		if d.N != 3 || d.Rows != 4 || d.Cols != 5 || d.Classes != 3 || len(d.Pixels) != 60 {
			t.Fatalf("gzip=%v: dataset %d×%d×%d, %d classes, %d pixels", gz, d.N, d.Rows, d.Cols, d.Classes, len(d.Pixels))
		}
		for i, b := range pix {
			if d.Pixels[i] != float32(b)/255 {
				t.Fatalf("gzip=%v: pixel %d = %v, want %v/255", gz, i, d.Pixels[i], b)
			}
		}
	}

	// Any number of dimensions, including 0-sized ones, through WriteIDX.
	for _, dims := range [][]int{{}, {0}, {7}, {2, 3}, {2, 0, 4}, {1, 2, 3, 4}} {
		n := 1
		for _, d := range dims {
			n *= d
		}
		want := &IDX{Type: TypeUint8, Dims: dims, Data: randomBytes(n, 2)}
		var b bytes.Buffer
		if err := WriteIDX(&b, want); err != nil {
			t.Fatal(err)
		}
		p := writeFile(t, dir, "any", b.Bytes())
		got, err := ReadIDX(p)
		if err != nil {
			t.Fatalf("dims %v: %v", dims, err)
		}
		if !equalInts(got.Dims, dims) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("dims %v: read back dims %v, %d bytes", dims, got.Dims, len(got.Data))
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestIDXErrors checks that every bad file gives one error naming the file and the problem,
// for raw and gzip files alike, and never a panic.
func TestIDXErrors(t *testing.T) {
	t.Setenv(kernels.MemoryEnv, "1T") // headers are judged by the data, not this host's memory (TestIDXMemoryLimit)
	dir := t.TempDir()
	img10 := idxBytes(MagicImages, []uint32{10, 28, 28}, randomBytes(10*28*28, 3))
	gzTrunc := gzipBytes(t, img10)
	gzTrunc = gzTrunc[:len(gzTrunc)/2]
	gzBadCRC := gzipBytes(t, img10)
	gzBadCRC[len(gzBadCRC)-8] ^= 0xff // the CRC-32 of the gzip trailer

	cases := []struct {
		name   string
		file   []byte
		gz     bool
		read   func(string) (*IDX, error)
		expect []string // substrings of the error, besides the path
	}{
		{"empty", nil, false, ReadImages, []string{"truncated file", "magic number", "found 0 bytes"}},
		{"short magic", []byte{0, 0, 8}, false, ReadImages, []string{"truncated file", "found 3 bytes"}},
		{"bad magic", idxBytes(0x12345678, nil, nil), false, ReadImages, []string{"bad magic number 0x12345678", "expected 0x00000803"}},
		{"bad magic gz", idxBytes(0x89504E47, nil, nil), true, ReadLabels, []string{"bad magic number 0x89504E47", "expected 0x00000801"}},
		{"labels as images", idxBytes(MagicLabels, []uint32{1}, []byte{1}), false, ReadImages, []string{"bad magic number 0x00000801", "IDX labels", "expected 0x00000803", "IDX images"}},
		{"images as labels", idxBytes(MagicImages, []uint32{1, 1, 1}, []byte{1}), true, ReadLabels, []string{"bad magic number 0x00000803", "expected 0x00000801"}},
		{"float32 type", idxBytes(0x00000D03, []uint32{1, 1, 1}, make([]byte, 4)), false, ReadImages, []string{"unsupported type code 0x0D", "float32"}},
		{"int32 type gz", idxBytes(0x00000C01, []uint32{1}, make([]byte, 4)), true, ReadIDX, []string{"unsupported type code 0x0C", "int32"}},
		{"truncated header", idxBytes(MagicImages, []uint32{10}, nil), false, ReadImages, []string{"truncated file", "needs 16 bytes", "has 8"}},
		{"truncated header gz", idxBytes(MagicImages, []uint32{10}, nil), true, ReadImages, []string{"truncated file", "needs 16 bytes", "found 8"}},
		{"truncated data", img10[:16+100], false, ReadImages, []string{"truncated file", "10×28×28", "7840 data bytes", "7856 in all", "has 116", "(100 data bytes)"}},
		{"truncated data gz", img10[:16+100], true, ReadImages, []string{"truncated file", "7840 data bytes", "found 100 data bytes", "after gzip"}},
		{"truncated gzip stream", gzTrunc, false, ReadImages, []string{"truncated file", "7840 data bytes", "found"}},
		{"gzip bad checksum", gzBadCRC, false, ReadImages, []string{"corrupt gzip stream", "checksum"}},
		{"extra bytes", append(append([]byte{}, img10...), 1, 2, 3), false, ReadImages, []string{"longer than its header says", "7856 bytes", "3 extra"}},
		{"extra bytes gz", append(append([]byte{}, img10...), 1, 2, 3), true, ReadImages, []string{"longer than its header says", "3 extra"}},
		// A header that lies about a huge size must fail on size, not allocate 4 GB.
		{"lying header", idxBytes(MagicImages, []uint32{0xFFFFFFFF, 28, 28}, make([]byte, 100)), false, ReadImages, []string{"header is corrupt"}},
		{"lying header small", idxBytes(MagicLabels, []uint32{0xFFFFFFFF}, make([]byte, 100)), false, ReadLabels, []string{"truncated file", "4294967295 data bytes", "has 108"}},
		{"lying header gz", idxBytes(MagicLabels, []uint32{0xFFFFFFFF}, make([]byte, 100)), true, ReadLabels, []string{"truncated file", "4294967295 data bytes", "found 100 data bytes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.file
			if c.gz {
				b = gzipBytes(t, b)
			}
			p := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "_")+".idx", b)
			m, err := c.read(p)
			if err == nil {
				t.Fatalf("no error; read dims %v", m.Dims)
			}
			checkErr(t, err, append([]string{p}, c.expect...)...)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != p {
				t.Errorf("error %T is not a *FileError for %s", err, p)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		p := filepath.Join(dir, "no-such-file")
		_, err := ReadImages(p)
		checkErr(t, err, p, "cannot open")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("errors.Is(%v, fs.ErrNotExist) is false", err)
		}
	})
}

func TestIDXPairErrors(t *testing.T) {
	dir := t.TempDir()
	ip := writeFile(t, dir, "img", idxBytes(MagicImages, []uint32{5, 2, 2}, make([]byte, 20)))
	lp4 := writeFile(t, dir, "lab4", idxBytes(MagicLabels, []uint32{4}, []byte{0, 1, 2, 3}))
	lpBad := writeFile(t, dir, "labbad", gzipBytes(t, idxBytes(MagicLabels, []uint32{5}, []byte{0, 1, 9, 10, 3})))

	_, err := LoadIDXPair(ip, lp4, 10)
	checkErr(t, err, ip, lp4, "dimension mismatch", "4 labels", "5 images")
	_, err = LoadIDXPair(ip, lpBad, 10)
	checkErr(t, err, lpBad, "label 10 at index 3", "out of range 0..9")
	_, err = LoadIDXPair(ip, filepath.Join(dir, "none"), 10)
	checkErr(t, err, filepath.Join(dir, "none"), "cannot open")
	_, err = LoadIDXPair(lp4, lp4, 10)
	checkErr(t, err, lp4, "bad magic number 0x00000801")
}

// checkErr fails unless err is non-nil and its text contains every want.
func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", want)
	}
	t.Logf("error: %v", err)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if n := strings.Count(err.Error(), "data: "); n != 1 {
		t.Errorf("error %q carries the \"data: \" prefix %d times, want one error", err, n)
	}
}

// TestIDXMemoryLimit: a small gzip file whose header claims 600×1000×1000 images is refused on
// its header by the memory limit, before any of its 600 MB is read or allocated.
func TestIDXMemoryLimit(t *testing.T) {
	t.Setenv(kernels.MemoryEnv, "1G")
	dir := t.TempDir()
	claim := writeFile(t, dir, "claim.gz", gzipBytes(t, idxBytes(MagicImages, []uint32{600, 1000, 1000}, make([]byte, 1000))))
	_, err := ReadImages(claim)
	checkErr(t, err, claim, "600×1000×1000", "beyond the limit of 1.0 GiB", kernels.MemoryEnv)
	// The same header within the limit reads on, and finds the file short.
	t.Setenv(kernels.MemoryEnv, "4G")
	_, err = ReadImages(claim)
	checkErr(t, err, claim, "truncated file")
}
