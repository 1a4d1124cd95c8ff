package model

import (
	"fmt"
	"strings"
	"time"
)

// A Metric is one named number reported during training, e.g. {"objective", 12.3}.
type Metric struct {
	Name  string
	Value float64
}

// Progress is what a trainer reports to its caller's callback: after every step (a minibatch)
// and once more at the end of each epoch with EndOfEpoch set and the epoch's metrics. It is
// shared by every trainer in the package (dictionary learning, LISTA, …), so it says nothing
// about any one model.
type Progress struct {
	Stage      string // what is running, e.g. "dict", "lista", "targets"
	Epoch      int    // 1-based
	Epochs     int
	Step       int // 1-based step within the epoch
	Steps      int // steps per epoch
	Metrics    []Metric
	EndOfEpoch bool
	Elapsed    time.Duration // since training started
}

// A ProgressFunc receives progress reports. It runs on the training goroutine, so it should be
// quick; a nil ProgressFunc is allowed everywhere and means no reports.
type ProgressFunc func(Progress)

// Done returns the fraction of all steps of all epochs finished, in [0, 1].
func (p Progress) Done() float64 {
	total := p.Epochs * p.Steps
	if total <= 0 {
		return 0
	}
	done := (p.Epoch-1)*p.Steps + p.Step
	return min(1, max(0, float64(done)/float64(total)))
}

// ETA estimates the time left, assuming the remaining steps take as long as the finished ones.
// It is 0 before the first step has finished.
func (p Progress) ETA() time.Duration {
	f := p.Done()
	if f <= 0 {
		return 0
	}
	return time.Duration(float64(p.Elapsed) * (1 - f) / f)
}

// Metric returns the value of the metric called name.
func (p Progress) Metric(name string) (float64, bool) {
	for _, m := range p.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// String renders a one-line report: "lista epoch 3/10 step 20/40 loss=0.0123 … elapsed 1m2s eta 3m4s".
func (p Progress) String() string {
	var b strings.Builder
	if p.Stage != "" {
		b.WriteString(p.Stage)
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "epoch %d/%d", p.Epoch, p.Epochs)
	if !p.EndOfEpoch {
		fmt.Fprintf(&b, " step %d/%d", p.Step, p.Steps)
	}
	for _, m := range p.Metrics {
		fmt.Fprintf(&b, " %s=%s", m.Name, FormatMetric(m.Value))
	}
	fmt.Fprintf(&b, " elapsed %s eta %s", p.Elapsed.Round(time.Second), p.ETA().Round(time.Second))
	return b.String()
}

// FormatMetric prints a metric with 4 significant digits.
func FormatMetric(v float64) string { return fmt.Sprintf("%.4g", v) }

// progressClock reports Progress values with the elapsed time filled in.
type progressClock struct {
	f     ProgressFunc
	stage string
	start time.Time
}

func newProgressClock(f ProgressFunc, stage string) *progressClock {
	return &progressClock{f: f, stage: stage, start: time.Now()}
}

func (c *progressClock) report(p Progress) {
	if c == nil || c.f == nil {
		return
	}
	p.Stage = c.stage
	p.Elapsed = time.Since(c.start)
	c.f(p)
}
