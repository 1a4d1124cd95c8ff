#version 430
// L2Pool2D, spatial L2 pooling per channel:
// y[n,c,i,j] = √(ε + Σ_{p,q} k[p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw]²), zero outside x.
// x [N,C,H,W], window k [KH,KW], y [N,C,Ho,Wo]; one invocation per y element.
//
// This dispatch sums the window rows [P0, P1) only: the Go side splits tall windows over several
// dispatches (see loopBudget in conv.go), y holding the partial sums in between (ADD_TO ≠ 0:
// added to them; LAST ≠ 0: the square root taken).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Kw { float kw[]; };
layout(std430, binding = 2) buffer Y { float y[]; };

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
layout(location = 12) uniform float eps;
layout(location = 13) uniform int P0;
layout(location = 14) uniform int P1;
layout(location = 15) uniform uint ADD_TO;
layout(location = 16) uniform uint LAST;

void main() {
	FOR_EACH_INDEX(e, N * C * Ho * Wo) {
		int t = int(e);
		int j = t % Wo; t /= Wo;
		int i = t % Ho;
		int plane = t / Ho; // n·C + c
		int xbase = plane * H * W;
		float acc = ADD_TO != 0u ? y[e] : 0.0;
		for (int p = P0; p < P1; p++) {
			int r = i * sh + p - ph;
			if (r < 0 || r >= H) {
				continue;
			}
			for (int q = 0; q < KW; q++) {
				int s = j * sw + q - pw;
				if (s >= 0 && s < W) {
					float v = x[xbase + r * W + s];
					acc += kw[p * KW + q] * v * v;
				}
			}
		}
		y[e] = LAST != 0u ? sqrt(eps + acc) : acc;
	}
}
