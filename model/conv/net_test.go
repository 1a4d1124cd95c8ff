package conv

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/internal/modeltest"
	"github.com/drsae/drsae/model/internal/traintest"
)

// netRef is the float64 host reference of the two-layer net's mean cross-entropy.
type netRef struct {
	c1, c2  Config // layer 1 on the images, layer 2 alone (c.Layer()) on layer 1's features
	vals    [][]float64
	x       []float64
	labels  []int
	classes int
	batch   int
	margin  float64
	mask    []float64 // the dropout mask on the standardized features [batch, features], or nil
}

func (r *netRef) loss() float64 {
	v := r.vals // layer1 W, b, g, layer2 W, b, g, C, c, mu, inv
	_, f1, m1 := refEncode(r.c1, v[0], v[1], v[2], r.x, r.batch)
	_, f2, m2 := refEncode(r.c2, v[3], v[4], v[5], f1, r.batch)
	r.margin = math.Min(r.margin, math.Min(m1, m2))
	nf := len(f2) / r.batch
	var sum float64
	for n := range r.batch {
		logits := make([]float64, r.classes)
		peak := math.Inf(-1)
		for k := range logits {
			logits[k] = v[7][k]
			for i := range nf {
				f := (f2[n*nf+i] - v[8][i]) * v[9][i]
				if r.mask != nil {
					f *= r.mask[n*nf+i]
				}
				logits[k] += v[6][k*nf+i] * f
			}
			peak = math.Max(peak, logits[k])
		}
		var z float64
		for _, l := range logits {
			z += math.Exp(l - peak)
		}
		sum += peak + math.Log(z) - logits[r.labels[n]]
	}
	return sum / float64(r.batch)
}

// TestNetGradients checks the net's Backward — the classifier and both encoders, through both
// poolings and the layer beneath — against central differences of the float64 reference, with
// the batch in one chunk and in chunks of 2, 2 and 1; frozen, only the classifier has gradients.
// With dropout, the reference drops the features the mask of the seed given to Drop drops.
func TestNetGradients(t *testing.T) {
	be := modeltest.Backend(t)
	m1, c2 := stack(t, be)
	m1.Free()
	const batch, classes = 5, 3
	type netCase struct {
		freeze  bool
		chunk   int
		dropout float64
	}
	cases := []netCase{{false, 0, 0}, {false, 2, 0}, {true, 0, 0}, {true, 2, 0}, {false, 0, 0.5}, {false, 2, 0.5}, {true, 2, 0.3}}
	for _, tc := range cases {
		freeze, chunk := tc.freeze, tc.chunk
		t.Run(fmt.Sprintf("freeze=%v/chunk=%d/dropout=%g", freeze, chunk, tc.dropout), func(t *testing.T) {
			n, err := NewNet(be, NetConfig{Inputs: c2.Inputs, Classes: classes, Stack: &c2, Init: InitRandom, Freeze: freeze, Dropout: tc.dropout})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Free()
			r := rand.New(rand.NewPCG(8, 8))
			vals := randomNetParams(be, n, r)
			x := randn(r, batch*c2.Inputs, 1, 0)
			ref := &netRef{c1: *c2.BelowConfig, c2: c2.Layer(), vals: vals, x: modeltest.F64(x), classes: classes, batch: batch, margin: math.Inf(1)}
			mw := newNetBatch(t, n, ref, x, chunk)
			defer mw.Free()
			if tc.dropout > 0 {
				mask := make([]float32, batch*c2.Pooled())
				dropMask(mask, tc.dropout, 77)
				ref.mask = modeltest.F64(mask)
				n.Drop(mw, 77)
			}
			checkNetGradients(t, be, n, mw, ref, "", func(p *model.Param) {
				if (!freeze && p != n.mu && p != n.inv) || p.Grad != nil {
					t.Fatalf("%s: frozen %v with freeze %v, gradient %v", p.Name, p.Frozen, freeze, p.Grad != nil)
				}
			})
		})
	}
}

