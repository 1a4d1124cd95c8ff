#version 430
// NormalizeRowsBackward: dx[r,c] = (dy[r,c] − y[r,c]·Σ_c' y[r,c']·dy[r,c'])/norms[r], with y and
// norms from NormalizeRows. One work group per row; the dot product is complete before any
// write, so dx may alias dy or y.
//
// Long rows are split over several dispatches by the Go side (see rowSpan in reduce.go): with
// DOT, a dispatch adds Σ y·dy over columns [C0, C1) into yd[r] (ADD_TO = 0: the first part
// overwrites it) and writes no dx; with GIVEN_DOT, it reads the complete yd[r] and writes
// columns [C0, C1) of dx. With neither, the group does the whole row (C0 = 0, C1 = cols).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer Norms { float norms[]; };
#if defined(DOT) || defined(GIVEN_DOT)
layout(std430, binding = 4) buffer YD { float yd[]; };
#endif

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform uint C0;
layout(location = 3) uniform uint C1;
#ifdef DOT
layout(location = 4) uniform uint ADD_TO;
#endif

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(r, rows) {
#ifdef GIVEN_DOT
		float d = yd[r];
#else
		float s = 0.0;
		FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
			uint i = r * cols + C0 + c;
			s += y[i] * dy[i];
		}
		float d = groupSum(s);
#endif
#ifdef DOT
		if (t == 0u) {
			yd[r] = ADD_TO != 0u ? yd[r] + d : d;
		}
#else
		float norm = norms[r];
		FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
			uint i = r * cols + C0 + c;
			dx[i] = (dy[i] - y[i] * d) / norm;
		}
#endif
	}
}
