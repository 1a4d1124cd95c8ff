#version 430
// ProjectNormBall PerCol, in place: every column of x [rows, cols] whose L2 norm exceeds radius
// is scaled to norm radius. One work group per block of COL_BLOCK columns.
//
// This dispatch scales rows [R0, R1) only. With GIVEN_NORMS the column norms are read from
// norms[] (computed by norms_cols.comp), and the Go side scales tall matrices over several
// dispatches (see colSpan in reduce.go); otherwise the group sums the whole column first.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer X { float x[]; };
#ifdef GIVEN_NORMS
layout(std430, binding = 1) readonly buffer Norms { float norms[]; };
#endif

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform float radius;
layout(location = 3) uniform uint R0;
layout(location = 4) uniform uint R1;

void main() {
	uint lane = gl_LocalInvocationIndex / COL_BLOCK;
	FOR_EACH_GROUP(g, (cols + COL_BLOCK - 1u) / COL_BLOCK) {
		uint col = g * COL_BLOCK + gl_LocalInvocationIndex % COL_BLOCK;
#ifdef GIVEN_NORMS
		float norm = col < cols ? norms[col] : 0.0;
#else
		float s = 0.0;
		FOR_STRIDED(uint, r, lane, rows, COL_LANES) {
			if (col < cols) {
				float v = x[r * cols + col];
				s += v * v;
			}
		}
		float norm = sqrt(columnSum(s));
#endif
		float scale = radius / norm;
		FOR_STRIDED(uint, k, lane, min(R1, rows) - R0, COL_LANES) {
			if (col < cols && norm > radius) {
				x[(R0 + k) * cols + col] *= scale;
			}
		}
	}
}