// randomNetParams sets n's parameters to random values of a scale and offset per tensor (layer
// weights, biases and gains; C, c, mu, inv) and returns them in float64, in n.Params order.
func randomNetParams(be kernels.Backend, n *Net, r *rand.Rand) [][]float64 {
	var vals [][]float64
	for i, p := range n.Params() {
		v := randn(r, p.Value.Len(), 0.5, []float64{0, 0.1, 1, 0, 0.1, 1, 0, 0, 0.5, 2}[i])
		be.Upload(p.Value, v)
		vals = append(vals, modeltest.F64(v))
	}
	return vals
}

// newNetBatch allocates a work of n for ref.batch images, in chunks of chunk (0: the default),
// and uploads the images x with labels i mod ref.classes, which it sets in ref.
func newNetBatch(t *testing.T, n *Net, ref *netRef, x []float32, chunk int) model.Work {
	t.Helper()
	labels := make([]float32, ref.batch)
	for i := range labels {
		labels[i] = float32(i % ref.classes)
		ref.labels = append(ref.labels, i%ref.classes)
	}
	testMaxChunk = chunk
	mw, err := n.NewWork(ref.batch)
	testMaxChunk = 0
	if err != nil {
		t.Fatal(err)
	}
	mw.(model.ChunkedWork).UploadBatch(x, labels)
	return mw
}

