// Package safetensors reads and writes the safetensors format (float32 tensors), the files of
// drsae's models, checkpoints and codes.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/drsae/drsae/internal/atomicfile"
	"github.com/drsae/drsae/kernels"
)

// The safetensors format (https://github.com/huggingface/safetensors, "Format"):
//
//	8 bytes   N, the header length, unsigned little-endian
//	N bytes   a UTF-8 JSON object: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …,
//	          "__metadata__": {"key": "value", …}}, padded with spaces to keep the data 8-byte aligned
//	rest      the data buffer; offsets are relative to its start, little-endian values
//
// drsae stores float32 only ("F32"). The reader follows the reference implementation's
// validation: offsets must tile the buffer exactly (no gaps, no overlap), the buffer must end at
// the end of the file, and every tensor's byte length must equal 4·Π shape.

// maxHeaderBytes bounds the JSON header, as the reference implementation does (100 MB), so a
// corrupt length cannot make the reader allocate gigabytes.
const maxHeaderBytes = 100 << 20

// A Tensor is a tensor on the host with its name in a safetensors file.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32 // row-major, len(Data) = Π Shape
}

// A HostTensor is a tensor read from a file: its shape and its row-major values.
type HostTensor struct {
	Shape []int
	Data  []float32
}

type tensorHeader struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Save writes tensors and string metadata to path in the safetensors format, atomically:
// it writes a temporary file in the same folder, syncs it, and renames it over path, so a crash
// never leaves a half-written model under the final name. Names must be unique, non-empty and not
// "__metadata__"; a tensor whose data length differs from its shape's volume is an error.
func Save(path string, tensors []Tensor, meta map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	var offset int64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("save %s: bad tensor name %q", path, t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("save %s: tensor %q appears twice", path, t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("save %s: tensor %q has a negative dimension in shape %v", path, t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("save %s: tensor %q has shape %v (%d values) but %d values of data", path, t.Name, t.Shape, n, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{} // a scalar: JSON [] rather than null
		}
		size := int64(4 * n)
		header[t.Name] = tensorHeader{Dtype: "F32", Shape: shape, DataOffsets: [2]int64{offset, offset + size}}
		offset += size
	}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	js, err := json.Marshal(header) // keys sorted: the same model gives the same bytes
	if err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	// Pad so that the data buffer starts at a multiple of 8 bytes from the file's start.
	if pad := (8 - (8+len(js))%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}

	return atomicfile.Write(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(js)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(js); err != nil {
			return err
		}
		buf := make([]byte, 0, 1<<16)
		for _, t := range tensors {
			for _, v := range t.Data {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				if len(buf) == cap(buf) {
					if _, err := w.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
		}
		_, err := w.Write(buf)
		return err
	})
}

// Load reads a safetensors file written by Save or by the Python safetensors package
// (dtype F32 only). It returns the tensors by name and the "__metadata__" map (nil if absent).
// Any corruption — a truncated file, a header length beyond the file, bad JSON, a duplicate
// name, offsets that do not tile the data, a dtype other than F32 — is one error naming the file
// and, where there is one, the tensor.
//
// The file must be a regular file; it is read whole, and its values decoded beside it, so twice
// its size must be within kernels.HostLimit (DRSAE_MAX_MEMORY).
func Load(path string) (map[string]HostTensor, map[string]string, error) {
	raw, err := ReadFile(path, 2, 0)
	if err != nil {
		return nil, nil, err
	}
	tensors, meta, err := parseSafetensors(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	return tensors, meta, nil
}

func parseSafetensors(raw []byte) (map[string]HostTensor, map[string]string, error) {
	if len(raw) < 8 {
		return nil, nil, fmt.Errorf("not a safetensors file: %d bytes, shorter than the 8-byte header length", len(raw))
	}
	hlen := binary.LittleEndian.Uint64(raw[:8])
	if hlen > maxHeaderBytes {
		return nil, nil, fmt.Errorf("not a safetensors file: header length %d is beyond the %d-byte limit", hlen, maxHeaderBytes)
	}
	if 8+hlen > uint64(len(raw)) {
		return nil, nil, fmt.Errorf("truncated: header length %d is beyond the end of the %d-byte file", hlen, len(raw))
	}
	js := raw[8 : 8+hlen]
	data := raw[8+hlen:]

	entries, meta, err := parseHeader(js)
	if err != nil {
		return nil, nil, err
	}

	// Offsets must tile [0, len(data)) exactly, as the reference reader requires.
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(entries))
	out := make(map[string]HostTensor, len(entries))
	for name, h := range entries {
		if h.Dtype != "F32" {
			return nil, nil, fmt.Errorf("tensor %q has dtype %q; drsae reads only F32", name, h.Dtype)
		}
		n := int64(1)
		for _, d := range h.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("tensor %q has a negative dimension in shape %v", name, h.Shape)
			}
			if d > 0 && n > int64(len(data))/int64(d) {
				return nil, nil, fmt.Errorf("tensor %q has shape %v, larger than the %d-byte data buffer (file truncated?)", name, h.Shape, len(data))
			}
			n *= int64(d)
			if n > int64(len(data)) {
				return nil, nil, fmt.Errorf("tensor %q has shape %v, larger than the %d-byte data buffer (file truncated?)", name, h.Shape, len(data))
			}
		}
		b, e := h.DataOffsets[0], h.DataOffsets[1]
		if b < 0 || e < b || e > int64(len(data)) {
			return nil, nil, fmt.Errorf("tensor %q has data offsets [%d, %d] outside the %d-byte data buffer (file truncated?)", name, b, e, len(data))
		}
		if e-b != 4*n {
			return nil, nil, fmt.Errorf("tensor %q has shape %v (%d bytes of F32) but data offsets [%d, %d] (%d bytes)", name, h.Shape, 4*n, b, e, e-b)
		}
		spans = append(spans, span{name, b, e})
	}
	// By begin, then end: an empty tensor sits before a tensor that starts where it does.
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	var at int64
	for _, s := range spans {
		if s.begin != at {
			if s.begin < at {
				return nil, nil, fmt.Errorf("tensor %q overlaps the tensor before it (offset %d < %d)", s.name, s.begin, at)
			}
			return nil, nil, fmt.Errorf("tensor %q starts at offset %d, leaving a gap after %d", s.name, s.begin, at)
		}
		at = s.end
	}
	if at != int64(len(data)) {
		return nil, nil, fmt.Errorf("the tensors cover %d bytes of data but the file holds %d (truncated or trailing bytes)", at, len(data))
	}
	for _, s := range spans {
		h := entries[s.name]
		vals := make([]float32, (s.end-s.begin)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[s.begin+4*int64(i):]))
		}
		shape := h.Shape
		if shape == nil {
			shape = []int{}
		}
		out[s.name] = HostTensor{Shape: shape, Data: vals}
	}
	return out, meta, nil
}

