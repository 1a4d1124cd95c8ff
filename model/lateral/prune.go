package lateral

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// pruning is the state of S's pruning (Config.PruneEvery): the pattern of S's allowed entries,
// which starts as the tree's (every off-diagonal entry with branch 0) and only loses entries, and
// the co-activity of every pair since the last pruning.
type pruning struct {
	mask  []float32      // [m,m] the host copy of Lateral.mask
	coact kernels.Tensor // [m,m] Σ over the steps of the batch mean of |z||z|ᵀ
	start int            // P₀, the pairs i < j the pattern allows at the start
}

func newPruning(be kernels.Backend, mask []float32, m int) (*pruning, error) {
	c, err := be.New(m, m)
	if err != nil {
		return nil, err
	}
	p := &pruning{mask: slices.Clone(mask), coact: c}
	p.start = len(p.pairs(m))
	return p, nil
}

func (p *pruning) free(be kernels.Backend) { be.Free(p.coact) }

// pairs lists the allowed pairs i < j as i·m + j, in that order.
func (p *pruning) pairs(m int) []int {
	var out []int
	for i := range m {
		for j := i + 1; j < m; j++ {
			if p.mask[i*m+j] != 0 {
				out = append(out, i*m+j)
			}
		}
	}
	return out
}

// pruneS removes from S's pattern the ⌈prune_frac·P₀⌉ allowed pairs whose co-activity since the
// last pruning, the batch means of |z_i||z_j| summed over those steps, is the least (ties go to
// the pair first in row-major order), keeping at least ⌈prune_keep·P₀⌉; then it restarts the
// co-activity.
// The co-activity is the pair's part of S's gradient: a pair that is rarely on together costs
// the energy little whatever S_ij is, so its entry does little but raise the thresholds of
// codes that would use both. AfterStep's projection then zeroes the pruned entries of S.
func (l *Lateral) pruneS() error {
	p, m := l.prune, l.cfg.Units
	c := make([]float32, m*m)
	if err := l.be.Download(c, p.coact); err != nil {
		return err
	}
	pairs := p.pairs(m)
	start := float64(p.start)
	n := min(int(math.Ceil(l.cfg.PruneFrac*start)), len(pairs)-int(math.Ceil(l.cfg.PruneKeep*start)))
	if n > 0 {
		use := func(k int) float64 { return float64(c[k]) + float64(c[k%m*m+k/m]) }
		slices.SortStableFunc(pairs, func(a, b int) int { return cmp.Compare(use(a), use(b)) })
		for _, k := range pairs[:n] {
			p.mask[k], p.mask[k%m*m+k/m] = 0, 0
		}
		l.be.Upload(l.mask, p.mask)
	}
	l.be.Fill(p.coact, 0)
	return nil
}

// setState restores the pattern and the co-activity a checkpoint holds (their sizes checked by
// SetState), the pattern into mask too; a pattern must be symmetric and within cfg's.
func (p *pruning) setState(be kernels.Backend, mask kernels.Tensor, cfg Config, st map[string]model.HostTensor) error {
	if v, ok := st["mask"]; ok {
		m, start := cfg.Units, cfg.Mask()
		for k, x := range v.Data {
			if x != 0 && (x != 1 || start[k] == 0) || x != v.Data[k%m*m+k/m] {
				return fmt.Errorf("lateral: state \"mask\" is not a symmetric pruning of S's pattern (entry %d, %d is %g)", k/m, k%m, x)
			}
		}
		copy(p.mask, v.Data)
		be.Upload(mask, p.mask)
	}
	if v, ok := st["coactivity"]; ok {
		be.Upload(p.coact, v.Data)
	}
	return nil
}
