// Package atomicfile writes files so that a reader, or a crash, never sees half of one.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Hook, when set, is called before every step of every Write — "create", each "write" of the
// content, "sync", "close", "chmod", "rename", "syncdir" — with the file being saved. Tests set it
// to kill the process between any two steps and check that the old file or the new one remains,
// whole.
var Hook func(path, step string)

func hook(path, step string) {
	if Hook != nil {
		Hook(path, step)
	}
}

// hookWriter calls the hook before every write.
type hookWriter struct {
	path string
	w    io.Writer
}

func (h hookWriter) Write(p []byte) (int, error) {
	hook(h.path, "write")
	return h.w.Write(p)
}

// Write writes a file through a temporary file in the same folder, fsyncs it and renames it
// to path.
func Write(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	hook(path, "create")
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	var w io.Writer = f
	if Hook != nil {
		w = hookWriter{path, f}
	}
	if err = write(w); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	hook(path, "sync")
	if err = f.Sync(); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	hook(path, "close")
	if err = f.Close(); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	// CreateTemp makes the file 0600; a saved model is an ordinary file.
	hook(path, "chmod")
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	hook(path, "rename")
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save %s: %v", path, err)
	}
	// Make the rename itself durable; failure to sync a folder is not worth failing the save.
	hook(path, "syncdir")
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// RemoveStale removes the temporary files that an interrupted Write of path left behind (a
// process killed between creating its temporary file and renaming it). It returns how many it
// removed; folders it cannot read are left alone.
func RemoveStale(path string) int {
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+globEscape(filepath.Base(path))+".tmp*"))
	n := 0
	for _, f := range stale {
		if os.Remove(f) == nil {
			n++
		}
	}
	return n
}

// globEscape quotes the characters that filepath.Match treats as a pattern.
func globEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}
