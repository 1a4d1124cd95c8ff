package data

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"
)

// A small file whose header claims a huge image is refused before its pixels are decoded; an
// ordinary image decodes.
func TestDecodeGrayRefusesHugeImages(t *testing.T) {
	// A PNG of only its signature and header: 12000×12000 gray pixels, 8 bits.
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, [2]uint32{12000, 12000})
	ihdr.Write([]byte{8, 0, 0, 0, 0})
	var f bytes.Buffer
	f.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&f, binary.BigEndian, uint32(ihdr.Len()-4))
	f.Write(ihdr.Bytes())
	binary.Write(&f, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	_, err := DecodeGray(&f, "huge.png")
	if err == nil || !strings.Contains(err.Error(), "huge.png") || !strings.Contains(err.Error(), "12000×12000") || !strings.Contains(err.Error(), "limit") {
		t.Errorf("a header of 12000×12000: %v; want an error naming the file, the size and the limit", err)
	}

	img := image.NewGray(image.Rect(0, 0, 30, 20))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var ok bytes.Buffer
	if err := png.Encode(&ok, img); err != nil {
		t.Fatal(err)
	}
	g, err := DecodeGray(&ok, "ok.png")
	if err != nil || g.W != 30 || g.H != 20 || g.At(1, 0) != 1.0/255 {
		t.Errorf("a 30×20 image: %v, %d×%d", err, g.W, g.H)
	}
}
