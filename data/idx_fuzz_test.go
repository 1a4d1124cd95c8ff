package data

import (
	"bytes"
	"testing"
)

// FuzzReadIDX: no input may panic the reader, and what it accepts is consistent.
// Run with: go test -run '^$' -fuzz FuzzReadIDX -fuzztime 30s -parallel 1 ./data/
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(MagicImages, []uint32{2, 2, 3}, make([]byte, 12)))
	f.Add(idxBytes(MagicLabels, []uint32{3}, []byte{1, 2, 3}))
	f.Add(idxBytes(MagicLabels, []uint32{0xFFFFFFFF}, []byte{1}))
	f.Add(idxBytes(0x00000D01, []uint32{1}, make([]byte, 4)))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, size := range []int64{int64(len(b)), -1} {
			m, err := ReadIDXFrom(bytes.NewReader(b), "fuzz", size, 0)
			if err != nil {
				continue
			}
			n := 1
			for _, d := range m.Dims {
				n *= d
			}
			if n != len(m.Data) || m.Type != TypeUint8 {
				t.Fatalf("accepted dims %v with %d bytes of data", m.Dims, len(m.Data))
			}
		}
	})
}
