#version 430
// Gemm: C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is [M,K], op(B) is [K,N], C is [M,N].
// TRANS_A: A is stored [K,M] (op(A) = Aᵀ); TRANS_B: B is stored [N,K]. With beta = 0, C is not
// read (NaN there does not propagate). C must not alias A or B.
//
// Each work group computes TM×TN tiles of C, stepping through K by TK: both operand tiles are
// staged in shared memory (loaded so that neighbouring invocations read neighbouring addresses
// for either storage order), and each of the (TM/RM)·(TN/RN) = LOCAL_SIZE invocations accumulates
// an RM×RN block of outputs in registers, strided by TM/RM rows and TN/RN columns so that
// neighbouring invocations write neighbouring columns. Loads and stores are bounds-checked, so
// any M, N, K work.
layout(local_size_x = LOCAL_SIZE) in;

// TM, TN, TK, RM, RN are set by the Go side (gemm.go).
#define TX (TN / RN) // invocations across a tile's columns
#define TY (TM / RM) // invocations across a tile's rows

layout(std430, binding = 0) readonly restrict buffer A { float a[]; };
layout(std430, binding = 1) readonly restrict buffer B { float b[]; };
layout(std430, binding = 2) restrict buffer C { float c[]; };

layout(location = 0) uniform uint M;
layout(location = 1) uniform uint N;
layout(location = 2) uniform uint K;
layout(location = 3) uniform float alpha;
layout(location = 4) uniform float beta;
// This dispatch sums k in [K0, K1) only (gemm.go splits long sums: see gemmSplitK there).
layout(location = 5) uniform uint K0;
layout(location = 6) uniform uint K1;

shared float As[TK][TM + 1]; // As[k][m] = op(A)[m0+m, k0+k]; +1 breaks bank conflicts
shared float Bs[TK][TN + 1]; // Bs[k][n] = op(B)[k0+k, n0+n]

void main() {
	uint t = gl_LocalInvocationIndex;
	uint tx = t % uint(TX), ty = t / uint(TX);
	uint tilesN = (N + uint(TN) - 1u) / uint(TN);
	uint tiles = ((M + uint(TM) - 1u) / uint(TM)) * tilesN;
	FOR_EACH_GROUP(tile, tiles) {
		uint m0 = (tile / tilesN) * uint(TM);
		uint n0 = (tile % tilesN) * uint(TN);
		float acc[RM][RN];
		for (int i = 0; i < RM; i++) {
			for (int j = 0; j < RN; j++) {
				acc[i][j] = 0.0;
			}
		}
		for (uint k0 = K0; k0 < K1; k0 += uint(TK)) {
			for (uint e = t; e < uint(TM * TK); e += uint(LOCAL_SIZE)) {
#ifdef TRANS_A
				uint mm = e % uint(TM), kk = e / uint(TM); // A[k][m]: m is contiguous
				uint gm = m0 + mm, gk = k0 + kk;
				As[kk][mm] = gm < M && gk < K1 ? a[gk * M + gm] : 0.0;
#else
				uint kk = e % uint(TK), mm = e / uint(TK); // A[m][k]: k is contiguous
				uint gm = m0 + mm, gk = k0 + kk;
				As[kk][mm] = gm < M && gk < K1 ? a[gm * K + gk] : 0.0;
#endif
			}
			for (uint e = t; e < uint(TN * TK); e += uint(LOCAL_SIZE)) {
#ifdef TRANS_B
				uint kk = e % uint(TK), nn = e / uint(TK); // B[n][k]: k is contiguous
				uint gn = n0 + nn, gk = k0 + kk;
				Bs[kk][nn] = gn < N && gk < K1 ? b[gn * K + gk] : 0.0;
#else
				uint nn = e % uint(TN), kk = e / uint(TN); // B[k][n]: n is contiguous
				uint gn = n0 + nn, gk = k0 + kk;
				Bs[kk][nn] = gn < N && gk < K1 ? b[gk * N + gn] : 0.0;
#endif
			}
			SYNC_SHARED();
			for (int kk = 0; kk < TK; kk++) {
				float av[RM], bv[RN];
				for (int i = 0; i < RM; i++) {
					av[i] = As[kk][ty + uint(i * TY)];
				}
				for (int j = 0; j < RN; j++) {
					bv[j] = Bs[kk][tx + uint(j * TX)];
				}
				for (int i = 0; i < RM; i++) {
					for (int j = 0; j < RN; j++) {
						acc[i][j] = fma(av[i], bv[j], acc[i][j]);
					}
				}
			}
			SYNC_SHARED();
		}
		for (int i = 0; i < RM; i++) {
			uint gm = m0 + ty + uint(i * TY);
			for (int j = 0; j < RN; j++) {
				uint gn = n0 + tx + uint(j * TX);
				if (gm < M && gn < N) {
					uint idx = gm * N + gn;
					float r = alpha * acc[i][j];
					if (beta != 0.0) {
						r = fma(beta, c[idx], r);
					}
					c[idx] = r;
				}
			}
		}
	}
}
