#version 430
// Norms PerCol: dst[c] = ‖x[:,c]‖₂; x is [rows, cols]. One work group per block of COL_BLOCK
// columns.
//
// This dispatch sums the squares of rows [R0, R1) only (the Go side sums tall matrices over
// several dispatches: see colSpan in reduce.go): dst holds the running sum of squares between
// the dispatches, to which ADD_TO ≠ 0 adds, and LAST ≠ 0 (the last part) takes its square root.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform uint R0;
layout(location = 3) uniform uint R1;
layout(location = 4) uniform uint ADD_TO;
layout(location = 5) uniform uint LAST;

void main() {
	uint lane = gl_LocalInvocationIndex / COL_BLOCK;
	FOR_EACH_GROUP(g, (cols + COL_BLOCK - 1u) / COL_BLOCK) {
		uint col = g * COL_BLOCK + gl_LocalInvocationIndex % COL_BLOCK;
		float s = 0.0;
		FOR_STRIDED(uint, k, lane, R1 - R0, COL_LANES) {
			if (col < cols) {
				float v = x[(R0 + k) * cols + col];
				s += v * v;
			}
		}
		s = columnSum(s);
		if (lane == 0u && col < cols) {
			if (ADD_TO != 0u) {
				s += dst[col];
			}
			dst[col] = LAST != 0u ? sqrt(s) : s;
		}
	}
}
