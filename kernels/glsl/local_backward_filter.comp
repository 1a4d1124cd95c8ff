#version 430
// LocalBackwardFilter: dw[i,j,k,c,p,q] = Σ_n dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], dy [N,K,Ho,Wo], dw [Ho,Wo,K,C,KH,KW]; every dw element is written (taps that
// only ever read padding: 0).
//
// One invocation per dw element, summing over the N samples itself: each weight has only N
// terms, and dw, the largest operand, is then written once, in order.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DW { float dw[]; };

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
// This dispatch sums samples [P0, P1) only, into dw (ADD_TO ≠ 0: added to what it holds): the
// Go side splits long sums over several dispatches (see convParts in conv.go).
layout(location = 13) uniform int P0;
layout(location = 14) uniform int P1;
layout(location = 15) uniform uint ADD_TO;

void main() {
	FOR_EACH_INDEX(e, Ho * Wo * K * C * KH * KW) {
		int t = int(e);
		int q = t % KW; t /= KW;
		int p = t % KH; t /= KH;
		int c = t % C; t /= C;
		int k = t % K; t /= K;
		int j = t % Wo;
		int i = t / Wo;
		int r = i * sh + p - ph, s = j * sw + q - pw;
		float acc = 0.0;
		if (r >= 0 && r < H && s >= 0 && s < W) {
			int xi = (c * H + r) * W + s, yi = (k * Ho + i) * Wo + j;
			for (int n = P0; n < P1; n++) {
				acc += dy[n * K * Ho * Wo + yi] * x[n * C * H * W + xi];
			}
		}
		dw[e] = ADD_TO != 0u ? dw[e] + acc : acc;
	}
}
