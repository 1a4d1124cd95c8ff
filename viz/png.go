package viz

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
)

// SavePNG encodes img as PNG into path, atomically: it writes a temporary file in the same
// folder and renames it over path, so a reader never sees half a picture.
func SavePNG(path string, img image.Image) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = png.Encode(f, img); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	return nil
}
