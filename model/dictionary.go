package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/drsae/drsae/kernels"
)

// DictKind is the "model" value in a dictionary's JSON config.
const DictKind = "dict"

// DictConfig holds a dictionary's shapes and hyper-parameters; it is saved as the JSON config
// beside the dictionary's safetensors file.
type DictConfig struct {
	Model       string  `json:"model"`       // DictKind
	Inputs      int     `json:"n"`           // n, the sample dimension
	Atoms       int     `json:"m"`           // m, the number of atoms
	Lambda      float64 `json:"lambda"`      // λ of ½‖x − D z‖² + λ‖z‖₁
	NonNegative bool    `json:"nonnegative"` // codes constrained to z ≥ 0
	// NonNegativeDict constrains the atoms to D ≥ 0 as well (SPAMS' posD, scikit-learn's
	// positive_dict): each step ends with the projection onto {D ≥ 0, ‖d_j‖ ≤ 1}.
	NonNegativeDict bool   `json:"nonnegative_dict,omitempty"`
	Algorithm       string `json:"algorithm"`  // "fista" or "ista", the sparse inference
	Iterations      int    `json:"iterations"` // inference iterations per minibatch
	// Tol stops the inference early once the codes change by less than Tol relative (see
	// CodingOptions.Tol); 0 runs all Iterations.
	Tol float64 `json:"tol,omitempty"`
	// Training.
	Batch  int `json:"batch"`
	Epochs int `json:"epochs"`
	// LearningRate is the step on D in units of 1/λ_max(ZᵀZ), the inverse Lipschitz constant of
	// the minibatch gradient in D: 1 is the largest step that cannot increase the minibatch loss.
	LearningRate float64 `json:"learning_rate"`
	// DeadAfter: an atom that no code has used for this many consecutive training samples is
	// replaced by the worst-reconstructed sample of the current minibatch, scaled to unit norm.
	// Negative: never.
	DeadAfter  int     `json:"dead_after"`
	Seed       uint64  `json:"seed"`
	Data       string  `json:"data,omitempty"`       // the training set, e.g. "mnist" or "patches"
	Preprocess string  `json:"preprocess,omitempty"` // how samples were prepared, e.g. "none", "contrast"
	Lipschitz  float64 `json:"lipschitz,omitempty"`  // λ_max(DᵀD) of the saved D
	// Metrics of the last training epoch (objective, recon, fvu, L0, dead).
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// DefaultDictConfig returns the defaults for n inputs and m atoms: λ = 0.1, FISTA with 50
// iterations, minibatches of 256, 10 epochs, learning rate 1, dead atoms replaced after 5000
// samples.
func DefaultDictConfig(n, m int) DictConfig {
	return DictConfig{
		Model: DictKind, Inputs: n, Atoms: m, Lambda: 0.1, Algorithm: "fista", Iterations: 50,
		Batch: 256, Epochs: 10, LearningRate: 1, DeadAfter: 5000, Seed: 1,
	}
}

// Validate reports the first bad field, naming it as the command line does.
func (c DictConfig) Validate() error {
	switch {
	case c.Model != DictKind:
		return fmt.Errorf("model is %q, want %q", c.Model, DictKind)
	case c.Inputs <= 0:
		return fmt.Errorf("n = %d, want > 0", c.Inputs)
	case c.Atoms <= 0:
		return fmt.Errorf("atoms = %d, want > 0", c.Atoms)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 1):
		return fmt.Errorf("lambda = %v, want a finite λ ≥ 0", c.Lambda)
	case c.Iterations <= 0:
		return fmt.Errorf("iterations = %d, want > 0", c.Iterations)
	case !(c.Tol >= 0 && c.Tol < 1):
		return fmt.Errorf("tol = %v, want 0 ≤ tol < 1", c.Tol)
	case c.Batch <= 0:
		return fmt.Errorf("batch = %d, want > 0", c.Batch)
	case c.Epochs < 0:
		return fmt.Errorf("epochs = %d, want ≥ 0", c.Epochs)
	case !(c.LearningRate > 0) || c.LearningRate > 2:
		return fmt.Errorf("learning rate = %v, want 0 < lr ≤ 2 (in units of 1/λ_max(ZᵀZ))", c.LearningRate)
	}
	if _, err := ParseAlgorithm(c.Algorithm); err != nil {
		return err
	}
	return nil
}

// CodingOptions returns the options a SparseCoder needs to code with this dictionary.
func (c DictConfig) CodingOptions() CodingOptions {
	alg, _ := ParseAlgorithm(c.Algorithm)
	return CodingOptions{Lambda: c.Lambda, NonNegative: c.NonNegative, Algorithm: alg, MaxIter: c.Iterations, Tol: c.Tol}
}

