package model

import (
	"fmt"
	"math"

	"github.com/drsae/drsae/data"
	"github.com/drsae/drsae/kernels"
)

// DrSAEKind is the "model" key of a saved DrSAE's JSON config.
const DrSAEKind = "drsae"

// drsaeJSON is the config file saved beside a DrSAE's tensors: {"model": "drsae", "inputs": …,
// "units": …, "classes": …, "T": …, "lambda": …, …}, plus the training state in a checkpoint.
type drsaeJSON struct {
	Model string `json:"model"`
	DrSAEConfig
	Checkpoint *drsaeCheckpoint `json:"checkpoint,omitempty"`
}

// downloadTensors copies tensors to the host, named prefix+names[i].
func downloadTensors(be kernels.Backend, names []string, ts []kernels.Tensor, prefix string) ([]NamedTensor, error) {
	out := make([]NamedTensor, len(ts))
	for i, t := range ts {
		d := make([]float32, t.Len())
		if err := be.Download(d, t); err != nil {
			return nil, err
		}
		out[i] = NamedTensor{Name: prefix + names[i], Shape: append([]int(nil), t.Shape()...), Data: d}
	}
	return out, nil
}

// Save writes the parameters to path (safetensors: E [m,n], S [m,m], b [m], D [n,m], C [k,m])
// and the config to the .json beside it, each atomically. meta goes into the safetensors
// "__metadata__" (e.g. the validation error); it may be nil.
//
// In PyTorch, with t = safetensors.torch.load_file(path) and cfg = json.load(config):
//
//	z = zeros(B, cfg["units"])
//	for _ in range(cfg["T"]): z = relu(x @ t["E"].T + z @ t["S"].T - t["b"])
//	x_hat = z @ t["D"].T;  logits = (z / sqrt(cfg["norm_eps"] + (z*z).sum(1, keepdim=True))) @ t["C"].T
func (m *DrSAE) Save(path string, meta map[string]string) error {
	return m.save(path, meta, nil, nil)
}

func (m *DrSAE) save(path string, meta map[string]string, extra []NamedTensor, ck *drsaeCheckpoint) error {
	ts, err := downloadTensors(m.be, DrSAEParams, m.Params(), "")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := SaveTensors(path, append(ts, extra...), meta); err != nil {
		return err
	}
	return SaveConfig(ConfigPath(path), drsaeJSON{Model: DrSAEKind, DrSAEConfig: m.Config, Checkpoint: ck})
}

// LoadDrSAE reads a DrSAE saved by Save (or a checkpoint) onto be. A config that is not valid,
// or tensors whose names or shapes disagree with it, give one error naming the file.
func LoadDrSAE(be kernels.Backend, path string) (*DrSAE, error) {
	m, _, _, err := loadDrSAE(be, path)
	return m, err
}

func loadDrSAE(be kernels.Backend, path string) (*DrSAE, *drsaeCheckpoint, map[string]HostTensor, error) {
	cfgPath := ConfigPath(path)
	var js drsaeJSON
	if err := LoadConfig(cfgPath, DrSAEKind, &js); err != nil {
		return nil, nil, nil, err
	}
	if err := js.DrSAEConfig.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("model config %s: %v", cfgPath, err)
	}
	tensors, _, err := LoadTensors(path)
	if err != nil {
		return nil, nil, nil, err
	}
	want := map[string][]int{}
	shapes := js.DrSAEConfig.ParamShapes()
	for i, n := range DrSAEParams {
		want[n] = shapes[i]
	}
	if js.Checkpoint != nil {
		for _, prefix := range js.Checkpoint.extraPrefixes() {
			for i, n := range DrSAEParams {
				want[prefix+n] = shapes[i]
			}
		}
	}
	if err := checkTensors(path, tensors, want); err != nil {
		return nil, nil, nil, err
	}
	for name, t := range tensors {
		for _, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, nil, nil, fmt.Errorf("%s: tensor %q holds a NaN or infinite value", path, name)
			}
		}
	}
	m, err := NewDrSAE(be, js.DrSAEConfig)
	if err != nil {
		return nil, nil, nil, err
	}
	for i, n := range DrSAEParams {
		be.Upload(m.Params()[i], tensors[n].Data)
	}
	if err := be.Sync(); err != nil {
		m.Free()
		return nil, nil, nil, err
	}
	return m, js.Checkpoint, tensors, nil
}

// DrSAEEval is the evaluation of a DrSAE on a labelled set.
type DrSAEEval struct {
	DrSAELoss           // mean loss terms, errors
	Confusion [][]int   // Confusion[true][predicted] counts; nil without classification
	L0        float64   // mean number of active units (z^T > 0) per sample
	Active    []float64 // fraction of samples in which each unit is active [m]
	RelRecon  float64   // Σ‖x − x̂‖² / Σ‖x‖², the relative reconstruction error
}