// checkNetGradients runs n forward and backward on the batch in mw and checks its loss and the
// gradient of every trained parameter against ref by central differences of ref.loss (ref.vals
// holds the parameters in n.Params order); what names the case in errors; frozen, if not nil,
// checks each frozen parameter.
func checkNetGradients(t *testing.T, be kernels.Backend, n *Net, mw model.Work, ref *netRef, what string, frozen func(*model.Param)) {
	t.Helper()
	if err := model.AllocGrads(be, n.Params()); err != nil {
		t.Fatal(err)
	}
	if err := n.Forward(mw, 0); err != nil {
		t.Fatal(err)
	}
	s, err := n.Loss(mw, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := ref.loss(); math.Abs(s.Mean("loss")-want) > 1e-4*math.Max(1, want) {
		t.Errorf("%sloss %g, reference %g", what, s.Mean("loss"), want)
	}
	n.Backward(mw, 0)
	const h = 1e-6
	if ref.margin < 10*h {
		t.Fatalf("a pre-activation is %g from the ReLU's kink: pick another seed", ref.margin)
	}
	for pi, p := range n.Params() {
		if p.Frozen {
			if frozen != nil {
				frozen(p)
			}
			continue
		}
		got := modeltest.Download(t, be, p.Grad)
		v := ref.vals[pi]
		for i := range v {
			old := v[i]
			v[i] = old + h
			up := ref.loss()
			v[i] = old - h
			down := ref.loss()
			v[i] = old
			want := (up - down) / (2 * h)
			if d := math.Abs(float64(got[i]) - want); d > 2e-3*math.Max(1, math.Abs(want)) {
				t.Fatalf("%s∂L/∂%s[%d] = %g, finite differences %g", what, p.Name, i, got[i], want)
			}
		}
	}
}

// TestNetResume: the net trains, from its pre-trained stack, and resumes exactly, with dropout
// too (the resumed run drops the same features); dropout changes where training ends.
func TestNetResume(t *testing.T) {
	be := modeltest.Backend(t)
	m1, c2 := stack(t, be)
	defer m1.Free()
	r := rand.New(rand.NewPCG(4, 4))
	const classes = 3
	mk := func(n int) *model.Samples {
		s := &model.Samples{Name: "noise", X: randn(r, n*c2.Inputs, 1, 0), Dim: c2.Inputs, Y: make([]float32, n), YDim: 1, Classes: classes}
		for i := range s.Y {
			s.Y[i] = float32(i % classes)
		}
		return s
	}
	train, valid := mk(40), mk(12)
	// The pre-trained stack: a second layer over m1, saved.
	s, err := New(be, c2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/stack.safetensors"
	if err := model.SaveModel(path, s, nil, nil); err != nil {
		t.Fatal(err)
	}
	s.Free()
	tc := DefaultNetTrainConfig()
	tc.Epochs, tc.Batch, tc.EvalBatch = 3, 8, 5
	var ends [][]float32
	for _, dropout := range []float64{0, 0.3} {
		newNet := func() model.Module {
			n, err := NewNet(be, NetConfig{Inputs: c2.Inputs, Classes: classes, Source: path, Stack: &c2, Init: InitPretrained, Dropout: dropout})
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Init(nil, 2); err != nil {
				t.Fatal(err)
			}
			return n
		}
		traintest.Resume(t, newNet, tc, train, valid, 2)
		n := newNet()
		tr, err := model.NewTrainer(n, tc)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Run(context.Background(), train, valid); err != nil {
			t.Fatal(err)
		}
		tr.Free()
		ends = append(ends, modeltest.Download(t, be, n.(*Net).cw.Value))
		n.Free()
	}
	if slices.Equal(ends[0], ends[1]) {
		t.Error("training with dropout 0.3 ended where training without it did")
	}
}

// TestNetDropout: a Forward after Drop drops features (another loss), the Forward after it
// drops none (the loss without dropout, bit for bit), and Validate refuses p outside [0, 1).
func TestNetDropout(t *testing.T) {
	be := modeltest.Backend(t)
	m1, c2 := stack(t, be)
	m1.Free()
	n, err := NewNet(be, NetConfig{Inputs: c2.Inputs, Classes: 3, Stack: &c2, Init: InitRandom, Dropout: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Free()
	r := rand.New(rand.NewPCG(5, 5))
	randomNetParams(be, n, r)
	const batch = 6
	mw, err := n.NewWork(batch)
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Free()
	mw.(model.ChunkedWork).UploadBatch(randn(r, batch*c2.Inputs, 1, 0), []float32{0, 1, 2, 0, 1, 2})
	loss := func(drop bool) float64 {
		if drop {
			n.Drop(mw, 9)
		}
		if err := n.Forward(mw, 0); err != nil {
			t.Fatal(err)
		}
		s, err := n.Loss(mw, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s.Mean("loss")
	}
	plain := loss(false)
	if dropped := loss(true); dropped == plain {
		t.Errorf("the loss with dropout 0.5 is the loss without, %g", plain)
	}
	if again := loss(false); again != plain {
		t.Errorf("the Forward after a dropped one gives loss %g, want %g (no dropout)", again, plain)
	}
	for _, p := range []float64{1, -0.1, math.NaN(), math.Inf(1)} {
		c := NetConfig{Inputs: c2.Inputs, Classes: 3, Stack: &c2, Init: InitRandom, Dropout: p}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("dropout = %g", p)) {
			t.Errorf("dropout %g: Validate says %v", p, err)
		}
	}
}

// TestNetFitData: after FitData, the classifier reads every feature of the training images
// with mean 0 and standard deviation 1, except those that hardly vary (below the floor, 10⁻³ of
// the largest deviation: the dead cells of a random stack), which keep a deviation under 1.
func TestNetFitData(t *testing.T) {
	be := modeltest.Backend(t)
	m1, c2 := stack(t, be)
	m1.Free()
	n, err := NewNet(be, NetConfig{Inputs: c2.Inputs, Classes: 3, Stack: &c2, Init: InitRandom})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Free()
	if err := n.Init(nil, 1); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 9))
	const count = 300
	train := &model.Samples{Name: "noise", X: randn(r, count*c2.Inputs, 1, 0), Dim: c2.Inputs}
	if err := n.FitData(train); err != nil {
		t.Fatal(err)
	}
	mw, err := n.NewWork(count)
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Free()
	model.Upload(be, mw, train.X, nil)
	if err := n.Forward(mw, 0); err != nil {
		t.Fatal(err)
	}
	fs := modeltest.Download(t, be, mw.(*netWork).chunks[0].fs)
	f, floored := len(fs)/count, 0
	for i := range f {
		var s, q float64
		for k := range count {
			v := float64(fs[k*f+i])
			s, q = s+v, q+v*v
		}
		mean, sd := s/count, math.Sqrt(q/count-(s/count)*(s/count))
		if sd < 1-1e-3 {
			floored++
		}
		if math.Abs(mean) > 1e-3 || sd > 1+1e-3 {
			t.Fatalf("feature %d: mean %g, deviation %g after FitData, want 0 and at most 1", i, mean, sd)
		}
	}
	if floored >= f/2 {
		t.Errorf("%d of %d features have a deviation under 1", floored, f)
	}
}
