package model

import (
	"math"

	"github.com/drsae/drsae/kernels"
)

// CodeStats summarizes the codes of samples, the numbers scikit-learn's and SPAMS' users look at
// when tuning λ and the number of atoms.
type CodeStats struct {
	Samples      int
	Objective    float64 // mean of the module's "loss" (for sparse coding ½‖x − D z‖² + λ‖z‖₁)
	SquaredError float64 // mean ‖x − x̂‖², the reconstruction error
	// FVU, the fraction of variance unexplained, Σ‖x − x̂‖²/Σ‖x − x̄‖² with x̄ the mean sample:
	// 0 is a perfect reconstruction, 1 is no better than predicting the mean.
	FVU  float64
	L0   float64   // mean number of active units per code (|z| > 0)
	L1   float64   // mean ‖z‖₁
	Dead float64   // fraction of units that are zero in every code
	Used []float64 // per unit, the number of codes in which it is active
}

// Metrics lists the statistics as named metrics.
func (s CodeStats) Metrics() []Metric {
	return []Metric{{"objective", s.Objective}, {"recon", s.SquaredError}, {"fvu", s.FVU}, {"L0", s.L0}, {"dead", s.Dead}}
}

// MeasureCodes runs m over s in batches of at most batch (its last phase) and summarizes the
// codes. The module's Loss reports "recon" (½‖x − x̂‖²) and "l1", and "objective" where that
// differs from its "loss".
func MeasureCodes(m Module, works *Works, s *Samples, batch int) (CodeStats, error) {
	be := m.Backend()
	var sums Sums
	var used []float64
	var counts kernels.Tensor
	defer func() { FreeTensors(be, counts) }()
	last := len(m.Phases()) - 1
	err := ForBatches(m, works, s, batch, last, func(w Work, lo, hi int) error {
		z := m.Code(w)
		units := z.Len() / w.Size()
		if counts == nil {
			var err error
			if counts, err = be.New(units); err != nil {
				return err
			}
			used = make([]float64, units)
		}
		be.CountAbove(counts, be.Reshape(z, w.Size(), units), 0, kernels.PerCol)
		host := make([]float32, units)
		if err := be.Download(host, counts); err != nil {
			return err
		}
		for i, v := range host {
			used[i] += float64(v)
		}
		l, err := m.Loss(w, last)
		sums.Add(l)
		return err
	})
	st := CodeStats{Samples: s.N(), Used: used}
	if err != nil || s.N() == 0 {
		return st, err
	}
	nf := float64(s.N())
	st.Objective, st.SquaredError, st.L1 = sums.Mean("loss"), 2*sums.Mean("recon"), sums.Mean("l1")
	if sums.Has("objective") {
		st.Objective = sums.Mean("objective")
	}
	mean := make([]float64, s.Dim)
	for i, v := range s.X {
		mean[i%s.Dim] += float64(v) / nf
	}
	var variance float64
	for i, v := range s.X {
		d := float64(v) - mean[i%s.Dim]
		variance += d * d
	}
	st.FVU = math.NaN()
	if variance > 0 {
		st.FVU = st.SquaredError * nf / variance
	}
	dead := 0
	for _, u := range used {
		st.L0 += u / nf
		if u == 0 {
			dead++
		}
	}
	st.Dead = float64(dead) / float64(max(1, len(used)))
	return st, nil
}