// A Dictionary is D [n, m], a column per atom, each of L2 norm at most 1, learned to make
// ½‖x − D z‖² + λ‖z‖₁ small with sparse codes z — the dictionary of Olshausen & Field, learned
// here as in scikit-learn's MiniBatchDictionaryLearning or SPAMS' trainDL: alternate sparse
// inference on a minibatch (FISTA) with a projected gradient step on D.
type Dictionary struct {
	Config DictConfig
	D      kernels.Tensor // [n, m]
	be     kernels.Backend
	zero   kernels.Tensor // [m] zeros, for the clip of NonNegativeDict
}

// NewDictionary makes a dictionary from cfg whose atoms are cfg.Atoms random samples of x
// ([N, n]), scaled to unit norm, as SPAMS does; an all-zero sample is replaced by a random
// direction. With more atoms than samples, samples repeat with a little noise.
func NewDictionary(be kernels.Backend, cfg DictConfig, x []float32) (*Dictionary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n, m := cfg.Inputs, cfg.Atoms
	if len(x) == 0 || len(x)%n != 0 {
		return nil, fmt.Errorf("training data has %d values, not a positive multiple of n = %d", len(x), n)
	}
	num := len(x) / n
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xd1c7))
	perm := rng.Perm(num)
	host := make([]float32, n*m)
	col := make([]float64, n)
	for j := 0; j < m; j++ {
		s := x[perm[j%num]*n:]
		var norm float64
		for i := range col {
			col[i] = float64(s[i])
			if j >= num {
				col[i] += 0.01 * rng.NormFloat64()
			}
			norm += col[i] * col[i]
		}
		if norm == 0 {
			for i := range col {
				col[i] = rng.NormFloat64()
				norm += col[i] * col[i]
			}
		}
		for i := range col {
			host[i*m+j] = float32(col[i] / math.Sqrt(norm))
		}
	}
	return NewDictionaryFrom(be, cfg, host)
}

// NewDictionaryFrom makes a dictionary from cfg and the values of D [n, m] (row-major).
func NewDictionaryFrom(be kernels.Backend, cfg DictConfig, d []float32) (*Dictionary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(d) != cfg.Inputs*cfg.Atoms {
		return nil, fmt.Errorf("dictionary has %d values, want n·m = %d·%d", len(d), cfg.Inputs, cfg.Atoms)
	}
	t, err := be.New(cfg.Inputs, cfg.Atoms)
	if err != nil {
		return nil, err
	}
	be.Upload(t, d)
	dict := &Dictionary{Config: cfg, D: t, be: be}
	if cfg.NonNegativeDict {
		if err := dict.project(); err != nil {
			dict.Free()
			return nil, err
		}
	}
	return dict, nil
}

// Backend returns the backend that holds D.
func (d *Dictionary) Backend() kernels.Backend { return d.be }

// Free releases D.
func (d *Dictionary) Free() {
	for _, t := range []kernels.Tensor{d.D, d.zero} {
		if t != nil {
			d.be.Free(t)
		}
	}
	d.D, d.zero = nil, nil
}

// Host returns a copy of D [n, m] on the host.
func (d *Dictionary) Host() ([]float32, error) {
	out := make([]float32, d.D.Len())
	return out, d.be.Download(out, d.D)
}

// NewCoder returns a SparseCoder for this dictionary with its λ, shrinkage, algorithm and
// iteration count.
func (d *Dictionary) NewCoder() (*SparseCoder, error) {
	return NewSparseCoder(d.be, d.D, d.Config.CodingOptions())
}

