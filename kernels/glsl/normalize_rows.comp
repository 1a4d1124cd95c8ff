#version 430
// NormalizeRows: norms[r] = √(ε + ‖x[r,:]‖²), dst[r,c] = x[r,c]/norms[r]. x, dst [rows, cols]
// (not aliased), norms [rows]. One work group per row.
//
// With GIVEN_NORMS, norms is an input (from norms_rows.comp) and this dispatch writes columns
// [C0, C1) of dst only: the Go side splits long rows over several dispatches (see rowSpan in
// reduce.go). Otherwise the group computes the norm, then writes the whole row (C0 = 0, C1 =
// cols).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
#ifdef GIVEN_NORMS
layout(std430, binding = 1) readonly buffer Norms { float norms[]; };
#else
layout(std430, binding = 1) writeonly buffer Norms { float norms[]; };
#endif
layout(std430, binding = 2) readonly buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform uint C0;
layout(location = 3) uniform uint C1;
#ifndef GIVEN_NORMS
layout(location = 4) uniform float eps;
#endif

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
		float norm = sqrt(eps + groupSum(s));
		if (t == 0u) {
			norms[r] = norm;
		}
#endif
		FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
			uint i = r * cols + C0 + c;
			dst[i] = x[i] / norm;
		}
	}
}
