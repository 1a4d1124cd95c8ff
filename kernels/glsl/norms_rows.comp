#version 430
// Norms PerRow: dst[r] = √(eps + ‖x[r,:]‖²) (Norms passes eps = 0; NormalizeRows its ε); x is
// [rows, cols]. One work group per row.
//
// This dispatch sums the squares of columns [C0, C1) only (the Go side sums long rows over
// several dispatches: see rowSpan in reduce.go): dst holds the running sum of squares between
// the dispatches, to which ADD_TO ≠ 0 adds, and LAST ≠ 0 (the last part) takes √(eps + sum).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform uint C0;
layout(location = 3) uniform uint C1;
layout(location = 4) uniform uint ADD_TO;
layout(location = 5) uniform uint LAST;
layout(location = 6) uniform float eps;

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(r, rows) {
		float s = 0.0;
		FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
			float v = x[r * cols + C0 + c];
			s += v * v;
		}
		s = groupSum(s);
		if (t == 0u) {
			if (ADD_TO != 0u) {
				s += dst[r];
			}
			dst[r] = LAST != 0u ? sqrt(eps + s) : s;
		}
	}
}
