#version 430
// NormalizeRowsBackward: dx[r,c] = (dy[r,c] − y[r,c]·Σ_c' y[r,c']·dy[r,c'])/norms[r], with y and
// norms from NormalizeRows. One work group per row; the dot product is complete before any
// write, so dx may alias dy or y.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer Norms { float norms[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(r, rows) {
		float s = 0.0;
		FOR_STRIDED(uint, c, t, cols, LOCAL_SIZE) {
			s += y[r * cols + c] * dy[r * cols + c];
		}
		float yd = groupSum(s);
		float norm = norms[r];
		FOR_STRIDED(uint, c, t, cols, LOCAL_SIZE) {
			uint i = r * cols + c;
			dx[i] = (dy[i] - y[i] * yd) / norm;
		}
	}
}
