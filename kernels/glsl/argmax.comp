#version 430
// Argmax: dst[b] = the first index of the largest logits[b,:], as a float. logits [B,k], dst [B].
// One work group per sample: each invocation scans a strided part of the row, then a tree
// reduction over (value, index) pairs keeps the larger value and, on ties, the smaller index.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Logits { float logits[]; };

layout(location = 0) uniform uint B;
layout(location = 1) uniform uint k;

shared float bestValue[LOCAL_SIZE];
shared uint bestIndex[LOCAL_SIZE];

// better reports whether (v, i) beats (w, j).
bool better(float v, uint i, float w, uint j) {
	return v > w || (v == w && i < j);
}

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(b, B) {
		uint row = b * k;
		float v = NEG_INF;
		uint idx = 0xffffffffu;
		FOR_STRIDED(uint, c, t, k, LOCAL_SIZE) {
			float w = logits[row + c];
			if (idx == 0xffffffffu || w > v) {
				v = w;
				idx = c;
			}
		}
		bestValue[t] = v;
		bestIndex[t] = idx;
		SYNC_SHARED();
		for (uint s = uint(LOCAL_SIZE) / 2u; s > 0u; s >>= 1) {
			if (t < s && bestIndex[t + s] != 0xffffffffu &&
				(bestIndex[t] == 0xffffffffu || better(bestValue[t + s], bestIndex[t + s], bestValue[t], bestIndex[t]))) {
				bestValue[t] = bestValue[t + s];
				bestIndex[t] = bestIndex[t + s];
			}
			SYNC_SHARED();
		}
		if (t == 0u) {
			dst[b] = float(bestIndex[0]);
		}
		SYNC_SHARED();
	}
}
