// Package gpu runs the kernels.Backend ops as OpenGL 4.3 compute shaders.
//
// # Contexts
//
// New makes an OpenGL 4.3 core context on a goroutine locked to one OS thread, the GL thread,
// which owns the context and makes every GL call. The context kind is chosen by WithContext, else
// by the environment variable DRSAE_GL, else "egl":
//
//   - "egl" (built in, Linux with cgo): headless, no X server. It tries the hardware devices of
//     the EGL device platform (NVIDIA servers; Mesa's DRM devices), Mesa's surfaceless platform,
//     Mesa's software device (llvmpipe), then the default display. DRSAE_EGL_DEVICE=i picks
//     device i of the device platform.
//   - "glfw": a hidden GLFW window, for desktops with an X display (under Xvfb: xvfb-run -a).
//     Package gpu/glfw registers it when a program links it in.
//
// A program links the GLFW context in with a blank import:
//
//	import _ "github.com/drsae/drsae/gpu/glfw"
//
// Other packages may add kinds with RegisterContext. A binary built with CGO_ENABLED=0 has no
// OpenGL: New then returns an error saying so.
//
// # Ownership, asynchrony, errors
//
// The Backend may be called from any goroutine. Each op checks its operands on the caller's
// goroutine (a misuse panics with the same "kernels: <Op>:" message as every backend), appends a
// fixed-size command to a queue and returns; the GL thread drains the queue in order. Download
// and Sync wait for everything submitted before them. Upload copies the host slice before it
// returns. A failure inside an op (a shader that does not compile, a GL error, running out of
// device memory) is sticky: the next Sync or Download returns it, and later ops are skipped.
//
// Each tensor is one shader storage buffer (SSBO); Reshape views share it, and Free of the
// original deletes it (a later use of it or of a view panics; freeing a view panics). New
// refuses a tensor larger than GL_MAX_SHADER_STORAGE_BLOCK_SIZE (Info().MaxBytes). Pool layouts are int and float SSBOs of their own.
//
// # Adding an op
//
// An op is a method in the file of its family (elementwise.go, gemm.go, conv.go, …) plus one
// shader per op (or per closely related pair) in kernels/glsl/<op>.comp. The method runs on the
// caller's goroutine and makes no GL call:
//
//	// Axpby: y[i] = α·x[i] + β·y[i].
//	func (b *Backend) Axpby(alpha float32, x kernels.Tensor, beta float32, y kernels.Tensor) {
//		n := kernels.CheckLen("Axpby", x, y)            // 1. the shared shape checks, first
//		xt, yt := b.t("Axpby", x), b.t("Axpby", y)      // 2. operands (panics if freed/foreign)
//		c := b.kernel("Axpby", b.program("axpby.comp", elemLocal, ""))   // 3. the program
//		c.in(xt).out(yt).u32(n).f32(alpha).f32(beta)     // 4. buffers, then uniforms, in order
//		b.elements(&c, n)                                // 5. dispatch, one invocation per element
//	}
//
// Programs. b.program(file, local, defines) names a variant: the file, LOCAL_SIZE (the work-group
// width the Go side also uses to count groups) and extra #define lines ("TRANS_A\nBK 16"; each
// line becomes "#define <line>"). Variants are compiled on first use on the GL thread and cached;
// pass constant strings so the lookup allocates nothing. A compile error becomes the sticky error
// with the op's name, the variant and the info log, whose line numbers are the .comp file's
// (source 0; the header is source 1).
//
// Buffers and uniforms are positional. c.in(t) binds t read-only and c.out(t) binds it as
// written, at binding points 0, 1, 2, … in call order (at most 8); the shader declares
// "layout(std430, binding = i) readonly buffer X { float x[]; };" (int[] for pool arrays). c.u32,
// c.i32 and c.f32 set the uniforms at locations 0, 1, 2, … in call order (at most 20); the shader
// declares "layout(location = i) uniform uint n;" with the matching type (uint, int, float), and
// must use every uniform it declares. Mark every buffer the shader writes with out: that is what
// the barriers are derived from.
//
// Dispatch. Two helpers compute the grid and submit:
//
//   - b.elements(&c, n): one invocation per element, ⌈n/LOCAL_SIZE⌉ groups. The shader loops
//     FOR_EACH_INDEX(i, n) { … }.
//   - b.groups(&c, count): one work group per item (a row to reduce, a 64×64 tile, an output
//     channel). The shader loops FOR_EACH_GROUP(g, count) { … } and derives its item from g; g is
//     uniform across the group, so barrier() and shared memory may be used inside.
//
// Both fold the group count into a 2D grid within GL_MAX_COMPUTE_WORK_GROUP_COUNT, and the loops
// of header.glsl stride over whatever still does not fit, so a dispatch is never silently short
// (TestSmallGroupLimitStillCoversEverything runs with the limit lowered to 3). A dispatch over
// zero elements or items submits nothing. Shaders check bounds first and use no vec3 in buffers.
//
// Barriers are automatic: the GL thread issues glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT |
// GL_BUFFER_UPDATE_BARRIER_BIT) before a dispatch, copy, upload or download that reads a buffer
// written since the last barrier, or writes one read or written since then; clears and copies
// count as writes (and reads) like dispatches. Uploads never write the tensor's buffer from the
// host: they fill a fresh staging buffer and copy it on the device, so that they stay ordered
// after queued work on the tensor (writing it with glBufferSubData raced with that work on
// NVIDIA; bench/RESULTS.md). An op made of several dispatches (a reduction then
// a scaling) just submits them in order. One that needs scratch memory allocates a buffer of its
// own for the call, queues its dispatches and then the buffer's Free (Reduce over long rows,
// reduce.go): GL deletes the buffer once they ran, and concurrent callers never share one. If dst may alias an input (elementwise ops, shrinkage),
// either read each element before writing it in the same invocation, or submit the dispatches
// that read the input before the one that overwrites it.
//
// A loop that runs before a barrier() must have the same trip count in every invocation of the
// group: write it FOR_STRIDED(T, i, first, n, step) { … } (header.glsl), not "for (i = lid; i <
// n; i += LOCAL_SIZE)". On NVIDIA's driver a barrier after loops of varying trip count let
// invocations through early. llvmpipe never shows either problem; TestDiagChained and
// TestDiagAgainstCPU (diag_test.go) do on a GPU.
//
// Limits. Every limit an op could pass is split around or refused with an error naming it:
//
//   - GL_MAX_SHADER_STORAGE_BLOCK_SIZE: New refuses a larger tensor (models chunk their batches
//     below it; the conv model's tests go past it on llvmpipe).
//   - GL_MAX_COMPUTE_WORK_GROUP_COUNT: the 2D grids and grid-stride loops above.
//   - Shared memory, invocations per group, storage blocks per dispatch: every shader needs at
//     most 24 KiB, 256 and 8; New refuses a device with less (OpenGL 4.3 guarantees more), naming
//     the limit (TestTooLittleSharedMemoryIsRefused).
//   - Loop iterations: Mesa llvmpipe ends a shader invocation's loops after 65,535 iterations in
//     all, silently. Every sum as long as an op's input — Gemm's K, a row or column reduction, the
//     classes of SoftmaxXent and Argmax, a convolution's channels, its filter gradient's terms, a
//     pool's members, the pools of a unit, a pooling window's rows — is split over several
//     dispatches of a bounded length (gemmSplitK, spanStrides, classifySpan, loopBudget); the
//     conformance suite has a case past the limit for each. What one invocation cannot split — a
//     convolution channel's taps, one window row, the windows reaching one pixel — is refused
//     past loopMax, kernels of about 254×254 (TestLoopLimitIsRefused checks both sides). The
//     fused recurrent encoder (recurrence.go) runs as many of its T steps per dispatch as the
//     budget allows (all 11 of the paper's 784-400 net in one), and past about 2,000 units
//     tiles them, one step per dispatch.
//
// Counters reports the dispatches, barriers and transfers issued so far: TestDrSAEStepDispatches
// keeps a DrSAE training step within 20 barriers, the dependent steps a GPU waits for.
//
// Driver quirks met so far: Mesa 22.3's llvmpipe skipped a loop whose bound was re-read from a
// storage buffer in its condition, inside divergent control flow (block_soft_threshold.comp);
// read such bounds into locals before the loop. Do not name variables after GLSL reserved words
// ("active", "filter", "input", "output", "sample", "common", "partition" are reserved).
//
// Tests: kerneltest.Run covers every op against float64 references. kernels_test.go runs it on
// the backend TestMain (gpu_test.go) makes once, and again on one whose group-count limit is
// lowered to 2; without a context the tests skip with the reason, and fail instead when
// DRSAE_REQUIRE_GPU=1. Run them with a timeout: go test -timeout 600s ./gpu/ -run X.
package gpu
