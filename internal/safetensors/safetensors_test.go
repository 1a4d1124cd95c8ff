package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drsae/drsae/kernels"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	in := []Tensor{
		{Name: "D", Shape: []int{3, 2}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0}},
		{Name: "theta", Shape: []int{2}, Data: []float32{0.25, 1e-30}},
		{Name: "S", Shape: []int{2, 2}, Data: []float32{1, 0, 0, 1}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
		{Name: "scalar", Shape: nil, Data: []float32{7}},
	}
	meta := map[string]string{"format": "drsae", "note": "λ = 0.1"}
	if err := Save(path, in, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("read %d tensors, wrote %d", len(got), len(in))
	}
	for _, w := range in {
		g := got[w.Name]
		if !slices.Equal(g.Shape, append([]int{}, w.Shape...)) {
			t.Errorf("%s: shape %v, want %v", w.Name, g.Shape, w.Shape)
		}
		if len(g.Data) != len(w.Data) {
			t.Fatalf("%s: %d values, want %d", w.Name, len(g.Data), len(w.Data))
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Errorf("%s[%d] = %v, want %v", w.Name, i, g.Data[i], w.Data[i])
			}
		}
	}
	if gotMeta["format"] != "drsae" || gotMeta["note"] != "λ = 0.1" || len(gotMeta) != 2 {
		t.Errorf("metadata %v, want %v", gotMeta, meta)
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d files after a save, want 1", len(entries))
	}
}

