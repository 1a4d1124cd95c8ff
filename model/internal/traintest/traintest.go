// Package traintest holds checks every model kind's tests run through the trainer.
package traintest

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/drsae/drsae/model"
)

// Resume checks that training is exact across a checkpoint: a run straight through and a run
// stopped after stopAfter epochs, saved, loaded from its checkpoint and resumed end with the same
// parameters bit for bit, the same state and the same best validation. newModule returns a fresh,
// initialized module (the same each call).
func Resume(t *testing.T, newModule func() model.Module, tc model.TrainConfig, train, valid *model.Samples, stopAfter int) {
	t.Helper()
	run := func(tr *model.Trainer) error { return tr.Run(context.Background(), train, valid) }
	straight, err := model.NewTrainer(newModule(), tc)
	if err != nil {
		t.Fatal(err)
	}
	defer straight.Free()
	defer straight.Module.Free()
	if err := run(straight); err != nil {
		t.Fatal(err)
	}

	ck := filepath.Join(t.TempDir(), "run.checkpoint.safetensors")
	first, err := model.NewTrainer(newModule(), tc)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Free()
	defer first.Module.Free()
	first.Checkpoint = ck
	stop := errors.New("stop here")
	n := 0
	first.OnEpoch = func(model.Epoch) error {
		if n++; n == stopAfter {
			return stop
		}
		return nil
	}
	if err := run(first); !errors.Is(err, stop) {
		t.Fatalf("first run: %v, want it stopped after epoch %d", err, stopAfter)
	}
	resumed, err := model.LoadCheckpoint(first.Module.Backend(), ck)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Free()
	defer resumed.Module.Free()
	if err := run(resumed); err != nil {
		t.Fatal(err)
	}
	a, err := model.HostParams(straight.Module)
	if err != nil {
		t.Fatal(err)
	}
	b, err := model.HostParams(resumed.Module)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range a {
		if i := firstDifference(p.Data, b[name].Data); i >= 0 {
			t.Fatalf("%s[%d]: straight %g, resumed %g", name, i, p.Data[i], b[name].Data[i])
		}
	}
	sa, sb := straight.State, resumed.State
	sa.Seconds, sb.Seconds = 0, 0
	if sa != sb {
		t.Errorf("states differ:\nstraight %+v\nresumed  %+v", sa, sb)
	}
}

// firstDifference is the first index where a and b differ (bit for bit), or -1.
func firstDifference(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}
