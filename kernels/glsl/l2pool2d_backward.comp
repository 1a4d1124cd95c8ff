#version 430
// L2Pool2DBackward, the gradient through L2Pool2D, as a gather (no atomics):
// dx[n,c,h,v] = x[n,c,h,v]·Σ dy[n,c,i,j]·k[p,q]/y[n,c,i,j] over the windows (i,j) and taps
// (p,q) with h+ph−p = i·sh and v+pw−q = j·sw, (i,j) inside y; only taps p ≡ h+ph (mod sh)
// can hit a row of y, so the loops start there and step by the stride.
// dy, y [N,C,Ho,Wo], x, dx [N,C,H,W], k [KH,KW]; every dx element is written.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer Kw { float kw[]; };
layout(std430, binding = 4) writeonly buffer DX { float dx[]; };

layout(location = 0) uniform int N;
layout(location = 1) uniform int C;
layout(location = 2) uniform int H;
layout(location = 3) uniform int W;
layout(location = 4) uniform int KH;
layout(location = 5) uniform int KW;
layout(location = 6) uniform int Ho;
layout(location = 7) uniform int Wo;
layout(location = 8) uniform int sh;
layout(location = 9) uniform int sw;
layout(location = 10) uniform int ph;
layout(location = 11) uniform int pw;

void main() {
	FOR_EACH_INDEX(e, N * C * H * W) {
		int t = int(e);
		int v = t % W; t /= W;
		int h = t % H;
		int plane = t / H; // n·C + c
		int ybase = plane * Ho * Wo;
		int p0 = (h + ph) % sh, q0 = (v + pw) % sw;
		float acc = 0.0;
		// i = (h+ph−p)/sh, exact; it falls by one per step and is negative once p > h+ph.
		for (int p = p0, i = (h + ph - p0) / sh; p < KH && i >= 0; p += sh, i--) {
			if (i >= Ho) {
				continue;
			}
			for (int q = q0, j = (v + pw - q0) / sw; q < KW && j >= 0; q += sw, j--) {
				if (j < Wo) {
					int yi = ybase + i * Wo + j;
					acc += dy[yi] * kw[p * KW + q] / y[yi];
				}
			}
		}
		dx[e] = x[e] * acc;
	}
}