// Evaluate runs the model on every sample of ds in batches of at most batch samples (the last,
// partial batch gets buffers of its own size) and returns the loss terms, the error rate and
// confusion matrix (when classify is true) and code statistics.
func (m *DrSAE) Evaluate(ds *data.Dataset, batch int, classify bool) (DrSAEEval, error) {
	c := m.Config
	if ds.Dim() != c.Inputs {
		return DrSAEEval{}, fmt.Errorf("%s has %d features per sample, the model takes %d", ds.Name, ds.Dim(), c.Inputs)
	}
	if classify && ds.Classes > c.Classes {
		return DrSAEEval{}, fmt.Errorf("%s has %d classes, the model's classifier %d", ds.Name, ds.Classes, c.Classes)
	}
	var ev DrSAEEval
	if classify {
		ev.Confusion = make([][]int, c.Classes)
		for i := range ev.Confusion {
			ev.Confusion[i] = make([]int, c.Classes)
		}
	}
	active := make([]float64, c.Units)
	cnt := make([]float32, c.Units)
	var sumX2 float64
	err := m.forBatches(ds.N, batch, func(w *DrSAEBatch, idx []int, x, labels []float32) error {
		ds.Batch(idx, x, labels)
		for _, v := range x {
			sumX2 += float64(v) * float64(v)
		}
		m.be.Upload(w.X, x)
		m.be.Upload(w.Labels, labels)
		m.Forward(w, classify)
		l, err := m.Loss(w, classify, labels)
		if err != nil {
			return err
		}
		ev.DrSAELoss.Add(l)
		if classify {
			pred := make([]float32, len(idx))
			if err := m.Predictions(w, pred); err != nil {
				return err
			}
			for i, p := range pred {
				ev.Confusion[int(labels[i])][int(p)]++
			}
		}
		if err := m.ActiveCounts(w, cnt); err != nil {
			return err
		}
		for i, v := range cnt {
			active[i] += float64(v)
		}
		return nil
	})
	if err != nil {
		return ev, err
	}
	ev.Active = active
	for i := range active {
		ev.L0 += active[i]
		active[i] /= float64(ds.N)
	}
	ev.L0 /= float64(ds.N)
	if sumX2 > 0 {
		ev.RelRecon = 2 * ev.Recon * float64(ds.N) / sumX2
	}
	return ev, nil
}

// forBatches calls f for consecutive batches of at most batch of n samples, with buffers
// sized to each batch; the buffers of each size are made once and kept by m.
func (m *DrSAE) forBatches(n, batch int, f func(w *DrSAEBatch, idx []int, x, labels []float32) error) error {
	if batch <= 0 {
		return fmt.Errorf("batch size %d, want > 0", batch)
	}
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		w, err := m.batchFor(hi - lo)
		if err != nil {
			return err
		}
		idx := make([]int, hi-lo)
		for i := range idx {
			idx[i] = lo + i
		}
		x := make([]float32, (hi-lo)*m.Config.Inputs)
		labels := make([]float32, hi-lo)
		if err := f(w, idx, x, labels); err != nil {
			return err
		}
	}
	return nil
}

// batchFor returns m's cached buffers for batches of b samples, making them the first time.
func (m *DrSAE) batchFor(b int) (*DrSAEBatch, error) {
	if w, ok := m.batches[b]; ok {
		return w, nil
	}
	w, err := m.NewBatch(b)
	if err != nil {
		return nil, err
	}
	if m.batches == nil {
		m.batches = map[int]*DrSAEBatch{}
	}
	m.batches[b] = w
	return w, nil
}

// EncodeSet returns the codes z^T of the N samples x [N,n], as [N,m], computed in batches.
func (m *DrSAE) EncodeSet(x []float32, batch int) ([]float32, error) {
	c := m.Config
	if len(x)%c.Inputs != 0 {
		return nil, fmt.Errorf("%d values are not a whole number of samples of %d features", len(x), c.Inputs)
	}
	n := len(x) / c.Inputs
	codes := make([]float32, n*c.Units)
	at := 0
	err := m.forBatches(n, batch, func(w *DrSAEBatch, idx []int, _, _ []float32) error {
		m.be.Upload(w.X, x[idx[0]*c.Inputs:(idx[len(idx)-1]+1)*c.Inputs])
		m.Encode(w)
		k := len(idx) * c.Units
		if err := m.be.Download(codes[at:at+k], w.Code()); err != nil {
			return err
		}
		at += k
		return nil
	})
	return codes, err
}

// HostParams downloads E, S, b, D, C.
func (m *DrSAE) HostParams() (map[string]HostTensor, error) {
	ts, err := downloadTensors(m.be, DrSAEParams, m.Params(), "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]HostTensor, len(ts))
	for _, t := range ts {
		out[t.Name] = HostTensor{Shape: t.Shape, Data: t.Data}
	}
	return out, nil
}
