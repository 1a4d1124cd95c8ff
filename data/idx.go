package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/drsae/drsae/kernels"
)

// IDX is the file format of MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
// 0x00 0x00 T D (T the element type code, D the number of dimensions), D big-endian uint32
// dimension sizes, then the elements in row-major order. Files may be gzip-compressed; the
// readers detect gzip by its magic bytes 0x1f 0x8b, not by the file name.
type IDX struct {
	Type byte   // element type code; the readers accept only TypeUint8
	Dims []int  // dimension sizes, outermost first
	Data []byte // prod(Dims) elements, row-major
}

// IDX element type codes.
const (
	TypeUint8   = 0x08
	TypeInt8    = 0x09
	TypeInt16   = 0x0B
	TypeInt32   = 0x0C
	TypeFloat32 = 0x0D
	TypeFloat64 = 0x0E
)

// Magic numbers of the two MNIST file kinds.
const (
	MagicLabels = 0x00000801 // unsigned bytes, 1 dimension [N]
	MagicImages = 0x00000803 // unsigned bytes, 3 dimensions [N, Rows, Cols]
)

// maxIDXBytes bounds the data of one IDX file (16 GiB), far above any data set here; it keeps
// the size arithmetic away from overflow. The memory cap (kernels.HostLimit, DRSAE_MAX_MEMORY)
// is checked next: the bytes and their float32 copy must fit in it.
const maxIDXBytes = 1 << 34

// FileError is the error of every reader in this package: what went wrong with which file.
type FileError struct {
	Path    string // the file as the caller named it
	Problem string // what is wrong, in words
	Err     error  // the underlying error, if any (os.ErrNotExist, a gzip error, ...)
}

func (e *FileError) Error() string {
	if e.Err != nil && !strings.Contains(e.Problem, e.Err.Error()) {
		return "data: " + e.Path + ": " + e.Problem + ": " + e.Err.Error()
	}
	return "data: " + e.Path + ": " + e.Problem
}

func (e *FileError) Unwrap() error { return e.Err }

// openCause drops the path from an os.Open error, which FileError already names.
func openCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func fileErr(path string, err error, format string, args ...any) error {
	return &FileError{Path: path, Problem: fmt.Sprintf(format, args...), Err: err}
}

func typeName(t byte) string {
	switch t {
	case TypeUint8:
		return "unsigned byte"
	case TypeInt8:
		return "signed byte"
	case TypeInt16:
		return "int16"
	case TypeInt32:
		return "int32"
	case TypeFloat32:
		return "float32"
	case TypeFloat64:
		return "float64"
	}
	return "unknown"
}

func magicName(m uint32) string {
	switch m {
	case MagicLabels:
		return "IDX labels: unsigned bytes, 1 dimension"
	case MagicImages:
		return "IDX images: unsigned bytes, 3 dimensions"
	}
	return fmt.Sprintf("IDX %s, %d dimensions", typeName(byte(m>>8)), m&0xff)
}

func dimsString(dims []int) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, "×")
}

// ReadIDX reads an IDX file of unsigned bytes, raw or gzip-compressed, with any number of
// dimensions.
func ReadIDX(path string) (*IDX, error) { return readIDXFile(path, 0) }

// readIDXFile reads path and, if want is not 0, requires its magic number to be want.
func readIDXFile(path string, want uint32) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileErr(path, openCause(err), "cannot open")
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return ReadIDXFrom(f, path, size, want)
}

// ReadIDXFrom reads an IDX stream (raw or gzip) from r. name is used in errors. size is the
// byte length of r if known (the raw file size, which lets a truncated raw file be reported
// before reading it), or -1. If want is not 0 the magic number must equal want (MagicImages,
// MagicLabels).
func ReadIDXFrom(r io.Reader, name string, size int64, want uint32) (*IDX, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(2)
	if len(head) < 2 {
		if err == nil || err == io.EOF {
			return nil, fileErr(name, nil, "truncated file: expected at least a 4-byte magic number, found %d bytes", len(head))
		}
		return nil, fileErr(name, err, "cannot read")
	}
	var src io.Reader = br
	gz := head[0] == 0x1f && head[1] == 0x8b
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fileErr(name, err, "bad gzip header")
		}
		defer zr.Close()
		src = zr
		size = -1 // the decompressed size is not known in advance
	}
	m, err := readIDX(src, size, want)
	if err != nil {
		var pe *idxProblem
		if errors.As(err, &pe) {
			p := pe.msg
			if gz && pe.sizes {
				p += " (sizes after gzip decompression)"
			}
			return nil, fileErr(name, nil, "%s", p)
		}
		if gz {
			return nil, fileErr(name, err, "corrupt gzip stream")
		}
		return nil, fileErr(name, err, "cannot read")
	}
	return m, nil
}

// idxProblem is a format problem found by readIDX, to be wrapped with the file name.
type idxProblem struct {
	msg   string
	sizes bool // the message quotes byte counts
}

func (p *idxProblem) Error() string { return p.msg }

func problem(format string, args ...any) error {
	return &idxProblem{msg: fmt.Sprintf(format, args...)}
}

func sizeProblem(format string, args ...any) error {
	return &idxProblem{msg: fmt.Sprintf(format, args...), sizes: true}
}

