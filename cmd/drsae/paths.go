package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/drsae/drsae/internal/atomicfile"
	"github.com/drsae/drsae/model"
)

// A pathUse is a file a command reads or writes, with the flag it comes from. An output may
// continue an input: a resumed training goes on writing the checkpoint it read.
type pathUse struct{ what, path, continues string }

// modelFiles are the files of a saved model or checkpoint at path: itself and, for a model, the
// config beside it.
func modelFiles(flag, path string) []pathUse {
	files := []pathUse{{what: flag, path: path}}
	if cp := model.ConfigPath(path); cp != path {
		files = append(files, pathUse{what: "the config of " + flag, path: cp})
	}
	return files
}

// dataFiles are the files in the folders the data flags name.
func dataFiles(df dataFlags) []pathUse {
	var files []pathUse
	for _, d := range []pathUse{{what: "--data-dir", path: df.dir}, {what: "--images", path: df.images}} {
		if d.path == "" {
			continue
		}
		entries, _ := os.ReadDir(d.path)
		for _, e := range entries {
			files = append(files, pathUse{what: "a file of " + d.what, path: filepath.Join(d.path, e.Name())})
		}
	}
	return files
}

// checkOutputs refuses to write over an input (other than the one an output continues): each
// output is compared with each input as a file (the same file under another name, or through a
// link, counts) or, where one does not exist yet, by its absolute name. It then checks that every output's folder exists or can be made, and is
// writable, so that a long run does not fail at its first save; and removes the temporary files
// an interrupted save of an output left behind.
func checkOutputs(inputs, outputs []pathUse) error {
	for _, out := range outputs {
		for _, in := range inputs {
			if samePath(out.path, in.path) && (out.continues == "" || !samePath(out.continues, in.path)) {
				return usagef("%s %s is %s, which this command reads; write to another file", out.what, out.path, in.what)
			}
		}
	}
	for _, out := range outputs {
		dir := filepath.Dir(out.path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%s: %v", out.what, err)
		}
		f, err := os.CreateTemp(dir, ".drsae-write-test*")
		if err != nil {
			return fmt.Errorf("%s %s: the folder is not writable: %v", out.what, out.path, err)
		}
		f.Close()
		os.Remove(f.Name())
		if st, err := os.Stat(out.path); err == nil && !st.Mode().IsRegular() {
			return usagef("%s %s: not a regular file", out.what, out.path)
		}
		atomicfile.RemoveStale(out.path)
	}
	return nil
}

// samePath reports whether a and b name the same file.
func samePath(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}
