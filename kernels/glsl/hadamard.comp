#version 430
// Hadamard: dst[i] = x[i]·y[i]; with DIV, Div: dst[i] = x[i]/y[i]. dst may alias x or y.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Y { float y[]; };

layout(location = 0) uniform uint n;

void main() {
	FOR_EACH_INDEX(i, n) {
#ifdef DIV
		dst[i] = x[i] / y[i];
#else
		dst[i] = x[i] * y[i];
#endif
	}
}
