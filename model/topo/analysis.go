package topo

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// Responses encodes x [N,n] (host) in batches of at most batch samples with the encoder and
// returns the codes F(x) [N,m] and the pool responses √(ε + Σ w F²) [N,P], on the host.
func (t *Topo) Responses(x []float32, batch int) (codes, pooled []float32, err error) {
	n, m, p := t.cfg.Inputs, t.cfg.Units(), t.Layout.NumPools()
	if len(x)%n != 0 {
		panic(fmt.Sprintf("topo: Responses: %d values are not a whole number of %d-pixel patches", len(x), n))
	}
	works := model.NewWorks(t)
	defer works.Free()
	total := len(x) / n
	codes = make([]float32, total*m)
	pooled = make([]float32, total*p)
	batch = max(1, min(batch, total))
	for lo := 0; lo < total; lo += batch {
		b := min(batch, total-lo)
		mw, err := works.Get(b)
		if err != nil {
			return nil, nil, err
		}
		w := mw.(*work)
		t.be.Upload(w.x, x[lo*n:(lo+b)*n])
		t.encode(w)
		t.be.PoolNorms(w.p, w.f, t.Pools, float32(t.cfg.Eps))
		if err := t.be.Download(codes[lo*m:(lo+b)*m], w.f); err != nil {
			return nil, nil, err
		}
		if err := t.be.Download(pooled[lo*p:(lo+b)*p], w.p); err != nil {
			return nil, nil, err
		}
	}
	return codes, pooled, nil
}

// MapSimilarity compares the decoder filters of neighbouring units on the map with those of
// random pairs: Neighbour is the mean |cos| between D_i and D_j over the 4-neighbour pairs of the
// MapH×MapW torus, Random the mean |cos| over all pairs i ≠ j, Ratio = Neighbour/Random.
type MapSimilarity struct {
	Neighbour, Random, Ratio float64
}

// DecoderSimilarity downloads D and measures MapSimilarity on the model's map.
func (t *Topo) DecoderSimilarity() (MapSimilarity, error) {
	d := make([]float32, t.d.Value.Len())
	if err := t.be.Download(d, t.d.Value); err != nil {
		return MapSimilarity{}, err
	}
	return FilterSimilarity(d, t.cfg.Inputs, t.cfg.MapH, t.cfg.MapW), nil
}

// FilterSimilarity measures MapSimilarity for the columns of d [n, h·w] laid out row-major on an
// h×w torus.
func FilterSimilarity(d []float32, n, h, w int) MapSimilarity {
	m := h * w
	if len(d) != n*m {
		panic(fmt.Sprintf("topo: FilterSimilarity: %d values, want %d×%d", len(d), n, m))
	}
	cols := make([][]float64, m)
	for j := range cols {
		c := make([]float64, n)
		var s float64
		for i := range n {
			c[i] = float64(d[i*m+j])
			s += c[i] * c[i]
		}
		if s > 0 {
			for i := range c {
				c[i] /= math.Sqrt(s)
			}
		}
		cols[j] = c
	}
	cos := func(a, b int) float64 {
		var s float64
		for i, v := range cols[a] {
			s += v * cols[b][i]
		}
		return math.Abs(s)
	}
	var nb, nn float64
	for r := range h {
		for c := range w {
			i := r*w + c
			if w > 1 {
				nb += cos(i, r*w+(c+1)%w)
				nn++
			}
			if h > 1 {
				nb += cos(i, ((r+1)%h)*w+c)
				nn++
			}
		}
	}
	var all, na float64
	for i := range m {
		for j := i + 1; j < m; j++ {
			all += cos(i, j)
			na++
		}
	}
	s := MapSimilarity{Neighbour: nb / max(nn, 1), Random: all / max(na, 1)}
	if s.Random > 0 {
		s.Ratio = s.Neighbour / s.Random
	}
	return s
}

