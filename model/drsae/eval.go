package drsae

import (
	"math"
	"sort"

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

// Unit is one hidden unit's place on the paper's continuum from part-units to categorical units
// (Rolfe & LeCun 2013, the figure "the hidden units differentiate into two populations": ‖(S−I)ᵢ‖
// and ‖Cᵢ‖ against the angle, a dense cloud of part-units at small angles with weak connections
// and a tail of categorical units towards large angles with strong ones).
type Unit struct {
	Angle     float64 // between the encoder row E[i,:] and the decoder column D[:,i], radians (π/2 when either is 0)
	Recurrent float64 // ‖(S − I)[i,:]‖, the incoming recurrent connections
	Class     float64 // ‖C[:,i]‖, the outgoing classification connections
}

// Units measures every hidden unit of m (on the host, from its parameters).
func Units(m *DrSAE) ([]Unit, error) {
	p, err := model.HostParams(m)
	if err != nil {
		return nil, err
	}
	n, u, k := m.cfg.Inputs, m.cfg.Units, m.cfg.Classes
	e, s, d, c := p["E"].Data, p["S"].Data, p["D"].Data, p["C"].Data
	out := make([]Unit, u)
	for i := range out {
		var dot, ne, nd, rs, cs float64
		for j := range n {
			a, b := float64(e[i*n+j]), float64(d[j*u+i])
			dot += a * b
			ne += a * a
			nd += b * b
		}
		for j := range u {
			v := float64(s[i*u+j])
			if j == i {
				v--
			}
			rs += v * v
		}
		for j := range k {
			cs += float64(c[j*u+i]) * float64(c[j*u+i])
		}
		out[i] = Unit{Angle: math.Pi / 2, Recurrent: math.Sqrt(rs), Class: math.Sqrt(cs)}
		if ne > 0 && nd > 0 {
			out[i].Angle = math.Acos(math.Max(-1, math.Min(1, dot/math.Sqrt(ne*nd))))
		}
	}
	return out, nil
}

// The paper's heuristic thresholds on the angle (its footnote: they "fail to reflect the
// continuum" but single out the extremes).
const (
	PartAngle        = 0.5 // part-units below
	CategoricalAngle = 0.7 // categorical units above
)

// UnitGroup summarizes the units of one kind: how many, the medians of their ‖(S−I)ᵢ‖ and
// ‖Cᵢ‖, and their share of the classifier's weight Σᵢ‖Cᵢ‖².
type UnitGroup struct {
	N                int
	Recurrent, Class float64
	ClassShare       float64
}

// GroupUnits splits units by the thresholds into part-units, the units between and the
// categorical units, and summarizes each group.
func GroupUnits(units []Unit) (part, between, categorical UnitGroup) {
	var rec, cls [3][]float64
	var share [3]float64
	var total float64
	for _, x := range units {
		g := 1
		if x.Angle < PartAngle {
			g = 0
		} else if x.Angle > CategoricalAngle {
			g = 2
		}
		rec[g], cls[g] = append(rec[g], x.Recurrent), append(cls[g], x.Class)
		share[g] += x.Class * x.Class
		total += x.Class * x.Class
	}
	var out [3]UnitGroup
	for g := range out {
		out[g] = UnitGroup{N: len(rec[g]), Recurrent: median(rec[g]), Class: median(cls[g])}
		if total > 0 {
			out[g].ClassShare = share[g] / total
		}
	}
	return out[0], out[1], out[2]
}

// median is the median of v (it sorts v), 0 when v is empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	h := len(v) / 2
	if len(v)%2 == 1 {
		return v[h]
	}
	return (v[h-1] + v[h]) / 2
}
