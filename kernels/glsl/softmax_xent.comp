#version 430
// SoftmaxXent: p = softmax(logits[b,:]); loss[b] = −log p[labels[b]] (with HAS_LOSS);
// grad[b,c] = p[c] − [c = labels[b]]. A label outside [0,k) gives loss NaN and grad NaN.
// logits, grad [B,k]; labels, loss [B]. One work group per sample.
//
// Long rows are split over several dispatches by the Go side (see classifySpan in classify.go),
// each over columns [C0, C1), with the state of a row, (its maximum m, Σ exp(logits − m)), in
// stats[b]: with STATS a dispatch merges its columns into stats[b] (ADD_TO = 0: the first part
// overwrites it) and writes nothing else; with APPLY it reads the complete stats and writes
// columns [C0, C1) of grad (and, in the part with C0 = 0, the loss). With neither, the group
// does the whole row (C0 = 0, C1 = k).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Grad { float grad[]; };
layout(std430, binding = 1) readonly buffer Logits { float logits[]; };
layout(std430, binding = 2) readonly buffer Labels { float labels[]; };
#if defined(STATS) || defined(APPLY)
layout(std430, binding = 3) buffer Stats { vec2 stats[]; };
#define LOSS_BINDING 4
#else
#define LOSS_BINDING 3
#endif
#ifdef HAS_LOSS
layout(std430, binding = LOSS_BINDING) writeonly buffer Loss { float loss[]; };
#endif

layout(location = 0) uniform uint B;
layout(location = 1) uniform uint k;
layout(location = 2) uniform uint C0;
layout(location = 3) uniform uint C1;
#ifdef STATS
layout(location = 4) uniform uint ADD_TO;

// part is what a part (m, s) adds to Σ exp(logits − mx) for mx ≥ m: none when m = −∞ (no
// NaN from −∞ − −∞ for a part of −∞ logits).
float part(vec2 p, float mx) {
	return p.x == NEG_INF ? 0.0 : p.y * exp(p.x - mx);
}
#endif

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(b, B) {
		uint row = b * k + C0;
#ifdef APPLY
		float lse = stats[b].x + log(stats[b].y);
#else
		float mx = NEG_INF;
		FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
			mx = max(mx, logits[row + c]);
		}
		mx = groupMax(mx);
		float s = 0.0;
		FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
			s += exp(logits[row + c] - mx);
		}
		s = groupSum(s);
		float lse = mx + log(s); // log Σ exp(logits)
#endif
#ifdef STATS
		if (t == 0u) {
			vec2 p = vec2(mx, s);
			if (ADD_TO != 0u) {
				vec2 q = stats[b];
				float m = max(q.x, p.x);
				p = vec2(m, part(q, m) + part(p, m));
			}
			stats[b] = p;
		}
#else
		float label = labels[b];
		bool valid = label >= 0.0 && label < float(k);
		uint target = valid ? uint(label) : 0u;
#ifdef HAS_LOSS
		if (t == 0u && C0 == 0u) {
			loss[b] = valid ? lse - logits[b * k + target] : NAN;
		}
#endif
		FOR_STRIDED(uint, c, t, C1 - C0, LOCAL_SIZE) {
			float p = exp(logits[row + c] - lse);
			grad[row + c] = valid ? (C0 + c == target ? p - 1.0 : p) : NAN;
		}
#endif
	}
}
