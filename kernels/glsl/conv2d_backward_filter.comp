#version 430
// Conv2DBackwardFilter: dw[k,c,p,q] = Σ_{n,i,j} dy[n,k,i,j]·x[n,c, i·sh+p−ph, j·sw+q−pw].
// x [N,C,H,W], dy [N,K,Ho,Wo], dw [K,C,KH,KW]; every dw element is written.
//
// One work group per block of 4×4 dw elements: four filters k0…k0+3 (a vec4) by four taps
// (p, q0…q0+3) of one channel c. The invocations split the N·Ho·Wo terms (neighbouring
// invocations take neighbouring output pixels), each term costing 4 reads of dy and 4 of x for
// 16 multiply-adds; then a tree reduction in shared memory sums the invocations' partial sums.
// No float atomics, and a fixed order of summation, so results are reproducible. LOCAL_SIZE
// must be a power of two.
//
// This dispatch sums the terms [T0, T1) of the N·Ho·Wo only: the Go side splits longer sums over
// several dispatches (see loopBudget in conv.go), each after the first adding into dw (ADD_TO ≠ 0).
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
layout(location = 13) uniform int T0;
layout(location = 14) uniform int T1;
layout(location = 15) uniform uint ADD_TO;

shared vec4 red[4 * LOCAL_SIZE]; // red[qq·LOCAL_SIZE + invocation]

void main() {
	int lid = int(gl_LocalInvocationIndex);
	int kBlocks = (K + 3) / 4, qBlocks = (KW + 3) / 4, plane = Ho * Wo;
	// Each invocation walks the terms lid, lid+LOCAL_SIZE, … in (n, i, j) order; the step, in
	// samples, rows and columns, is applied with carries so that the loop has no division.
	int dn = LOCAL_SIZE / plane, di = (LOCAL_SIZE / Wo) % Ho, dj = LOCAL_SIZE % Wo;
	int tStart = T0 + lid;
	int nStart = tStart / plane, iStart = (tStart / Wo) % Ho, jStart = tStart % Wo;
	FOR_EACH_GROUP(g, kBlocks * C * KH * qBlocks) {
		int t = int(g);
		int q0 = (t % qBlocks) * 4; t /= qBlocks;
		int p = t % KH; t /= KH;
		int c = t % C;
		int k0 = (t / C) * 4;
		vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
		// The same number of iterations in every invocation (see FOR_STRIDED in the header):
		// invocations past the last term idle through the final one.
		int iters = (T1 - T0 + LOCAL_SIZE - 1) / LOCAL_SIZE;
		int n = nStart, i = iStart, j = jStart;
		for (int it = 0, term = tStart; it < iters; it++, term += LOCAL_SIZE) {
			int r = i * sh + p - ph;
			if (term < T1 && r >= 0 && r < H) {
				int yi = (n * K + k0) * plane + i * Wo + j;
				vec4 d = vec4(dy[yi], k0 + 1 < K ? dy[yi + plane] : 0.0,
					k0 + 2 < K ? dy[yi + 2 * plane] : 0.0, k0 + 3 < K ? dy[yi + 3 * plane] : 0.0);
				int xrow = ((n * C + c) * H + r) * W;
				for (int qq = 0; qq < 4; qq++) {
					int s = j * sw + q0 + qq - pw;
					// Taps past KW (the last block of a row) are summed but never stored.
					if (s >= 0 && s < W) {
						acc[qq] += d * x[xrow + s];
					}
				}
			}
			j += dj;
			i += di;
			if (j >= Wo) {
				j -= Wo;
				i++;
			}
			n += dn;
			if (i >= Ho) {
				i -= Ho;
				n++;
			}
		}
		SYNC_SHARED(); // the previous item's results have been read
		for (int qq = 0; qq < 4; qq++) {
			red[qq * LOCAL_SIZE + lid] = acc[qq];
		}
		SYNC_SHARED();
		for (int span = LOCAL_SIZE / 2; span > 0; span >>= 1) {
			if (lid < span) {
				for (int qq = 0; qq < 4; qq++) {
					red[qq * LOCAL_SIZE + lid] += red[qq * LOCAL_SIZE + lid + span];
				}
			}
			SYNC_SHARED();
		}
		if (lid < 16) {
			int qq = lid / 4, kk = lid % 4;
			if (k0 + kk < K && q0 + qq < KW) {
				int wi = ((k0 + kk) * C + c) * KH * KW + p * KW + q0 + qq;
				dw[wi] = ADD_TO != 0u ? dw[wi] + red[qq * LOCAL_SIZE][kk] : red[qq * LOCAL_SIZE][kk];
			}
		}
	}
}
