#version 430
// PoolNormsBackward: dz[b,i] = Σ_{(j,k): i_jk = i} dy[b,j]·w_jk·z[b,i]/norms[b,j], gathered
// through the layout's transpose (MemberStart/Member/PoolOf) so that no two invocations write
// the same element. z and dz are [B, m]; dy and norms are [B, P]; one invocation per (b, i).
//
// This dispatch sums over the pools [Q0, Q1) of each unit's list only: the Go side splits units
// in more pools than its loop budget over several dispatches, each after the first adding into
// dz (ADD_TO ≠ 0).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer DZ { float dz[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer Z { float z[]; };
layout(std430, binding = 3) readonly buffer Norms { float norms[]; };
layout(std430, binding = 4) readonly buffer MemberStart { int memberStart[]; };
layout(std430, binding = 5) readonly buffer Member { int member[]; };
layout(std430, binding = 6) readonly buffer PoolOf { int poolOf[]; };
layout(std430, binding = 7) readonly buffer Weight { float weight[]; };

layout(location = 0) uniform uint n; // B·m
layout(location = 1) uniform uint m;
layout(location = 2) uniform uint P;
layout(location = 3) uniform int Q0;
layout(location = 4) uniform int Q1;
layout(location = 5) uniform uint ADD_TO;

void main() {
	FOR_EACH_INDEX(e, n) {
		uint b = e / m, i = e % m;
		float zi = z[e];
		float s = ADD_TO != 0u ? dz[e] : 0.0;
		int p0 = memberStart[i] + Q0, p1 = min(memberStart[i + 1], memberStart[i] + Q1);
		for (int p = p0; p < p1; p++) {
			int k = member[p];
			uint bj = b * P + uint(poolOf[k]);
			s += dy[bj] * weight[k] * zi / norms[bj];
		}
		dz[e] = s;
	}
}
