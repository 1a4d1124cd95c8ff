#version 430
// SoftmaxXent: p = softmax(logits[b,:]); loss[b] = −log p[labels[b]] (with HAS_LOSS);
// grad[b,c] = p[c] − [c = labels[b]]. A label outside [0,k) gives loss NaN and grad NaN.
// logits, grad [B,k]; labels, loss [B]. One work group per sample.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Grad { float grad[]; };
layout(std430, binding = 1) readonly buffer Logits { float logits[]; };
layout(std430, binding = 2) readonly buffer Labels { float labels[]; };
#ifdef HAS_LOSS
layout(std430, binding = 3) writeonly buffer Loss { float loss[]; };
#endif

layout(location = 0) uniform uint B;
layout(location = 1) uniform uint k;

void main() {
	uint t = gl_LocalInvocationIndex;
	FOR_EACH_GROUP(b, B) {
		uint row = b * k;
		float label = labels[b];
		bool valid = label >= 0.0 && label < float(k);
		uint target = valid ? uint(label) : 0u;

		float mx = NEG_INF;
		FOR_STRIDED(uint, c, t, k, LOCAL_SIZE) {
			mx = max(mx, logits[row + c]);
		}
		mx = groupMax(mx);
		float s = 0.0;
		FOR_STRIDED(uint, c, t, k, LOCAL_SIZE) {
			s += exp(logits[row + c] - mx);
		}
		float lse = mx + log(groupSum(s)); // log Σ exp(logits)
		FOR_STRIDED(uint, c, t, k, LOCAL_SIZE) {
			float p = exp(logits[row + c] - lse);
			grad[row + c] = valid ? (c == target ? p - 1.0 : p) : NAN;
		}
#ifdef HAS_LOSS
		if (t == 0u) {
			loss[b] = valid ? lse - logits[row + target] : NAN;
		}
#endif
	}
}
