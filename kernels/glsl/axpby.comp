#version 430
// Axpby: y[i] = alpha·x[i] + beta·y[i]; with beta = 0, y's old contents are not read (a NaN there
// must not propagate).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };

layout(location = 0) uniform uint n;
layout(location = 1) uniform float alpha;
layout(location = 2) uniform float beta;

void main() {
	FOR_EACH_INDEX(i, n) {
		float r = alpha * x[i];
		if (beta != 0.0) {
			r += beta * y[i];
		}
		y[i] = r;
	}
}
