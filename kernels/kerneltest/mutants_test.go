package kerneltest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReference runs the suite on the float64 references rounded to float32: a correct backend
// passes.
func TestReference(t *testing.T) {
	Run(t, &refBackend{})
}

// mutants are deliberately broken backends, each with one bug of a kind a real backend could
// have, the family that must catch it and a text the failure must contain.
var mutants = []struct {
	bug, family, want string
}{
	{"new-not-zeroed", "Memory", "New zero-fills"},
	{"reshape-copies", "Memory", "Reshape"},
	{"gemm-beta0-reads-c", "Gemm", "not written"},
	{"gemm-drops-last-k", "Gemm", "Gemm"},
	{"axpby-beta0-reads-y", "Elementwise", "Axpby"},
	{"adam-old-moments", "Elementwise", "AdamUpdate"},
	{"adam-eps-inside-sqrt", "Elementwise", "AdamUpdate"},
	{"hadamard-writes-past-end", "Elementwise", "a write outside the output"},
	{"broadcastadd-perrow-modulo", "Elementwise", "BroadcastAdd"},
	{"transpose-copies", "Layout", "Transpose"},
	{"scattercols-truncates-index", "Layout", "ScatterCols"},
	{"scattercols-clears-others", "Layout", "ScatterCols"},
	{"posshrink-theta-by-row", "Shrink", "PosShrink"},
	{"softshrink-backward-ge", "Shrink", "SoftShrinkBackward"},
	{"softshrink-dtheta-sign", "Shrink", "gradient in theta"},
	{"recurrence-drops-last-step", "Recurrence", "ShrinkRecurrence"},
	{"recurrence-first-step-unwritten", "Recurrence", "not written"},
	{"recurrence-mask-ge", "Recurrence", "ShrinkRecurrenceBackward"},
	{"poolnorms-eps-outside-sqrt", "Groups", "PoolNorms"},
	{"poolnormsbackward-no-weight", "Groups", "PoolNormsBackward"},
	{"poolnormsbackward-skips-unpooled", "Groups", "not written"},
	{"blocksoft-unpooled-zeroed", "Groups", "BlockSoftThreshold"},
	{"conv-fwd-pad-h-for-w", "Conv", "Conv2DForward"},
	{"conv-bd-flipped-kernel", "Conv", "adjoint test"},
	{"conv-bd-leaves-unread", "Conv", "not written"},
	{"conv-bf-accumulates", "Conv", "not written"},
	{"local-bd-tied", "Local", "LocalBackwardData"},
	{"l2pool-drops-eps", "Pool", "√ε"},
	{"l2pool-backward-no-k", "Pool", "gradient in x"},
	{"project-all", "Reduce", "ProjectNormBall"},
	{"normalize-writes-x", "Reduce", "input x changed"},
	{"normalize-backward-no-div", "Reduce", "NormalizeRowsBackward"},
	{"reduce-percol-skips-last-row", "Reduce", "Reduce"},
	{"countabove-ge", "Reduce", "CountAbove"},
	{"countabove-nan-above", "Reduce", "CountAbove"},
	{"xent-no-max-shift", "Classify", "non-finite"},
	{"xent-invalid-label-unwritten", "Classify", "not written"},
	{"argmax-last-tie", "Classify", "Argmax"},
	{"hadamard-no-check", "Misuse", "want it to start with \"kernels: Hadamard:\""},
	{"transpose-no-alias-check", "Misuse", "want one starting \"kernels: Transpose:\""},
}

// TestMutants runs one family of the suite on each mutant in a child process (a failing subtest
// would fail this test too) and requires that family to fail with the expected message.
func TestMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite on every mutant")
	}
	for _, m := range mutants {
		t.Run(m.bug, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$/^"+m.family+"$", "-test.short", "-test.timeout=120s")
			cmd.Env = append(os.Environ(), "KERNELTEST_MUTANT="+m.bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend with bug %q; output:\n%s", m.bug, tail(out))
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutantChild/"+m.family) {
				t.Fatalf("bug %q: family %s did not fail; output:\n%s", m.bug, m.family, tail(out))
			}
			if !strings.Contains(string(out), m.want) {
				t.Errorf("bug %q: failure does not mention %q; output:\n%s", m.bug, m.want, tail(out))
			}
		})
	}
}

// TestMutantChild is the child of TestMutants; it does nothing unless KERNELTEST_MUTANT is set.
func TestMutantChild(t *testing.T) {
	bug := os.Getenv("KERNELTEST_MUTANT")
	if bug == "" {
		t.Skip("a child of TestMutants")
	}
	Run(t, &refBackend{bug: bug})
}

func tail(out []byte) string {
	const n = 3000
	if len(out) > n {
		return "…" + string(out[len(out)-n:])
	}
	return string(out)
}
