#version 430
// ScatterCols: dst[r, idx[j]] = src[r, j] for every index idx[j] that is a whole number in
// [0, m); dst is [n, m], src [n, k], idx [k]. One invocation per element of src; the other
// columns of dst are not touched.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(std430, binding = 2) readonly buffer Idx { float idx[]; };

layout(location = 0) uniform uint total; // n·k
layout(location = 1) uniform uint k;
layout(location = 2) uniform uint m;

void main() {
	FOR_EACH_INDEX(e, total) {
		uint r = e / k;
		uint j = e % k;
		float f = idx[j];
		// NaN, negative, too large for a uint (and +Inf), or not whole: skipped.
		if (!IS_NAN(f) && f >= 0.0 && f < 4294967296.0 && f == floor(f)) {
			uint col = uint(f);
			if (col < m) {
				dst[r * m + col] = src[e];
			}
		}
	}
}
