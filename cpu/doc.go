// Package cpu is drsae's pure-Go backend: every op of kernels.Backend on the host, and the
// readable reference the GPU backend is checked against.
//
// Rules:
//
//   - No cgo. The package builds with CGO_ENABLED=0 on any architecture. On amd64, Gemm runs an
//     assembly micro-kernel chosen at run time: AVX-512 (a 12×32 block of C in zmm registers,
//     its own blocking and split of the threads) where the CPU has AVX-512F, else AVX2 and FMA
//     (6×16); elsewhere a pure-Go one. DRSAE_CPU_GEMM=avx512, avx2 or go picks one of those
//     this CPU runs, and Info().Extra["gemm"] names the kernel in use. The plain-loop reference
//     Gemm (gemm_ref.go) sits beside the blocked product, and the tests compare the two.
//   - The memory-bound ops (elementwise, shrinkage, the group ops) run AVX2 loops on amd64 with
//     AVX2 and FMA (vec_amd64.s; where the CPU has AVX-512F, fill, the per-column broadcast add
//     and the shrinkage in zmm registers, vec512_amd64.s: the avx512 path), elsewhere the
//     portable Go loops (vec.go);
//     DRSAE_CPU_VEC=avx512, avx2 or go picks one, and Info().Extra["vec"] names it. The
//     elementwise and shrinkage loops give the portable results bit for bit (the tests check
//     it). The group ops there run on blocks of 8 rows turned on their side (groups8.go), one
//     vector load per (pool, member).
//   - Ops are synchronous: when an op returns, its output is written. Sync and Download never
//     return an error.
//   - Memory: a Tensor owns a Go slice allocated by New. Reshape returns a view that shares the
//     slice; free only the original. Free drops the slice for the garbage collector and marks it
//     freed. After that, any use of the tensor or of one of its views panics with
//     "kernels: <Op>: use of a freed tensor". Host slices are never kept: Upload and Download
//     copy.
//   - Aliasing: dst may be the same tensor as an input in elementwise ops, the forward
//     shrinkage ops and ProjectNormBall, as the contract allows, and here also in SoftmaxXent
//     (grad may be logits, loss may be labels). Where the contract forbids aliasing (Gemm, the
//     shrink backward ops, convolutions, locally connected layers, pooling, the group ops,
//     NormalizeRows, Transpose, ScatterCols, Reduce, CountAbove, AdamUpdate), an output that
//     shares storage with an input panics, so code that would break on another backend fails
//     here too.
//   - Misuse panics through the kernels.Check* helpers, so the messages read the same as on
//     every other backend. A tensor made by another backend also panics.
//   - Work is split over Threads goroutines (runtime.GOMAXPROCS at New) when an op is large
//     enough to repay it: about 32k multiply-adds, or 64k elements of an elementwise or
//     shrinkage op (memoryWork). Small ops run on the calling goroutine. The parts go to helper
//     goroutines that spin for 200 µs after each op before they park (parallel.go), so that the
//     hundreds of ops of a training step do not each wait for a parked thread to wake; a part
//     its helper has not begun by the time the caller has finished its own is run by the
//     caller (a helper descheduled by another process is not waited for). DRSAE_CPU_SPIN=0
//     starts a new goroutine per part instead, and Info().Extra["spin"] says which. Each goroutine owns a disjoint part of the output and sums in a fixed order, so
//     results do not depend on the number of threads.
//   - Gemm and the convolutions sum in float32, in the order the blocking fixes. Sums that decide
//     accuracy (norms, softmax normalizers, threshold gradients, Reduce) are in float64, and so
//     is AdamUpdate's arithmetic. Pooled norms are float64 sums on the portable path and
//     float32 fused multiply-adds on the AVX2 one (a pool has few members), in member order on
//     both; each row is computed the same wherever it sits in the batch.
//   - Convolutions larger than about 64k multiply-adds run as products of patch matrices
//     (im2col, conv_gemm.go). Smaller ones run the direct loops of conv.go, which are also the
//     reference the tests check the products against.
package cpu
