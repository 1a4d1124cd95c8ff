#version 430
// Norms PerRow: dst[r] = ‖x[r,:]‖₂; x is [rows, cols]. One work group per row.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(r, rows) {
		float s = 0.0;
		FOR_STRIDED(uint, c, t, cols, LOCAL_SIZE) {
			float v = x[r * cols + c];
			s += v * v;
		}
		s = groupSum(s);
		if (t == 0u) {
			dst[r] = sqrt(s);
		}
	}
}
