#version 430
// The threshold gradient of the shrink backward ops, summed over rows:
// SoftShrinkBackward: dtheta[i] = −Σ_r dy[r,i]·sign(x[r,i])·[|x[r,i]| > θ[i]];
// with ONE_SIDED (PosShrinkBackward): dtheta[i] = −Σ_r dy[r,i]·[x[r,i] > θ[i]].
// One work group per block of COL_BLOCK columns.
//
// This dispatch sums rows [R0, R1) only, into dtheta (ADD_TO ≠ 0: added to what it holds): the
// Go side sums tall matrices over several dispatches (see colSpan in reduce.go).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer DTheta { float dtheta[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer Theta { float theta[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint m;
layout(location = 2) uniform uint R0;
layout(location = 3) uniform uint R1;
layout(location = 4) uniform uint ADD_TO;

void main() {
	uint lane = gl_LocalInvocationIndex / COL_BLOCK;
	FOR_EACH_GROUP(g, (m + COL_BLOCK - 1u) / COL_BLOCK) {
		uint col = g * COL_BLOCK + gl_LocalInvocationIndex % COL_BLOCK;
		float s = 0.0;
		float t = col < m ? theta[col] : 0.0;
		FOR_STRIDED(uint, k, lane, R1 - R0, COL_LANES) {
			uint r = R0 + k;
			if (col < m) {
				float v = x[r * m + col];
#ifdef ONE_SIDED
				if (v > t) {
					s += dy[r * m + col];
				}
#else
				if (abs(v) > t) {
					s += dy[r * m + col] * sign(v);
				}
#endif
			}
		}
		s = columnSum(s);
		if (lane == 0u && col < m) {
			dtheta[col] = ADD_TO != 0u ? dtheta[col] - s : -s;
		}
	}
}
