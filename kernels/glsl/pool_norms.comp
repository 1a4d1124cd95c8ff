#version 430
// PoolNorms: dst[b,j] = √(ε + Σ_k w_jk·z[b, i_jk]²) over the members of pool j, in the compressed
// layout Start/Index/Weight. z is [B, m], dst is [B, P]; one invocation per (b, j).
//
// This dispatch sums the members [K0, K1) of each pool (counted from the pool's first) only: the
// Go side splits pools longer than its loop budget over several dispatches (see loopBudget in
// conv.go), dst holding the partial sums of squares in between (ADD_TO ≠ 0: added to them;
// LAST ≠ 0: the square root taken). With UNWEIGHTED every weight counts as 1.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Z { float z[]; };
layout(std430, binding = 2) readonly buffer Start { int start[]; };
layout(std430, binding = 3) readonly buffer Index { int index[]; };
layout(std430, binding = 4) readonly buffer Weight { float weight[]; };

layout(location = 0) uniform uint n; // B·P
layout(location = 1) uniform uint P;
layout(location = 2) uniform uint m;
layout(location = 3) uniform float eps;
layout(location = 4) uniform int K0;
layout(location = 5) uniform int K1;
layout(location = 6) uniform uint ADD_TO;
layout(location = 7) uniform uint LAST;

void main() {
	FOR_EACH_INDEX(e, n) {
		uint b = e / P, j = e % P;
		uint row = b * m;
		float s = ADD_TO != 0u ? dst[e] : 0.0;
		int k0 = start[j] + K0, k1 = min(start[j + 1], start[j] + K1);
		for (int k = k0; k < k1; k++) {
			float v = z[row + uint(index[k])];
#ifdef UNWEIGHTED
			s += v * v;
#else
			s += weight[k] * v * v;
#endif
		}
		dst[e] = LAST != 0u ? sqrt(eps + s) : s;
	}
}
