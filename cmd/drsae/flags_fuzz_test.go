package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/drsae/drsae/model"
)

// FuzzTrainFlags: no command line of `drsae train KIND` may panic the flag parsing and the
// checks made before the data load; a refusal is one line, and what is accepted validates.
// The input is a kind's index and the arguments separated by NUL bytes.
// Run with: go test -run '^$' -fuzz FuzzTrainFlags -fuzztime 60s ./cmd/drsae/
func FuzzTrainFlags(f *testing.F) {
	kinds := model.Kinds()
	seeds := []string{
		"--units\x0016\x00--T\x003", "--T\x001000000000", "--units\x00-1", "--lr\x00NaN", "--lr\x00-Inf",
		"--map_h\x00100000\x00--map_w\x00100000", "--batch\x000", "--epochs\x001e3", "--pools\x00torus\x00--window\x000",
		"--maps\x0064\x00--filter\x009\x00--stride\x000", "--optimizer\x00adam\x00--lr-decay\x00-1", "--train-size\x000",
		"--max-time\x00-1s", "--out\x00x.json", "--seed\x0018446744073709551615", "--source\x00patches\x00--patch\x002049",
		"-h", "--average\x001.5", "--valid-size\x0060000", "--recipe\x00paper\x00--batch\x0020", "--recipe\x00x",
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	stderr = io.Discard
	f.Fuzz(func(t *testing.T, ki uint8, line string) {
		k, _ := model.LookupKind(kinds[int(ki)%len(kinds)])
		args := strings.Split(line, "\x00")
		for _, a := range args {
			if strings.HasPrefix(strings.TrimLeft(a, "-"), "resume") || strings.HasPrefix(strings.TrimLeft(a, "-"), "dict") {
				return // these read files: their checks are resume's and the dictionary's tests'
			}
		}
		a, err := parseTrain(k, kindCLI(k.Name), args)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || msg == "" {
				t.Fatalf("%s %q: error %q is not one line", k.Name, args, msg)
			}
			var u usageError
			if !errors.As(err, &u) && !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("%s %q: %v is not a usage error", k.Name, args, err)
			}
			return
		}
		if err := a.tc.Validate(); err != nil {
			t.Fatalf("%s %q: accepted a schedule that does not validate: %v", k.Name, args, err)
		}
		if err := a.spec.Validate(); err != nil {
			t.Fatalf("%s %q: accepted data that does not validate: %v", k.Name, args, err)
		}
	})
}
