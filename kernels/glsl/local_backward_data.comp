#version 430
// LocalBackwardData, the adjoint of LocalForward in x, as a gather (no atomics):
// dx[n,c,h,v] = Σ_{k,p,q} w[i,j,k,c,p,q]·dy[n,k,i,j] over the taps with h+ph−p = i·sh and
// v+pw−q = j·sw for an output pixel (i, j) inside y; only taps p ≡ h+ph (mod sh) can hit a
// row of y, so the loops start there and step by the stride.
// dy [N,K,Ho,Wo], w [Ho,Wo,K,C,KH,KW], dx [N,C,H,W]; every dx element is written (also those
// no window reads: 0).
//
// One invocation per dx element, numbered with n fastest so that neighbouring invocations read
// the same weights.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

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
// This dispatch sums output channels [P0, P1) only, into dx (ADD_TO ≠ 0: added to what it holds): the
// Go side splits long sums over several dispatches (see convParts in conv.go).
layout(location = 13) uniform int P0;
layout(location = 14) uniform int P1;
layout(location = 15) uniform uint ADD_TO;

void main() {
	FOR_EACH_INDEX(e, N * C * H * W) {
		int t = int(e);
		int n = t % N; t /= N;
		int v = t % W; t /= W;
		int h = t % H;
		int c = t / H;
		int p0 = (h + ph) % sh, q0 = (v + pw) % sw;
		float acc = 0.0;
		// i = (h+ph−p)/sh, exact; it falls by one per step and is negative once p > h+ph.
		for (int p = p0, i = (h + ph - p0) / sh; p < KH && i >= 0; p += sh, i--) {
			if (i >= Ho) {
				continue;
			}
			for (int q = q0, j = (v + pw - q0) / sw; q < KW && j >= 0; q += sw, j--) {
				if (j >= Wo) {
					continue;
				}
				int ybase = n * K * Ho * Wo + i * Wo + j;
				int wbase = (((i * Wo + j) * K) * C + c) * KH * KW + p * KW + q;
				for (int k = P0; k < P1; k++) {
					acc += w[wbase + k * C * KH * KW] * dy[ybase + k * Ho * Wo];
				}
			}
		}
		int xi = ((n * C + c) * H + h) * W + v;
		dx[xi] = ADD_TO != 0u ? dx[xi] + acc : acc;
	}
}
