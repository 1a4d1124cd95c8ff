#version 430
// BroadcastAdd (ADD): dst[r,c] = x[r,c] + alpha·v[j]; BroadcastMul: dst[r,c] = x[r,c]·v[j];
// j = c (v per column, [cols]) or, with PER_ROW, j = r (v per row, [rows]). dst may alias x.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };

layout(location = 0) uniform uint n;    // rows·cols
layout(location = 1) uniform uint cols;
#ifdef ADD
layout(location = 2) uniform float alpha;
#endif

void main() {
	FOR_EACH_INDEX(i, n) {
#ifdef PER_ROW
		float w = v[i / cols];
#else
		float w = v[i % cols];
#endif
#ifdef ADD
		dst[i] = x[i] + alpha * w;
#else
		dst[i] = x[i] * w;
#endif
	}
}
