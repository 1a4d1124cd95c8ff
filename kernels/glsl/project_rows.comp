#version 430
// ProjectNormBall PerRow, in place: every row of x [rows, cols] whose L2 norm exceeds radius is
// scaled to norm radius. One work group per row: the norm, then the scaling.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform float radius;

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(r, rows) {
		float s = 0.0;
		FOR_STRIDED(uint, c, t, cols, LOCAL_SIZE) {
			float v = x[r * cols + c];
			s += v * v;
		}
		float norm = sqrt(groupSum(s));
		if (norm > radius) {
			float scale = radius / norm;
			FOR_STRIDED(uint, c, t, cols, LOCAL_SIZE) {
				x[r * cols + c] *= scale;
			}
		}
	}
}
