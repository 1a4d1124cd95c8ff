package kerneltest

import (
	"fmt"
	"math"
)

var classifyShapes = []struct {
	shape []int
	big   bool
}{
	{[]int{1, 1}, false},
	{[]int{1, 7}, false},
	{[]int{7, 10}, false},
	{[]int{33, 7}, false},
	{[]int{257, 33}, false},
	{[]int{2, 3, 5}, false},
	{[]int{1000, 100}, true},
}

// xentScale is the per-element absolute tolerance of SoftmaxXent, as a scale for tol{0, 1}:
// 32·eps32·(1 + max|logit| + log k) per row. Subtracting the row maximum is exact only for nearby
// logits, so an error of eps·|logit| in an exponent is the price of the standard algorithm.
func xentScale(batch, k int, logits []float32, perRow int) []float64 {
	out := make([]float64, 0, batch*perRow)
	for b := 0; b < batch; b++ {
		m := 0.0
		for _, v := range logits[b*k : (b+1)*k] {
			m = max(m, math.Abs(float64(v)))
		}
		for range perRow {
			out = append(out, 32*eps32*(1+m+math.Log(float64(k))))
		}
	}
	return out
}

// testClassify: SoftmaxXent (with and without loss, extreme logits, invalid labels, finite
// differences of the summed loss) and Argmax (ties, constant rows).
func testClassify(s *suite) {
	for _, sh := range classifyShapes {
		shape, n := sh.shape, volume(sh.shape)
		batch, k := rowsCols(shape)
		labelsFor := func(c *tc) []float32 {
			l := make([]float32, batch)
			for i := range l {
				l[i] = float32(c.rng.IntN(k))
			}
			return l
		}
		for _, variant := range []string{"", "/loss=nil", "/logits=±1e4", "/invalid-labels"} {
			if variant == "/invalid-labels" && batch < 3 {
				continue
			}
			s.run(fmt.Sprintf("SoftmaxXent/%v%s", shape, variant), sh.big, func(c *tc) {
				logits, labels := c.normal(n, 2), labelsFor(c)
				switch variant {
				case "/logits=±1e4":
					for i := range logits {
						logits[i] = float32(math.Copysign(1e4, float64(logits[i])))
					}
					for i := 0; i < k; i++ {
						logits[i] = 1e4 // a row of equal, huge logits
					}
					if batch > 1 {
						logits[k+int(labels[1])] = -1e4 // the label's logit far below the others
					}
				case "/invalid-labels":
					labels[0], labels[2] = -1, float32(k)
				}
				lt, labt := c.in("logits", logits, shape...), c.in("labels", labels, batch)
				grad := c.out("grad", nil, shape...)
				loss := c.out("loss", nil, batch)
				if variant == "/loss=nil" {
					c.b.SoftmaxXent(nil, grad, lt, labt)
				} else {
					c.b.SoftmaxXent(loss, grad, lt, labt)
				}
				c.settle("SoftmaxXent")
				wl, wg := refSoftmaxXent(batch, k, f64(logits), f64(labels))
				if variant != "/loss=nil" {
					c.expect("SoftmaxXent", "loss", loss, wl, xentScale(batch, k, logits, 1), tol{0, 1})
				}
				c.expect("SoftmaxXent", "grad", grad, wg, xentScale(batch, k, logits, k), tol{0, 1})
			})
		}
		if !sh.big {
			s.run(fmt.Sprintf("SoftmaxXent/%v/FiniteDifferences", shape), false, func(c *tc) {
				logits, labels := c.normal(n, 2), labelsFor(c)
				run := func(lv []float64) (loss, grad []float64) {
					s := c.scope()
					defer s.free()
					lt, labt := s.in("logits", f32(lv), shape...), s.in("labels", labels, batch)
					gt, lost := s.out("grad", nil, shape...), s.out("loss", nil, batch)
					s.b.SoftmaxXent(lost, gt, lt, labt)
					s.settle("SoftmaxXent")
					return f64(s.get(lost)), f64(s.get(gt))
				}
				// grad is the gradient of the summed loss: r = 1.
				c.gradCheck("SoftmaxXent", "logits (grad of Σ loss)", gradProblem{
					x:    f64(logits),
					fwd:  func(lv []float64) []float64 { l, _ := run(lv); return l },
					back: func(lv, _ []float64) []float64 { _, g := run(lv); return g },
					r:    filled64(batch, 1),
					h:    0.01, rtol: 3e-3,
				})
			})
		}
		s.run(fmt.Sprintf("Argmax/%v", shape), sh.big, func(c *tc) {
			logits := c.normal(n, 3)
			if batch >= 3 && k >= 3 {
				for i := 0; i < k; i++ {
					logits[i] = -1 // a constant row: index 0
				}
				logits[k+1], logits[k+k-1] = 100, 100 // a tie: the first
				logits[2*k+k-1] = 50                  // the last
			}
			lt := c.in("logits", logits, shape...)
			dst := c.out("argmax", nil, batch)
			c.b.Argmax(dst, lt)
			c.settle("Argmax")
			c.expect("Argmax", "argmax", dst, refArgmax(batch, k, f64(logits)), nil, tol{}) // exact
		})
	}
	testLongClassify(s)
}

// testLongClassify: rows of millions of classes, which a backend may scan in parts (Mesa
// llvmpipe cuts a shader's loops short after 65,535 iterations in all).
func testLongClassify(s *suite) {
	const batch, k = 2, 1500001
	s.run(fmt.Sprintf("SoftmaxXent/[%d %d]", batch, k), false, func(c *tc) {
		logits := c.normal(batch*k, 2)
		logits[k-1] = 30 // the largest logit of row 0 at its very end
		labels := []float32{float32(k - 1), 7}
		lt, labt := c.in("logits", logits, batch, k), c.in("labels", labels, batch)
		grad, loss := c.out("grad", nil, batch, k), c.out("loss", nil, batch)
		c.b.SoftmaxXent(loss, grad, lt, labt)
		c.settle("SoftmaxXent")
		wl, wg := refSoftmaxXent(batch, k, f64(logits), f64(labels))
		c.expect("SoftmaxXent", "loss", loss, wl, xentScale(batch, k, logits, 1), tol{0, 1})
		c.expect("SoftmaxXent", "grad", grad, wg, xentScale(batch, k, logits, k), tol{0, 1})
	})
	const ka = 4200001
	s.run(fmt.Sprintf("Argmax/[%d %d]", batch, ka), false, func(c *tc) {
		logits := c.normal(batch*ka, 3)
		logits[ka-1] = 100                          // row 0: the last index
		logits[ka+10], logits[ka+ka-100] = 100, 100 // row 1: a tie far apart, the first
		lt := c.in("logits", logits, batch, ka)
		dst := c.out("argmax", nil, batch)
		c.b.Argmax(dst, lt)
		c.settle("Argmax")
		c.expect("Argmax", "argmax", dst, refArgmax(batch, ka, f64(logits)), nil, tol{}) // exact
	})
}