// parseHeader decodes the JSON header token by token so that a duplicate tensor name, which
// encoding/json would silently resolve to the last value, is an error.
func parseHeader(js []byte) (map[string]tensorHeader, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	bad := func(err error) error { return fmt.Errorf("bad JSON header: %v", err) }
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, bad(errors.New("not a JSON object"))
	}
	entries := map[string]tensorHeader{}
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return nil, nil, fmt.Errorf("bad JSON header: %q appears twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("bad JSON header: __metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var rawEntry json.RawMessage
		if err := dec.Decode(&rawEntry); err != nil {
			return nil, nil, bad(err)
		}
		var h struct {
			Dtype       *string   `json:"dtype"`
			Shape       *[]int    `json:"shape"`
			DataOffsets *[2]int64 `json:"data_offsets"`
		}
		strict := json.NewDecoder(bytes.NewReader(rawEntry))
		strict.DisallowUnknownFields()
		if err := strict.Decode(&h); err != nil {
			return nil, nil, fmt.Errorf("bad JSON header: tensor %q: %v", name, err)
		}
		if h.Dtype == nil || h.Shape == nil || h.DataOffsets == nil {
			return nil, nil, fmt.Errorf("bad JSON header: tensor %q needs dtype, shape and data_offsets", name)
		}
		entries[name] = tensorHeader{Dtype: *h.Dtype, Shape: *h.Shape, DataOffsets: *h.DataOffsets}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, bad(err)
	}
	// Only padding may follow the object.
	if rest := bytes.TrimRight(js[dec.InputOffset():], " \t\r\n"); len(rest) != 0 {
		return nil, nil, fmt.Errorf("bad JSON header: unexpected bytes after the header object")
	}
	return entries, meta, nil
}

// ReadMetadata reads the "__metadata__" of a safetensors file from its header alone.
func ReadMetadata(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return nil, fmt.Errorf("%s: not a safetensors file: shorter than the 8-byte header length", path)
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	if hlen > maxHeaderBytes || 8+hlen > uint64(st.Size()) {
		return nil, fmt.Errorf("%s: not a safetensors file, or truncated: header length %d, file of %d bytes", path, hlen, st.Size())
	}
	js := make([]byte, hlen)
	if _, err := io.ReadFull(f, js); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	_, meta, err := parseHeader(js)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return meta, nil
}

// ReadFile reads the regular file at path whole, after checking that its size is at most most
// bytes (where most > 0) and that factor times its size is within kernels.HostLimit
// (DRSAE_MAX_MEMORY): what a reader that keeps factor copies of the bytes needs. A device, a
// FIFO or a folder is refused, so that no read goes on without end.
func ReadFile(path string, factor, most int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if most > 0 && st.Size() > most {
		return nil, fmt.Errorf("%s: %d bytes, more than the %s such a file may have", path, st.Size(), kernels.FormatBytes(most))
	}
	if err := kernels.CheckHostBytes(fmt.Sprintf("%s: reading its %d bytes", path, st.Size()), factor*st.Size()); err != nil {
		return nil, err
	}
	raw := make([]byte, st.Size())
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, fmt.Errorf("%s: %d bytes expected: %v (file changed while read?)", path, st.Size(), err)
	}
	return raw, nil
}
