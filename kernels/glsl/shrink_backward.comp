#version 430
// SoftShrinkBackward: dx[r,i] = dy[r,i]·[|x[r,i]| > θ[i]]; with ONE_SIDED (PosShrinkBackward):
// dx[r,i] = dy[r,i]·[x[r,i] > θ[i]]. dx may alias dy or x.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer Theta { float theta[]; };

layout(location = 0) uniform uint n; // rows·m
layout(location = 1) uniform uint m;

void main() {
	FOR_EACH_INDEX(i, n) {
#ifdef ONE_SIDED
		bool on = x[i] > theta[i % m];
#else
		bool on = abs(x[i]) > theta[i % m];
#endif
		dx[i] = on ? dy[i] : 0.0;
	}
}
