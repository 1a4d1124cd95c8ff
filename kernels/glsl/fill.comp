#version 430
// Fill: dst[i] = v.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };

layout(location = 0) uniform uint n;
layout(location = 1) uniform float v;

void main() {
	FOR_EACH_INDEX(i, n) {
		dst[i] = v;
	}
}
