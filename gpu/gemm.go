package gpu

import (
	"fmt"

	"github.com/drsae/drsae/kernels"
)

// gemm.comp computes 64×64 tiles of C stepping through K by 16, with 256 invocations each
// holding a 4×4 block of C in registers; one variant per transpose combination.
const gemmLocal = 256

var gemmDefines = [2][2]string{
	{"TM 64\nTN 64\nTK 16\nRM 4\nRN 4", "TM 64\nTN 64\nTK 16\nRM 4\nRN 4\nTRANS_B"},
	{"TM 64\nTN 64\nTK 16\nRM 4\nRN 4\nTRANS_A", "TM 64\nTN 64\nTK 16\nRM 4\nRN 4\nTRANS_A\nTRANS_B"},
}

const gemmTile = 64

// gemmSplitK is the longest sum one dispatch does; a longer K is summed over several dispatches,
// each adding into C. Mesa llvmpipe ends a shader invocation's loops after 65,535 iterations in
// all (LP_MAX_TGSI_LOOP_ITERATIONS, shared by every loop of the shader), which silently cut sums
// past K ≈ 35,000 short; 16,384 keeps every dispatch well inside that, and costs nothing on a GPU.
const gemmSplitK = 16384

// Gemm: C = α·op(A)·op(B) + β·C with op(X) = X or Xᵀ; op(A) [M,K], op(B) [K,N], C [M,N].
// With β = 0, C's old contents are ignored. C must not alias A or B.
func (b *Backend) Gemm(transA, transB bool, alpha float32, a, bm kernels.Tensor, beta float32, c kernels.Tensor) {
	m, n, k := kernels.CheckGemm(transA, transB, a, bm, c)
	at, bt, ct := b.t("Gemm", a), b.t("Gemm", bm), b.t("Gemm", c)
	if ct.buf == at.buf || ct.buf == bt.buf {
		panic(fmt.Sprintf("kernels: Gemm: C %v shares storage with an operand", ct.shape))
	}
	prog := b.program("gemm.comp", gemmLocal, gemmDefines[b2i(transA)][b2i(transB)])
	for k0 := 0; k0 == 0 || k0 < k; k0 += gemmSplitK {
		cmd := b.kernel("Gemm", prog)
		cmd.in(at).in(bt).out(ct).u32(m).u32(n).u32(k).f32(alpha).f32(beta).u32(k0).u32(min(k, k0+gemmSplitK))
		b.groups(&cmd, ((m+gemmTile-1)/gemmTile)*((n+gemmTile-1)/gemmTile))
		beta = 1 // the next part adds to this one's C
	}
}
