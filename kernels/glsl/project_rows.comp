#version 430
// ProjectNormBall PerRow, in place: every row of x [rows, cols] whose L2 norm exceeds radius is
// scaled to norm radius. One work group per row: the norm, then the scaling.
//
// With GIVEN_NORMS the row norms are read from norms[] (computed by norms_rows.comp) and this
// dispatch scales columns [C0, C1) only: the Go side splits long rows over several dispatches
// (see rowSpan in reduce.go). Otherwise C0 = 0, C1 = cols.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer X { float x[]; };
#ifdef GIVEN_NORMS
layout(std430, binding = 1) readonly buffer Norms { float norms[]; };
#endif

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform float radius;
layout(location = 3) uniform uint C0;
layout(location = 4) uniform uint C1;

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(r, rows) {
#ifdef GIVEN_NORMS
		float norm = norms[r];
#else
		float s = 0.0;
		FOR_STRIDED(uint, c, t, cols, LOCAL_SIZE) {
			float v = x[r * cols + c];
			s += v * v;
		}
		float norm = sqrt(groupSum(s));
#endif
		if (norm > radius) {
			float scale = radius / norm;
			FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
				x[r * cols + C0 + c] *= scale;
			}
		}
	}
}
