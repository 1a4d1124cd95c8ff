// Package kerneltest is the conformance suite every kernels.Backend runs. A backend's test file
// is one line:
//
//	func TestConformance(t *testing.T) { kerneltest.Run(t, cpu.New()) }
//
// Run checks every op of kernels.Backend, as subtests grouped by family (Memory, Gemm,
// Elementwise, Layout, Shrink, Groups, Conv, Local, Pool, Reduce, Classify, Misuse), against float64
// references written here from the formulas in kernels/backend.go (reference.go; they share no
// code with any backend, and reference_test.go proves their backward passes by finite differences
// in float64). With -short only the largest case of each family is skipped.
//
// Every case, with seeded inputs (the seed is the case's name):
//
//   - compares each output with the reference elementwise, |got − want| ≤ atol + rtol·scale, with
//     the tolerance written beside the case: scale is |want| for elementwise ops, and for sums and
//     products the same computation on absolute values (Σ|terms|), with rtol growing as √n in the
//     number of terms (sumTol), so cancellation cannot make a test flaky;
//   - fills outputs the op must overwrite with a NaN sentinel first, so an element left unwritten
//     is reported as such, and requires finite outputs from finite inputs;
//   - allocates a guard tensor just before and after every output and checks them bit for bit,
//     and checks every input bit for bit after the op;
//   - where dst may alias an input (elementwise ops, shrinkage, the norm-ball projection), runs
//     the op in place as well.
//
// Every backward op is checked against the backend's own forward by central differences of
// ⟨forward(x), r⟩ along the gradient and along random directions (grad.go), and every linear
// forward/backward pair passes the dot-product test ⟨A x, y⟩ = ⟨x, Aᵀ y⟩. Misuse cases check
// that shape mismatches (and, for the ops that forbid it, operands sharing storage) panic with a
// "kernels: <Op>:" message and that the backend works after.
//
// Failure messages name the op, the case, the element (as coordinates and flat index), got, want
// and the tolerance. Set KERNELTEST_MARGINS=1 and run with -v to log, for every check, the worst
// |diff|/tol (1 is the limit): how much room a backend has.
//
// The package's own tests run the suite on a backend made of the references (it must pass) and
// on deliberately broken variants of it, one bug each (each must fail, in the right family).
package kerneltest