// Train learns D from x [N, n] for Config.Epochs epochs of minibatches (a new permutation of the
// samples every epoch; a last short minibatch is dropped unless it is the only one). Each step:
//
//  1. z = argmin ½‖x − D z‖² + λ‖z‖₁ by Config.Iterations of FISTA (or ISTA) from zero;
//  2. D ← D + η/λ_max(ZᵀZ) · (X − Z Dᵀ)ᵀ Z, a gradient step on the minibatch loss
//     ½‖X − Z Dᵀ‖², whose gradient in D is Lipschitz with constant λ_max(ZᵀZ);
//  3. every column of D is projected onto the unit ball (the constraint that keeps ‖z‖₁ from
//     shrinking to nothing while D grows, Olshausen & Field 1997);
//  4. atoms unused for Config.DeadAfter samples are replaced by the worst-reconstructed samples
//     of the minibatch (SPAMS' "clean" option does the same for unused atoms).
//
// It returns the statistics of each epoch, computed on the minibatch codes as they were inferred
// (before each D step), and reports progress after every step.
func (d *Dictionary) Train(x []float32, progress ProgressFunc) ([]CodeStats, error) {
	cfg := d.Config
	n, m := cfg.Inputs, cfg.Atoms
	if len(x) == 0 || len(x)%n != 0 {
		return nil, fmt.Errorf("training data has %d values, not a positive multiple of n = %d", len(x), n)
	}
	num := len(x) / n
	b := min(cfg.Batch, num)
	steps := num / b
	be := d.be

	coder, err := d.NewCoder()
	if err != nil {
		return nil, err
	}
	defer coder.Free()
	meter, err := newCodeMeter(be, n, m, cfg.Lambda)
	if err != nil {
		return nil, err
	}
	defer meter.Free()
	powerZ, err := NewPowerIteration(be, m, cfg.Seed+7)
	if err != nil {
		return nil, err
	}
	defer powerZ.Free()
	xt, err := be.New(b, n)
	if err != nil {
		return nil, err
	}
	defer be.Free(xt)
	zt, err := be.New(b, m)
	if err != nil {
		return nil, err
	}
	defer be.Free(zt)

	xb := make([]float32, b*n)
	idx := make([]int, b)
	unused := make([]int, m) // samples since each atom was last used
	prevUsed := make([]float64, m)
	clock := newProgressClock(progress, "dict")
	var history []CodeStats
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7ea1))
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		perm := rng.Perm(num)
		meter.Reset()
		clear(prevUsed)
		replaced := 0
		for step := 1; step <= steps; step++ {
			copy(idx, perm[(step-1)*b:step*b])
			for j, i := range idx {
				copy(xb[j*n:(j+1)*n], x[i*n:(i+1)*n])
			}
			be.Upload(xt, xb)
			if err := coder.SetDictionary(d.D); err != nil {
				return history, err
			}
			if _, err := coder.Encode(zt, xt); err != nil {
				return history, err
			}
			if err := meter.Add(d.D, xt, zt); err != nil {
				return history, err
			}
			// The step on D, with the residual X − Z Dᵀ the meter left behind.
			lz, _, err := powerZ.Run(zt, 50, 1e-3)
			if err != nil {
				return history, err
			}
			if lz > 0 {
				be.Gemm(true, false, float32(cfg.LearningRate/lz), meter.residual(b), zt, 1, d.D)
				if err := d.project(); err != nil {
					return history, err
				}
			}
			// Dead atoms.
			if cfg.DeadAfter >= 0 {
				var dead []int
				for j := range unused {
					if meter.used[j] > prevUsed[j] {
						unused[j] = 0
					} else {
						unused[j] += b
						if unused[j] >= max(cfg.DeadAfter, b) {
							dead = append(dead, j)
						}
					}
					prevUsed[j] = meter.used[j]
				}
				if len(dead) > 0 {
					if err := d.replaceAtoms(dead, xb, meter.lastErr); err != nil {
						return history, err
					}
					for _, j := range dead {
						unused[j] = 0
					}
					replaced += len(dead)
				}
			}
			st := meter.Stats()
			clock.report(Progress{Epoch: epoch, Epochs: cfg.Epochs, Step: step, Steps: steps,
				Metrics: []Metric{{"objective", st.Objective}, {"fvu", st.FVU}, {"L0", st.L0}}})
		}
		st := meter.Stats()
		history = append(history, st)
		d.Config.Metrics = map[string]float64{}
		for _, mt := range st.Metrics() {
			d.Config.Metrics[mt.Name] = mt.Value
		}
		clock.report(Progress{Epoch: epoch, Epochs: cfg.Epochs, Step: steps, Steps: steps, EndOfEpoch: true,
			Metrics: append(st.Metrics(), Metric{"replaced", float64(replaced)})})
	}
	return history, be.Sync()
}

// replaceAtoms sets the atoms dead to the samples of the minibatch xb [B, n] with the largest
// squared errors errs [B], scaled to unit norm. It round-trips D through the host: the contract
// has no column scatter, and this happens rarely.
func (d *Dictionary) replaceAtoms(dead []int, xb []float32, errs []float32) error {
	n, m := d.Config.Inputs, d.Config.Atoms
	host, err := d.Host()
	if err != nil {
		return err
	}
	order := make([]int, len(errs))
	for i := range order {
		order[i] = i
	}
	// Worst first; a partial selection sort is enough for a handful of atoms.
	for k := 0; k < len(dead) && k < len(order); k++ {
		best := k
		for i := k + 1; i < len(order); i++ {
			if errs[order[i]] > errs[order[best]] {
				best = i
			}
		}
		order[k], order[best] = order[best], order[k]
	}
	for k, j := range dead {
		s := xb[order[k%len(order)]*n:]
		var norm float64
		for i := 0; i < n; i++ {
			norm += float64(s[i]) * float64(s[i])
		}
		if norm == 0 {
			continue
		}
		inv := 1 / math.Sqrt(norm)
		for i := 0; i < n; i++ {
			host[i*m+j] = float32(float64(s[i]) * inv)
		}
	}
	d.be.Upload(d.D, host)
	if d.Config.NonNegativeDict {
		return d.project()
	}
	return nil
}

