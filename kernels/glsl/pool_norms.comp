#version 430
// PoolNorms: dst[b,j] = √(ε + Σ_k w_jk·z[b, i_jk]²) over the members of pool j, in the compressed
// layout Start/Index/Weight. z is [B, m], dst is [B, P]; one invocation per (b, j).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Z { float z[]; };
layout(std430, binding = 2) readonly buffer Start { int start[]; };
layout(std430, binding = 3) readonly buffer Index { int index[]; };
layout(std430, binding = 4) readonly buffer Weight { float weight[]; };

layout(location = 0) uniform uint n; // B·P
layout(location = 1) uniform uint P;
layout(location = 2) uniform uint m;
layout(location = 3) uniform float eps;

void main() {
	FOR_EACH_INDEX(e, n) {
		uint b = e / P, j = e % P;
		uint row = b * m;
		float s = 0.0;
		int k1 = start[j + 1];
		for (int k = start[j]; k < k1; k++) {
			float v = z[row + uint(index[k])];
			s += weight[k] * v * v;
		}
		dst[e] = sqrt(eps + s);
	}
}
