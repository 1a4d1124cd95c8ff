package main

import (
	"fmt"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/dict"
	"github.com/drsae/drsae/viz"
)

func init() {
	cliKinds[dict.Kind] = &cliKind{help: dictHelp, report: codeReport, show: dictShow}
}

const dictHelp = `Learn a dictionary D [n, m] (a unit-norm column per atom) so that samples x have sparse codes
z = argmin ½‖x − D z‖² + λ‖z‖₁ (z ≥ 0 with --nonnegative), as scikit-learn's
MiniBatchDictionaryLearning and SPAMS' trainDL do. Each minibatch: FISTA codes, then a gradient
step on D of --lr/λ_max(ZᵀZ), then every atom projected onto the unit ball; atoms unused for
--dead-after samples are replaced by badly reconstructed samples. At the end, code statistics of
--test-size held-out samples.`

// codeReport prints the statistics of a sparse coder's codes.
func codeReport(c *useContext, m model.Module, s *model.Samples) error {
	works := model.NewWorks(m)
	defer works.Free()
	st, err := model.MeasureCodes(m, works, s, c.batch)
	if err != nil {
		return err
	}
	printStats(st)
	return nil
}

func printStats(st model.CodeStats) {
	fmt.Fprintf(stdout, "objective %.4g, reconstruction error ‖x − x̂‖² %.4g, FVU %.4f, L0 %.2f, ‖z‖₁ %.4g, dead units %.1f%%\n",
		st.Objective, st.SquaredError, st.FVU, st.L0, st.L1, 100*st.Dead)
}

func dictShow(c *useContext, m model.Module, prefix string) ([]string, error) {
	d := m.(*dict.Dict)
	cfg := d.Config().(*dict.Config)
	host, err := model.HostParams(d)
	if err != nil {
		return nil, err
	}
	h, w := imageShape(cfg.Rows, cfg.Cols, cfg.Inputs)
	path := prefix + "atoms.png"
	return []string{path}, viz.SavePNG(path, viz.Grid(viz.Cols(host["D"].Data, cfg.Inputs, cfg.Units), h, w, 0, viz.GridOptions{}))
}
