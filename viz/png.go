package viz

import (
	"image"
	"image/png"
	"io"

	"github.com/drsae/drsae/internal/atomicfile"
)

// SavePNG encodes img as PNG into path, atomically: it writes a temporary file in the same
// folder and renames it over path, so a reader never sees half a picture.
func SavePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}
