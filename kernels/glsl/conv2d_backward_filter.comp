#version 430
// Conv2DBackwardFilter: dw[k,c,p,q] = Σ_{n,i,j} dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], dy [N,K,Ho,Wo], dw [K,C,KH,KW]; every dw element is written.
//
// One work group per dw element: its invocations split the N·Ho·Wo terms (neighbouring
// invocations take neighbouring output pixels, so the reads of dy and x are contiguous rows),
// then a tree reduction in shared memory sums the partial sums. No float atomics, and the
// order of the sum is fixed, so results are reproducible. The Go side defines GROUP_REDUCE
// (for groupSum of the header) and a power-of-two LOCAL_SIZE.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DW { float dw[]; };

layout(location = 0) uniform int N;
layout(location = 1) uniform int C;
layout(location = 2) uniform int H;
layout(location = 3) uniform int W;
layout(location = 4) uniform int K;
layout(location = 5) uniform int KH;
layout(location = 6) uniform int KW;
layout(location = 7) uniform int Ho;
layout(location = 8) uniform int Wo;
layout(location = 9) uniform int sh;
layout(location = 10) uniform int sw;
layout(location = 11) uniform int ph;
layout(location = 12) uniform int pw;

void main() {
	int lid = int(gl_LocalInvocationIndex);
	// Each invocation walks the output pixels lid, lid+LOCAL_SIZE, …: a step of di rows and
	// dj columns, kept incrementally so the loop has no division.
	int di = LOCAL_SIZE / Wo, dj = LOCAL_SIZE % Wo;
	int iStart = lid / Wo, jStart = lid % Wo;
	FOR_EACH_GROUP(g, K * C * KH * KW) {
		int t = int(g);
		int q = t % KW; t /= KW;
		int p = t % KH; t /= KH;
		int c = t % C;
		int k = t / C;
		float acc = 0.0;
		for (int n = 0; n < N; n++) {
			int xbase = (n * C + c) * H * W, ybase = (n * K + k) * Ho * Wo;
			for (int i = iStart, j = jStart; i < Ho; ) {
				int r = i * sh + p - ph, s = j * sw + q - pw;
				if (r >= 0 && r < H && s >= 0 && s < W) {
					acc += dy[ybase + i * Wo + j] * x[xbase + r * W + s];
				}
				i += di;
				j += dj;
				if (j >= Wo) {
					j -= Wo;
					i++;
				}
			}
		}
		acc = groupSum(acc);
		if (lid == 0) {
			dw[g] = acc;
		}
	}
}
