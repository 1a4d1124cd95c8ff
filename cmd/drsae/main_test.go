package main

import (
	"bytes"
	"strings"
	"testing"
)

// The dispatcher: unknown commands, kinds and flags print usage and exit 2, never a stack trace;
// -h exits 0.
func TestMainUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{nil, 2, "usage: drsae COMMAND"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"-h"}, 0, "usage: drsae COMMAND"},
		{[]string{"info", "--bogus"}, 2, "usage: drsae info"},
		{[]string{"info", "stray"}, 2, `unexpected argument "stray"`},
		{[]string{"info", "-h"}, 0, "usage: drsae info"},
		{[]string{"train"}, 2, "missing KIND"},
		{[]string{"train", "nope"}, 2, `unknown model kind "nope"`},
		{[]string{"train", "drsae", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"eval"}, 2, "--model FILE is required"},
		{[]string{"eval", "--model", "/nonexistent/m.safetensors"}, 1, "/nonexistent/m.safetensors"},
	} {
		code, _, errs := drsaeRun(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("drsae %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
		if strings.Contains(errs, "goroutine ") || strings.Contains(errs, "panic") {
			t.Errorf("drsae %v printed a stack trace: %q", tc.args, errs)
		}
	}
}

// drsaeRun runs the command line with captured output and returns the exit code, stdout and
// stderr.
func drsaeRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	oldOut, oldErr := stdout, stderr
	stdout, stderr = &out, &errb
	defer func() { stdout, stderr = oldOut, oldErr }()
	code := run(args)
	return code, out.String(), errb.String()
}
