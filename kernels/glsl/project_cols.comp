#version 430
// ProjectNormBall PerCol, in place: every column of x [rows, cols] whose L2 norm exceeds radius
// is scaled to norm radius. One work group per block of COL_BLOCK columns.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform float radius;

void main() {
	uint lane = gl_LocalInvocationIndex / COL_BLOCK;
	FOR_EACH_GROUP(g, (cols + COL_BLOCK - 1u) / COL_BLOCK) {
		uint col = g * COL_BLOCK + gl_LocalInvocationIndex % COL_BLOCK;
		float s = 0.0;
		FOR_STRIDED(uint, r, lane, rows, COL_LANES) {
			if (col < cols) {
				float v = x[r * cols + col];
				s += v * v;
			}
		}
		float norm = sqrt(columnSum(s));
		float scale = radius / norm;
		FOR_STRIDED(uint, r, lane, rows, COL_LANES) {
			if (col < cols && norm > radius) {
				x[r * cols + col] *= scale;
			}
		}
	}
}
