#version 430
// Argmax: dst[b] = the first index of the largest logits[b,:], as a float. logits [B,k], dst [B].
// One work group per sample: each invocation scans a strided part of the row, then a tree
// reduction over (value, index) pairs keeps the larger value and, on ties, the smaller index.
//
// This dispatch scans columns [C0, C1) only. With SPLIT the Go side splits long rows over
// several dispatches (see classifySpan in classify.go): the best pair so far is kept in
// best[b], which a part merges into like one more level of the tree (ADD_TO = 0: the first part
// overwrites it), and the last part (LAST ≠ 0) writes dst. Without it C0 = 0, C1 = k.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Logits { float logits[]; };
#ifdef SPLIT
struct Best {
	float value;
	uint index;
};
layout(std430, binding = 2) buffer State { Best best[]; };
#endif

layout(location = 0) uniform uint B;
layout(location = 1) uniform uint k;
layout(location = 2) uniform uint C0;
layout(location = 3) uniform uint C1;
#ifdef SPLIT
layout(location = 4) uniform uint ADD_TO;
layout(location = 5) uniform uint LAST;
#endif

shared float bestValue[LOCAL_SIZE];
shared uint bestIndex[LOCAL_SIZE];

bool better(float v, uint i, float w, uint j) {
	return v > w || (v == w && i < j);
}

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(b, B) {
		uint row = b * k + C0;
		float v = NEG_INF;
		uint idx = 0xffffffffu;
		FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
			float w = logits[row + c];
			if (idx == 0xffffffffu || w > v) {
				v = w;
				idx = C0 + c;
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
			v = bestValue[0];
			idx = bestIndex[0];
#ifdef SPLIT
			// The earlier parts hold the smaller indices.
			if (ADD_TO != 0u && best[b].index != 0xffffffffu && (idx == 0xffffffffu || !better(v, idx, best[b].value, best[b].index))) {
				v = best[b].value;
				idx = best[b].index;
			}
			if (LAST == 0u) {
				best[b] = Best(v, idx);
			} else {
				dst[b] = float(idx);
			}
#else
			dst[b] = float(idx);
#endif
		}
		SYNC_SHARED();
	}
}