// TestSafetensorsLayout checks the bytes against the format's definition: an 8-byte
// little-endian header length N, N bytes of JSON padded with spaces so that the data starts at a
// multiple of 8, then the little-endian values at their data_offsets.
func TestSafetensorsLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := Save(path, []Tensor{
		{Name: "b", Shape: []int{1}, Data: []float32{-1}},
		{Name: "a", Shape: []int{2}, Data: []float32{1, 2}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	padded := js + strings.Repeat(" ", (8-(8+len(js))%8)%8)
	var want bytes.Buffer
	binary.Write(&want, binary.LittleEndian, uint64(len(padded)))
	want.WriteString(padded)
	binary.Write(&want, binary.LittleEndian, []float32{-1, 1, 2})
	if !bytes.Equal(raw, want.Bytes()) {
		t.Fatalf("file bytes\n%q\nwant\n%q", raw, want.Bytes())
	}
	if (8+len(padded))%8 != 0 {
		t.Fatal("bad test: padding")
	}
}

// TestSafetensorsPythonReader reads a saved file with an independent reader written against the
// specification in Python's standard library (no numpy or safetensors needed), when python3 is
// installed. If the safetensors package itself is importable, it reads the file too.
func TestSafetensorsPythonReader(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	path := filepath.Join(t.TempDir(), "p.safetensors")
	if err := Save(path, []Tensor{
		{Name: "We", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "theta", Shape: []int{2}, Data: []float32{0.5, -0.25}},
	}, map[string]string{"model": "lista"}); err != nil {
		t.Fatal(err)
	}
	script := `
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
assert (8 + n) % 8 == 0, "data not 8-byte aligned"
head = json.loads(raw[8:8+n].decode("utf-8"))
data = raw[8+n:]
meta = head.pop("__metadata__", {})
out = []
for name in sorted(head):
    h = head[name]
    b, e = h["data_offsets"]
    vals = struct.unpack("<%df" % ((e - b) // 4), data[b:e])
    out.append("%s %s %s %s" % (name, h["dtype"], h["shape"], list(vals)))
out.append("meta %s" % json.dumps(meta, sort_keys=True))
try:
    from safetensors import safe_open
    with safe_open(sys.argv[1], framework="numpy") as f:
        out.append("safetensors %s" % sorted(f.keys()))
except ImportError:
    pass
print("\n".join(out))
`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python reader: %v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	want := "We F32 [2, 3] [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]\ntheta F32 [2] [0.5, -0.25]\nmeta {\"model\": \"lista\"}"
	if !strings.HasPrefix(got, want) {
		t.Errorf("python read\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(got, "safetensors") && !strings.Contains(got, "safetensors ['We', 'theta']") {
		t.Errorf("safetensors package read %s", got)
	}
}

func TestSafetensorsCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := Save(good, []Tensor{
		{Name: "D", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		{Name: "theta", Shape: []int{2}, Data: []float32{5, 6}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	hlen := int(binary.LittleEndian.Uint64(raw))

	// withHeader builds a file from a JSON header and a data buffer of size bytes.
	withHeader := func(js string, size int) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, uint64(len(js)))
		b.WriteString(js)
		b.Write(make([]byte, size))
		return b.Bytes()
	}
	lenBeyond := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint64(lenBeyond, uint64(len(raw)))
	hugeLen := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint64(hugeLen, 1<<62)

	cases := []struct {
		name string
		file []byte
		want string // a piece of the error
	}{
		{"empty", nil, "shorter than the 8-byte header"},
		{"short", raw[:5], "shorter than the 8-byte header"},
		{"header beyond file", lenBeyond, "beyond the end"},
		{"huge header length", hugeLen, "beyond the"},
		{"truncated data", raw[:len(raw)-3], "theta"},
		{"truncated header", raw[:8+hlen/2], "beyond the end"},
		{"trailing bytes", append(append([]byte(nil), raw...), 0, 0, 0, 0), "trailing"},
		{"bad json", withHeader(`{"D": {"dtype": "F32", `, 0), "bad JSON"},
		{"not an object", withHeader(`[1, 2]`, 0), "bad JSON"},
		{"dtype", withHeader(`{"D":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, 4), `"D" has dtype "F16"`},
		{"offsets out of range", withHeader(`{"D":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 4), `"D" has data offsets [0, 8] outside`},
		{"offsets reversed", withHeader(`{"D":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, 4), `"D" has data offsets`},
		{"size mismatch", withHeader(`{"D":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), `"D" has shape [3]`},
		{"overlap", withHeader(`{"A":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"B":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), "overlaps"},
		{"gap", withHeader(`{"A":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "gap"},
		{"duplicate", withHeader(`{"A":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"A":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), `"A" appears twice`},
		{"missing offsets", withHeader(`{"A":{"dtype":"F32","shape":[1]}}`, 4), `"A" needs dtype, shape and data_offsets`},
		{"unknown field", withHeader(`{"A":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, 4), `"A"`},
		// Π shape wraps to 0 in int64 (4·2⁶² = 2⁶⁴): a tensor of no data but a huge shape.
		{"shape overflow", withHeader(`{"A":{"dtype":"F32","shape":[4,4611686018427387904],"data_offsets":[0,0]},"B":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 16), `"A" has shape [4 4611686018427387904], larger than the 16-byte`},
		{"negative dim", withHeader(`{"A":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4), "negative"},
		{"bad metadata", withHeader(`{"__metadata__":{"a":1}}`, 0), "__metadata__"},
		{"garbage after header", withHeader(`{} x`, 0), "after the header"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors")
		if err := os.WriteFile(p, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(p)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want one naming the file and containing %q", c.name, err, c.want)
		}
		if strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%s: error spans several lines: %q", c.name, err)
		}
	}
	if _, _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "/dev/zero: not a regular file") {
		t.Errorf("/dev/zero: error %v", err)
	}
	t.Setenv(kernels.MemoryEnv, "40") // twice the file's bytes must fit
	if _, _, err := Load(good); err == nil || !strings.Contains(err.Error(), good) || !strings.Contains(err.Error(), kernels.MemoryEnv) {
		t.Errorf("a file beyond %s: error %v", kernels.MemoryEnv, err)
	}
	if _, _, err := Load(filepath.Join(dir, "missing.safetensors")); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: error %v", err)
	}
}

func TestSafetensorsSaveErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		ts   []Tensor
	}{
		{"length", []Tensor{{Name: "D", Shape: []int{2, 2}, Data: []float32{1}}}},
		{"duplicate", []Tensor{{Name: "D", Shape: []int{1}, Data: []float32{1}}, {Name: "D", Shape: []int{1}, Data: []float32{1}}}},
		{"metadata name", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}},
		{"empty name", []Tensor{{Shape: []int{1}, Data: []float32{1}}}},
	} {
		if err := Save(filepath.Join(dir, "x.safetensors"), c.ts, nil); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if err := Save(filepath.Join(dir, "no", "such", "x.safetensors"), nil, nil); err == nil {
		t.Error("missing folder: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed saves left %d files", len(entries))
	}
}
