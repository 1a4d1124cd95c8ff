#version 430
// NormalizeRows: norms[r] = √(ε + ‖x[r,:]‖²), dst[r,c] = x[r,c]/norms[r]. x, dst [rows, cols]
// (not aliased), norms [rows]. One work group per row.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) writeonly buffer Norms { float norms[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform float eps;

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(r, rows) {
		float s = 0.0;
		FOR_STRIDED(uint, c, t, cols, LOCAL_SIZE) {
			float v = x[r * cols + c];
			s += v * v;
		}
		float norm = sqrt(eps + groupSum(s));
		if (t == 0u) {
			norms[r] = norm;
		}
		FOR_STRIDED(uint, c, t, cols, LOCAL_SIZE) {
			dst[r * cols + c] = x[r * cols + c] / norm;
		}
	}
}
