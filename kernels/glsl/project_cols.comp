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
		if (col < cols) {
			for (uint r = lane; r < rows; r += COL_LANES) {
				float v = x[r * cols + col];
				s += v * v;
			}
		}
		float norm = sqrt(columnSum(s));
		if (col < cols && norm > radius) {
			float scale = radius / norm;
			for (uint r = lane; r < rows; r += COL_LANES) {
				x[r * cols + col] *= scale;
			}
		}
	}
}