// project puts D back in its constraint set: every column in the unit ball and, with
// NonNegativeDict, D ≥ 0 first. Clipping then scaling is the exact projection onto the
// intersection: the clipped column is the projection onto the orthant, and scaling a
// non-negative vector keeps it non-negative.
func (d *Dictionary) project() error {
	if d.Config.NonNegativeDict {
		// max(D − 0, 0) with a zero threshold per atom: PosShrink is the clip.
		if d.zero == nil {
			z, err := d.be.New(d.Config.Atoms)
			if err != nil {
				return err
			}
			d.zero = z
		}
		d.be.PosShrink(d.D, d.D, d.zero)
	}
	d.be.ProjectNormBall(d.D, 1, kernels.PerCol)
	return nil
}

// Encode codes every row of x [N, n] with this dictionary's coding options, in minibatches of
// batch samples, and returns the codes [N, m] and their statistics.
func (d *Dictionary) Encode(x []float32, batch int) ([]float32, CodeStats, error) {
	coder, err := d.NewCoder()
	if err != nil {
		return nil, CodeStats{}, err
	}
	defer coder.Free()
	return encodeAll(d.be, d.D, d.Config.Lambda, x, batch, nil, func(z, x kernels.Tensor) error {
		_, err := coder.Encode(z, x)
		return err
	})
}

// encodeAll runs encode over x [N, n] in minibatches and gathers codes [N, m] and statistics
// against D [n, m], reporting progress (if not nil) after every minibatch as one epoch.
func encodeAll(be kernels.Backend, d kernels.Tensor, lambda float64, x []float32, batch int, progress *progressClock, encode func(z, x kernels.Tensor) error) ([]float32, CodeStats, error) {
	n, m := d.Shape()[0], d.Shape()[1]
	if len(x)%n != 0 {
		return nil, CodeStats{}, fmt.Errorf("data has %d values, not a multiple of n = %d", len(x), n)
	}
	if batch <= 0 {
		panic(fmt.Sprintf("model: encode: batch %d", batch))
	}
	num := len(x) / n
	meter, err := newCodeMeter(be, n, m, lambda)
	if err != nil {
		return nil, CodeStats{}, err
	}
	defer meter.Free()
	codes := make([]float32, num*m)
	tensors := map[int][2]kernels.Tensor{}
	defer func() {
		for _, t := range tensors {
			be.Free(t[0])
			be.Free(t[1])
		}
	}()
	for at := 0; at < num; at += batch {
		b := min(batch, num-at)
		t, ok := tensors[b]
		if !ok {
			xt, err := be.New(b, n)
			if err != nil {
				return nil, CodeStats{}, err
			}
			zt, err := be.New(b, m)
			if err != nil {
				be.Free(xt)
				return nil, CodeStats{}, err
			}
			t = [2]kernels.Tensor{xt, zt}
			tensors[b] = t
		}
		be.Upload(t[0], x[at*n:(at+b)*n])
		if err := encode(t[1], t[0]); err != nil {
			return nil, CodeStats{}, err
		}
		if err := meter.Add(d, t[0], t[1]); err != nil {
			return nil, CodeStats{}, err
		}
		if err := be.Download(codes[at*m:(at+b)*m], t[1]); err != nil {
			return nil, CodeStats{}, err
		}
		steps := (num + batch - 1) / batch
		progress.report(Progress{Epoch: 1, Epochs: 1, Step: at/batch + 1, Steps: steps, EndOfEpoch: at+b == num})
	}
	return codes, meter.Stats(), nil
}

// Save writes D to path (safetensors, tensor "D" [n, m]) and the config to ConfigPath(path).
func (d *Dictionary) Save(path string) error {
	host, err := d.Host()
	if err != nil {
		return err
	}
	l, err := LipschitzConstant(d.be, d.D)
	if err != nil {
		return err
	}
	d.Config.Lipschitz = l
	if err := SaveTensors(path, []NamedTensor{{Name: "D", Shape: []int{d.Config.Inputs, d.Config.Atoms}, Data: host}},
		map[string]string{"model": DictKind}); err != nil {
		return err
	}
	return SaveConfig(ConfigPath(path), d.Config)
}

// LoadDictionary reads a dictionary saved by Save: the config beside path, then the tensors,
// whose shapes must match the config.
func LoadDictionary(be kernels.Backend, path string) (*Dictionary, error) {
	var cfg DictConfig
	ts, err := loadModelFiles(path, DictKind, &cfg)
	if err != nil {
		return nil, err
	}
	if err := checkTensors(path, ts, map[string][]int{"D": {cfg.Inputs, cfg.Atoms}}); err != nil {
		return nil, err
	}
	return NewDictionaryFrom(be, cfg, ts["D"].Data)
}
