#version 430
// Reduce and CountAbove PerCol: dst[c] = Σ_r f(x[r,c]); x is [rows, cols]. f is v, |v|
// (REDUCE_ABS), v² (REDUCE_SQUARES) or [|v| > θ] (COUNT_ABOVE; NaN is never above). One work
// group per block of COL_BLOCK columns.
//
// This dispatch sums rows [R0, R1) only, into dst (ADD_TO ≠ 0: added to what dst holds): the Go
// side sums tall matrices over several dispatches (see colSpan in reduce.go).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform uint R0;
layout(location = 3) uniform uint R1;
layout(location = 4) uniform uint ADD_TO;
#ifdef COUNT_ABOVE
layout(location = 5) uniform float theta;
#endif

float term(float v) {
#if defined(REDUCE_ABS)
	return abs(v);
#elif defined(REDUCE_SQUARES)
	return v * v;
#elif defined(COUNT_ABOVE)
	return (!IS_NAN(v) && abs(v) > theta) ? 1.0 : 0.0;
#else
	return v;
#endif
}

void main() {
	uint lane = gl_LocalInvocationIndex / COL_BLOCK;
	FOR_EACH_GROUP(g, (cols + COL_BLOCK - 1u) / COL_BLOCK) {
		uint col = g * COL_BLOCK + gl_LocalInvocationIndex % COL_BLOCK;
		float s = 0.0;
		FOR_STRIDED(uint, k, lane, R1 - R0, COL_LANES) {
			if (col < cols) {
				s += term(x[(R0 + k) * cols + col]);
			}
		}
		s = columnSum(s);
		if (lane == 0u && col < cols) {
			dst[col] = ADD_TO != 0u ? dst[col] + s : s;
		}
	}
}
