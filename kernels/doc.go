// Package kernels is the contract between drsae's models and its compute devices.
//
// A Backend owns Tensors: opaque, row-major float32 arrays. Host memory crosses only through
// Upload and Download, which check lengths exactly. Tensors are freed explicitly with Free.
// Every op's doc comment on Backend states its formula and the shapes it accepts; the reference
// implementation is package cpu, and package kerneltest checks any backend against float64
// references.
//
// Rules every backend follows:
//
//   - Misuse by the programmer (a shape mismatch, a freed tensor, a bad axis) panics with a
//     message that starts with "kernels: <Op>:" and names the shapes involved. The Check*
//     functions in this package produce those messages, so every backend says the same thing.
//   - Failures of the world (no GL context, a shader that fails to compile, out of device memory)
//     are returned as errors: by New and NewPools directly, and for failures inside an op by the
//     next Sync or Download. After such an error, later ops are skipped.
//   - Ops may run asynchronously. Download waits for pending work; Sync waits and reports.
//   - Elementwise ops, the forward shrinkage ops and the norm-ball projection accept dst
//     aliasing an input. Gemm, the shrink backward ops, convolutions, pooling, the group ops and
//     NormalizeRows do not; nor do Transpose, ScatterCols, Reduce, CountAbove and AdamUpdate,
//     which panic (through CheckNoAlias) when two of their operands share storage.
//   - Integer data (class labels, argmax results) travel as float32 values, exact below 2²⁴.
//   - Pool layouts (PoolLayout) are host values describing fixed groups of units; NewPools copies
//     one to the device once.
package kernels
