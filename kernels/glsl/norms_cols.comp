#version 430
// Norms PerCol: dst[c] = ‖x[:,c]‖₂; x is [rows, cols]. One work group per block of COL_BLOCK
// columns.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;

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
		s = columnSum(s);
		if (lane == 0u && col < cols) {
			dst[col] = sqrt(s);
		}
	}
}