// readIDX parses the decompressed stream r; size is its length if known, else -1.
func readIDX(r io.Reader, size int64, want uint32) (*IDX, error) {
	var b4 [4]byte
	if n, err := io.ReadFull(r, b4[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, sizeProblem("truncated file: expected a 4-byte magic number, found %d bytes", n)
		}
		return nil, err
	}
	magic := binary.BigEndian.Uint32(b4[:])
	if magic>>16 != 0 {
		exp := "0x0000TTDD (two zero bytes, type code, number of dimensions)"
		if want != 0 {
			exp = fmt.Sprintf("0x%08X (%s)", want, magicName(want))
		}
		return nil, problem("bad magic number 0x%08X, expected %s; not an IDX file", magic, exp)
	}
	typ, ndim := byte(magic>>8), int(magic&0xff)
	if typ != TypeUint8 {
		return nil, problem("unsupported type code 0x%02X (%s) in magic number 0x%08X; only 0x08 (unsigned byte) is supported", typ, typeName(typ), magic)
	}
	if want != 0 && magic != want {
		return nil, problem("bad magic number 0x%08X (%s), expected 0x%08X (%s)", magic, magicName(magic), want, magicName(want))
	}
	hdr := 4 + 4*int64(ndim)
	if size >= 0 && size < hdr {
		return nil, sizeProblem("truncated file: header of %d dimensions needs %d bytes, the file has %d", ndim, hdr, size)
	}
	dimBytes := make([]byte, 4*ndim)
	if n, err := io.ReadFull(r, dimBytes); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, sizeProblem("truncated file: header of %d dimensions needs %d bytes, found %d", ndim, hdr, 4+n)
		}
		return nil, err
	}
	dims := make([]int, ndim)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(dimBytes[4*i:]))
	}
	total := int64(1)
	for _, d := range dims {
		if d == 0 {
			total = 0
			break
		}
		if total > maxIDXBytes/int64(d) {
			return nil, problem("dimensions %s claim more than %d bytes of data; the header is corrupt", dimsString(dims), int64(maxIDXBytes))
		}
		total *= int64(d)
	}
	// The bytes, and the float32 samples a data set makes of them.
	if err := kernels.CheckHostBytes(fmt.Sprintf("dimensions %s (%d bytes, %d more as float32)", dimsString(dims), total, 4*total), 5*total); err != nil {
		return nil, problem("%v", err)
	}
	if size >= 0 {
		if size < hdr+total {
			return nil, sizeProblem("truncated file: dimensions %s need %d data bytes (%d in all), the file has %d (%d data bytes)",
				dimsString(dims), total, hdr+total, size, size-hdr)
		}
		if size > hdr+total {
			return nil, sizeProblem("file is longer than its header says: dimensions %s need %d bytes in all, the file has %d (%d extra)",
				dimsString(dims), hdr+total, size, size-hdr-total)
		}
	}
	initial := min(total, 1<<20)
	if size >= 0 {
		initial = total // checked against the file size above
	}
	data, err := readBounded(r, total, initial)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) < total {
		return nil, sizeProblem("truncated file: dimensions %s need %d data bytes (%d in all), found %d data bytes",
			dimsString(dims), total, hdr+total, len(data))
	}
	// Anything after the data means the header and the file disagree.
	var one [1]byte
	if n, err := io.ReadFull(r, one[:]); n > 0 {
		// Count the rest, but not without end (a gzip stream can expand enormously).
		const most = 1 << 26
		extra, _ := io.CopyN(io.Discard, r, most)
		count := fmt.Sprint(extra + 1)
		if extra == most {
			count = "more than " + fmt.Sprint(most)
		}
		return nil, sizeProblem("file is longer than its header says: dimensions %s need %d bytes in all, found %s extra bytes after them",
			dimsString(dims), hdr+total, count)
	} else if err != io.EOF {
		return nil, err
	}
	return &IDX{Type: typ, Dims: dims, Data: data}, nil
}

// readBounded reads up to want bytes from r into a buffer of initial capacity, growing it as
// data actually arrives, so that a header promising more than the stream holds costs at most
// twice the real size. A short read returns the bytes read and no error; other read errors
// are returned.
func readBounded(r io.Reader, want, initial int64) ([]byte, error) {
	buf := make([]byte, 0, max(initial, 1))
	for int64(len(buf)) < want {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(want, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// WriteIDX writes m as an uncompressed IDX file to w (wrap w in a gzip.Writer for .gz).
// It panics if len(m.Data) is not the product of m.Dims or m.Type is not TypeUint8.
func WriteIDX(w io.Writer, m *IDX) error {
	total := 1
	for _, d := range m.Dims {
		if d < 0 || d > 1<<32-1 {
			panic(fmt.Sprintf("data: WriteIDX: dimension %d out of range", d))
		}
		total *= d
	}
	if m.Type != TypeUint8 || len(m.Dims) > 255 || total != len(m.Data) {
		panic(fmt.Sprintf("data: WriteIDX: type 0x%02X, dims %v and %d bytes of data do not agree", m.Type, m.Dims, len(m.Data)))
	}
	var hdr bytes.Buffer
	hdr.Write([]byte{0, 0, m.Type, byte(len(m.Dims))})
	for _, d := range m.Dims {
		binary.Write(&hdr, binary.BigEndian, uint32(d))
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(m.Data)
	return err
}
