#version 430
// BlockSoftThreshold over disjoint pools: dst[b,P_j] = max(0, 1 − τ/‖x[b,P_j]‖₂)·x[b,P_j]; units in
// no pool are copied. One invocation per (b, unit): the invocation of a pool's first member
// handles the whole pool (reading all of it before writing, so dst may alias x), the others of
// the pool do nothing.
//
// With GIVEN_NORMS the pools' norms come in norms [B, P] (PoolNorms, unweighted, ε = 0: the Go
// side's path for pools longer than its loop budget), and every invocation scales its own unit.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Start { int start[]; };
layout(std430, binding = 3) readonly buffer Index { int index[]; };
layout(std430, binding = 4) readonly buffer MemberStart { int memberStart[]; };
layout(std430, binding = 5) readonly buffer Member { int member[]; };
layout(std430, binding = 6) readonly buffer PoolOf { int poolOf[]; };
#ifdef GIVEN_NORMS
layout(std430, binding = 7) readonly buffer Norms { float norms[]; };
#endif

layout(location = 0) uniform uint n; // B·m
layout(location = 1) uniform uint m;
layout(location = 2) uniform float tau;
#ifdef GIVEN_NORMS
layout(location = 3) uniform uint P;
#endif

void main() {
	FOR_EACH_INDEX(e, n) {
		uint b = e / m, i = e % m;
		int p = memberStart[i];
		if (p == memberStart[i + 1]) {
			dst[e] = x[e]; // in no pool
		} else {
			int k = member[p];
			int j = poolOf[k];
#ifdef GIVEN_NORMS
			float norm = norms[b * P + uint(j)];
			dst[e] = (norm > tau ? 1.0 - tau / norm : 0.0) * x[e];
#else
			if (k == start[j]) { // the pool's first member: the whole pool
				uint row = b * m;
				// The bounds are read once: re-reading them in the loop conditions made Mesa 22.3's
				// llvmpipe skip the loops.
				int q0 = start[j], q1 = start[j + 1];
				float s = 0.0;
				for (int q = q0; q < q1; q++) {
					float v = x[row + uint(index[q])];
					s += v * v;
				}
				float norm = sqrt(s);
				float scale = norm > tau ? 1.0 - tau / norm : 0.0;
				for (int q = q0; q < q1; q++) {
					uint u = row + uint(index[q]);
					dst[u] = scale * x[u];
				}
			}
#endif
		}
	}
}
