package model

import (
	"strings"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	p := Progress{Stage: "dict", Epoch: 2, Epochs: 4, Step: 5, Steps: 10, Elapsed: 15 * time.Second,
		Metrics: []Metric{{"objective", 12.34567}, {"L0", 3}}}
	if got := p.Done(); got != 0.375 {
		t.Errorf("Done = %v, want 0.375", got)
	}
	if got := p.ETA(); got != 25*time.Second {
		t.Errorf("ETA = %v, want 25s", got)
	}
	if v, ok := p.Metric("L0"); !ok || v != 3 {
		t.Errorf("Metric(L0) = %v, %v", v, ok)
	}
	if _, ok := p.Metric("nope"); ok {
		t.Error("Metric(nope) found")
	}
	want := "dict epoch 2/4 step 5/10 objective=12.35 L0=3 elapsed 15s eta 25s"
	if got := p.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	p.EndOfEpoch, p.Step = true, 10
	if got := p.String(); strings.Contains(got, "step") {
		t.Errorf("end of epoch: %q", got)
	}
	if (Progress{}).ETA() != 0 || (Progress{}).Done() != 0 {
		t.Error("zero Progress")
	}
}
