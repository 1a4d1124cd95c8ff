#version 430
// SoftShrink: dst[r,i] = sign(x)·max(|x| − θ[i], 0); with ONE_SIDED (PosShrink):
// dst[r,i] = max(x − θ[i], 0). x and dst are [rows, m], θ is [m]; dst may alias x.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Theta { float theta[]; };

layout(location = 0) uniform uint n; // rows·m
layout(location = 1) uniform uint m;

void main() {
	FOR_EACH_INDEX(i, n) {
		float v = x[i];
		float t = theta[i % m];
#ifdef ONE_SIDED
		dst[i] = v > t ? v - t : 0.0;
#else
		float a = abs(v) - t;
		dst[i] = a > 0.0 ? sign(v) * a : 0.0;
#endif
	}
}
