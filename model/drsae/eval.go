package drsae

import (
	"math"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// Eval is the evaluation of a DrSAE on a labelled set.
type Eval struct {
	model.Sums           // "loss", "recon", "l1", "xent", "err", "L0" summed over the samples
	Confusion  [][]int   // Confusion[true][predicted]
	Active     []float64 // per unit, the fraction of samples in which it is active (z^T > 0)
	RelRecon   float64   // Σ‖x − x̂‖²/Σ‖x‖², the relative reconstruction error
}

// ErrorRate is the fraction of misclassified samples.
func (e Eval) ErrorRate() float64 { return e.Mean("err") }

// Errors is the number of misclassified samples.
func (e Eval) Errors() int { return int(math.Round(e.Mean("err") * float64(e.N))) }

// Evaluate classifies every sample of s (labels in s.Y) in batches of at most batch and measures
// the loss terms, the confusion matrix and the code's sparsity.
func Evaluate(m *DrSAE, works *model.Works, s *model.Samples, batch int) (Eval, error) {
	be, c := m.be, m.cfg
	ev := Eval{Confusion: make([][]int, c.Classes), Active: make([]float64, c.Units)}
	for i := range ev.Confusion {
		ev.Confusion[i] = make([]int, c.Classes)
	}
	counts, err := be.New(c.Units)
	if err != nil {
		return ev, err
	}
	defer be.Free(counts)
	host := make([]float32, c.Units)
	var sumX2 float64
	for _, v := range s.X {
		sumX2 += float64(v) * float64(v)
	}
	err = model.ForBatches(m, works, s, batch, 1, func(mw model.Work, lo, hi int) error {
		w := mw.(*work)
		pred := make([]float32, hi-lo)
		be.Argmax(w.pred, w.logits)
		if err := be.Download(pred, w.pred); err != nil {
			return err
		}
		for i, p := range pred {
			y := int(s.Y[lo+i])
			if y >= 0 && y < c.Classes && p >= 0 && int(p) < c.Classes {
				ev.Confusion[y][int(p)]++
			}
		}
		be.CountAbove(counts, w.enc.Code(), 0, kernels.PerCol)
		if err := be.Download(host, counts); err != nil {
			return err
		}
		for i, v := range host {
			ev.Active[i] += float64(v)
		}
		l, err := m.Loss(w, 1)
		ev.Sums.Add(l)
		return err
	})
	for i := range ev.Active {
		ev.Active[i] /= float64(max(1, s.N()))
	}
	if sumX2 > 0 {
		ev.RelRecon = 2 * ev.Mean("recon") * float64(s.N()) / sumX2
	}
	return ev, err
}

// Angles returns, per unit i, the angle between its encoder row E[i,:] and decoder column
// D[:,i] (π/2 when either is zero). After discriminative training the paper finds part-units
// below 0.5 rad and categorical units above 0.7 rad.
func Angles(m *DrSAE) ([]float64, error) {
	p, err := model.HostParams(m)
	if err != nil {
		return nil, err
	}
	n, u := m.cfg.Inputs, m.cfg.Units
	e, d := p["E"].Data, p["D"].Data
	out := make([]float64, u)
	for i := range u {
		var dot, ne, nd float64
		for j := range n {
			a, b := float64(e[i*n+j]), float64(d[j*u+i])
			dot += a * b
			ne += a * a
			nd += b * b
		}
		if ne == 0 || nd == 0 {
			out[i] = math.Pi / 2
			continue
		}
		out[i] = math.Acos(math.Max(-1, math.Min(1, dot/math.Sqrt(ne*nd))))
	}
	return out, nil
}

// UnitKinds counts the part-units (angle below 0.5 rad) and categorical units (above 0.7 rad)
// among angles, the paper's two populations.
func UnitKinds(angles []float64) (part, categorical int) {
	for _, a := range angles {
		if a < 0.5 {
			part++
		} else if a > 0.7 {
			categorical++
		}
	}
	return part, categorical
}