// ShiftSensitivity measures how much responses change when the input shifts: r0 and r1
// [N, dim] are the responses to N patches and to the same patches shifted. For each response
// dimension k with a non-zero variance it is
//
//	s_k = E[(r0_k − r1_k)²] / (Var r0_k + Var r1_k)
//
// averaged over k: 0 when the shift changes nothing, about 1 when the shifted patch is as
// different as an unrelated one (1 − the correlation of r0_k and r1_k, for equal variances).
// It is scale free, so single units and pools compare fairly.
func ShiftSensitivity(r0, r1 []float32, dim int) float64 {
	if len(r0) != len(r1) || dim <= 0 || len(r0)%dim != 0 {
		panic(fmt.Sprintf("topo: ShiftSensitivity: %d and %d values for dimension %d", len(r0), len(r1), dim))
	}
	n := len(r0) / dim
	var sum float64
	var count int
	for k := range dim {
		var m0, m1 float64
		for s := range n {
			m0 += float64(r0[s*dim+k])
			m1 += float64(r1[s*dim+k])
		}
		m0 /= float64(n)
		m1 /= float64(n)
		var v0, v1, diff float64
		for s := range n {
			a, b := float64(r0[s*dim+k]), float64(r1[s*dim+k])
			v0 += (a - m0) * (a - m0)
			v1 += (b - m1) * (b - m1)
			diff += (a - b) * (a - b)
		}
		if v0+v1 <= 1e-12*float64(n) {
			continue
		}
		sum += diff / (v0 + v1)
		count++
	}
	if count == 0 {
		return math.NaN()
	}
	return sum / float64(count)
}

// ShiftReport compares single units with pools under small shifts of the input. Units, Pools
// and Scattered are ShiftSensitivity of the response patterns: each sample's response vector
// divided by its L2 norm. Without that division, pools always look invariant, since the pooled
// energy of any dense code tracks the patch's contrast, which a shift hardly changes (a model
// trained with λ = 0 has raw pooled sensitivity far below its units'); the pattern says which
// pools respond, and only a map that groups units tuned alike keeps it under a shift. RawUnits
// and RawPools are the sensitivities of the responses as they are.
type ShiftReport struct {
	Shift              int     // pixels
	Units, Pools       float64 // pattern sensitivity of the codes and of the pool responses
	Scattered          float64 // of pool responses over the same pools with members scattered at random
	RawUnits, RawPools float64 // sensitivity of the unnormalized responses
}

// ShiftInvariance measures ShiftReport on count patches of src cut at random places and again
// shifted by shift pixels (half of them horizontally, half vertically). Scattered pools the
// codes with a layout whose members are relabelled at random (seed), the control that tells
// invariance due to the map from invariance due to averaging.
func (t *Topo) ShiftInvariance(src *data.PatchSource, shift, count int, seed uint64) (ShiftReport, error) {
	x0, x1 := src.ShiftPairs(count, shift, seed)
	z0, p0, err := t.Responses(x0, 256)
	if err != nil {
		return ShiftReport{}, err
	}
	z1, p1, err := t.Responses(x1, 256)
	if err != nil {
		return ShiftReport{}, err
	}
	m, p := t.cfg.Units(), t.Layout.NumPools()
	sc := t.cfg
	sc.Scatter = seed | 1
	scattered, err := sc.Layout()
	if err != nil {
		return ShiftReport{}, err
	}
	q0 := PoolResponses(z0, scattered, t.cfg.Eps)
	q1 := PoolResponses(z1, scattered, t.cfg.Eps)
	rep := ShiftReport{Shift: shift, RawUnits: ShiftSensitivity(z0, z1, m), RawPools: ShiftSensitivity(p0, p1, p)}
	pattern := func(v []float32, dim int) []float32 {
		data.NormalizeRows(v, dim, 0)
		return v
	}
	rep.Units = ShiftSensitivity(pattern(z0, m), pattern(z1, m), m)
	rep.Pools = ShiftSensitivity(pattern(p0, p), pattern(p1, p), p)
	rep.Scattered = ShiftSensitivity(pattern(q0, p), pattern(q1, p), p)
	return rep, nil
}

// PoolResponses computes √(ε + Σ_{i∈P_j} w_ji z_i²) on the host for codes z [N, units]: [N, P].
func PoolResponses(z []float32, l *kernels.PoolLayout, eps float64) []float32 {
	m, p := l.Units, l.NumPools()
	n := len(z) / m
	out := make([]float32, n*p)
	for s := range n {
		zs := z[s*m : (s+1)*m]
		for j := range p {
			idx, wt := l.Pool(j)
			q := eps
			for k, i := range idx {
				q += float64(wt[k]) * float64(zs[i]) * float64(zs[i])
			}
			out[s*p+j] = float32(math.Sqrt(q))
		}
	}
	return out
}
