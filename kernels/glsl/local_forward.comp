#version 430
// LocalForward, the locally connected layer (a filter of its own at every output pixel):
// y[n,k,i,j] = Σ_{c,p,q} w[i,j,k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw], zero outside x.
// x [N,C,H,W], w [Ho,Wo,K,C,KH,KW], y [N,K,Ho,Wo]; every y element is written.
//
// One invocation per y element. The invocations are numbered with n fastest, so neighbouring
// invocations use the same filter: its weights, the bulk of the memory traffic (each is used
// only N times), are read once per group of samples and broadcast.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) buffer Y { float y[]; };

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
// This dispatch sums input channels [P0, P1) only, into y (ADD_TO ≠ 0: added to what it holds): the
// Go side splits long sums over several dispatches (see convParts in conv.go).
layout(location = 13) uniform int P0;
layout(location = 14) uniform int P1;
layout(location = 15) uniform uint ADD_TO;

void main() {
	FOR_EACH_INDEX(e, N * K * Ho * Wo) {
		int t = int(e);
		int n = t % N; t /= N;
		int k = t % K; t /= K;
		int j = t % Wo;
		int i = t / Wo;
		// t = (i·Wo + j)·K + k indexes the filter w[i,j,k,:,:,:].
		int wfilter = ((i * Wo + j) * K + k) * C * KH * KW;
		float acc = 0.0;
		for (int c = P0; c < P1; c++) {
			int xbase = (n * C + c) * H * W, wbase = wfilter + c * KH * KW;
			for (int p = 0; p < KH; p++) {
				int r = i * sh + p - ph;
				if (r < 0 || r >= H) {
					continue;
				}
				for (int q = 0; q < KW; q++) {
					int s = j * sw + q - pw;
					if (s >= 0 && s < W) {
						acc += w[wbase + p * KW + q] * x[xbase + r * W + s];
					}
				}
			}
		}
		int yi = ((n * K + k) * Ho + i) * Wo + j;
		y[yi] = ADD_TO != 0u ? y[yi] + acc : acc;
	}
}
