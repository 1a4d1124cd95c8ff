package main

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/dict"
	"github.com/drsae/drsae/model/lista"
	"github.com/drsae/drsae/viz"
)

func init() {
	cliKinds[lista.Kind] = &cliKind{help: listaHelp, defaults: listaDefaults, report: listaReport, show: listaShow,
		inputs: func(cfg model.Config) []pathUse { return modelFiles("--dict", cfg.(*lista.Config).Dictionary) }}
}

const listaHelp = `Train a LISTA encoder (Gregor & LeCun 2010) for a saved dictionary (drsae train dict, --dict):
z_0 = 0, z_{t+1} = h_θ(W_e x + S z_t) for T steps, started at ISTA's values W_e = Dᵀ/L,
S = I − DᵀD/L, θ = λ/L and trained by backpropagation through the T steps to regress the codes z*
that FISTA finds for the dictionary. The data default to the dictionary's. At the end, the
held-out code error ‖z − z*‖² beside FISTA's at T and 5·T iterations.`

// listaDefaults takes the shape, the coding problem and the data of the dictionary.
func listaDefaults(cfg model.Config, spec *model.DataSpec, set map[string]bool) error {
	c := cfg.(*lista.Config)
	if c.Dictionary == "" {
		return usagef("--dict FILE is required (train one with drsae train dict)")
	}
	s, err := model.ReadSaved(c.Dictionary)
	if err != nil {
		return fmt.Errorf("--dict: %v", err)
	}
	d, ok := s.Config.(*dict.Config)
	if !ok {
		return usagef("--dict %s: a %s model, not a dictionary", c.Dictionary, s.Kind)
	}
	c.FromDictionary(*d)
	for _, f := range model.Fields(&s.Data) {
		if !set[f.Flag] && f.Key != "train_size" && f.Key != "valid_size" && f.Key != "test_size" {
			copyField(spec, f)
		}
	}
	return nil
}

// listaReport compares the encoder's codes with z* (FISTA to convergence) and with FISTA at T
// and 5·T iterations, then prints their statistics.
func listaReport(c *useContext, mod model.Module, s *model.Samples) error {
	l := mod.(*lista.LISTA)
	cfg := l.Config().(*lista.Config)
	works := model.NewWorks(l)
	defer works.Free()
	s, err := model.WithTargets(l, s, nil)
	if err != nil {
		return err
	}
	sums, err := model.Evaluate(l, works, s, c.batch, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "code error ‖z − z*‖²: LISTA T=%d %.4g", cfg.T, sums.Mean("code_err"))
	for _, k := range []int{cfg.T, 5 * cfg.T} {
		e, err := fistaError(l.Backend(), l.D(), cfg, k, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, ", FISTA %d iterations %.4g", k, e)
	}
	fmt.Fprintln(stdout)
	st, err := model.MeasureCodes(l, works, s, c.batch)
	if err != nil {
		return err
	}
	printStats(st)
	return nil
}

// fistaError is the mean ‖z − z*‖² of k FISTA iterations on s against its targets s.Y.
func fistaError(be kernels.Backend, d kernels.Tensor, cfg *lista.Config, k int, s *model.Samples) (float64, error) {
	coder, err := model.NewSparseCoder(be, d, model.CodingOptions{Lambda: cfg.Lambda, NonNegative: cfg.NonNegative, Algorithm: model.FISTA, MaxIter: k})
	if err != nil {
		return 0, err
	}
	defer coder.Free()
	z, err := model.CodeAll(be, coder, s, 256, nil)
	if err != nil {
		return 0, err
	}
	var sum float64
	for i, v := range z {
		e := float64(v) - float64(s.Y[i])
		sum += e * e
	}
	return sum / float64(s.N()), nil
}

func listaShow(c *useContext, mod model.Module, prefix string) ([]string, error) {
	cfg := mod.Config().(*lista.Config)
	host, err := model.HostParams(mod)
	if err != nil {
		return nil, err
	}
	h, w := imageShape(cfg.Rows, cfg.Cols, cfg.Inputs)
	path := prefix + "filters.png"
	return []string{path}, viz.SavePNG(path, viz.Grid(viz.Rows(host["We"].Data, cfg.Units, cfg.Inputs), h, w, 0, viz.GridOptions{}))
}
