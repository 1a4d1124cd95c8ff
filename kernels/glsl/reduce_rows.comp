#version 430
// Reduce and CountAbove PerRow over x [rows, cols], each row split into `split` chunks of `chunk`
// columns (the last one shorter): dst[g] = Σ_{c in chunk g % split of row g / split} f(x[r,c]),
// for g < rows·split. f is v, |v| (REDUCE_ABS), v² (REDUCE_SQUARES) or [|v| > θ] (COUNT_ABOVE;
// NaN is never above). With split = 1 (chunk = cols), dst[r] is the whole row's sum; with more, a
// second dispatch of the plain sum over dst [rows, split] finishes it (gpu/reduce.go). One work
// group per chunk: a strided pass and a shared-memory tree (groupSum).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;
layout(location = 2) uniform uint split;
layout(location = 3) uniform uint chunk;
#ifdef COUNT_ABOVE
layout(location = 4) uniform float theta;
#endif

float term(float v) {
#if defined(REDUCE_ABS)
	return abs(v);
#elif defined(REDUCE_SQUARES)
	return v * v;
#elif defined(COUNT_ABOVE)
	return (!IS_NAN(v) && abs(v) > theta) ? 1.0 : 0.0;
#else
	return v;
#endif
}

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(g, rows * split) {
		uint r = g / split;
		uint first = (g % split) * chunk;
		uint width = min(chunk, cols - first); // the same in the whole group
		uint base = r * cols + first;
		float s = 0.0;
		FOR_STRIDED(uint, c, t, width, LOCAL_SIZE) {
			s += term(x[base + c]);
		}
		s = groupSum(s);
		if (t == 0u) {
			dst[g] = s;
		}
	}
}
