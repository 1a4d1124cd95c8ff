package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/drsae/drsae/model"
	"github.com/schollz/progressbar/v3"
)

// progressPrinter renders model.Progress reports. On a terminal it draws a bar over all steps of
// all epochs (github.com/schollz/progressbar) with the running metrics and the ETA, and prints a
// line above it at the end of each epoch; elsewhere (a pipe, a log file, or --quiet) it prints
// only the lines per epoch, so logs stay readable. A new Stage (e.g. "targets", then "lista")
// starts a new bar.
type progressPrinter struct {
	w     io.Writer
	tty   bool
	bar   *progressbar.ProgressBar
	stage string
}

func newProgressPrinter(quiet bool) *progressPrinter {
	tty := false
	if f, ok := stderr.(*os.File); ok && !quiet {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressPrinter{w: stderr, tty: tty}
}

// report shows one progress report; it is a model.ProgressFunc.
func (p *progressPrinter) report(pr model.Progress) {
	if p.tty {
		total := pr.Epochs * pr.Steps
		if p.bar == nil || pr.Stage != p.stage || p.bar.GetMax() != total {
			p.finishBar()
			p.bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetWidth(24),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionShowDescriptionAtLineEnd(),
			)
			p.stage = pr.Stage
		}
		p.bar.Describe(fmt.Sprintf("%s epoch %d/%d %s", pr.Stage, pr.Epoch, pr.Epochs, metricText(pr.Metrics)))
		p.bar.Set((pr.Epoch-1)*pr.Steps + pr.Step)
	}
	if pr.EndOfEpoch {
		if p.bar != nil {
			p.bar.Clear()
		}
		fmt.Fprintln(p.w, pr.String())
	}
}

// finish removes the bar, if any.
func (p *progressPrinter) finish() { p.finishBar() }

func (p *progressPrinter) finishBar() {
	if p.bar != nil {
		p.bar.Clear()
		p.bar = nil
	}
}

func metricText(ms []model.Metric) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.Name + "=" + model.FormatMetric(m.Value)
	}
	return strings.Join(parts, " ")
}
