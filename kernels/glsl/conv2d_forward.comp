#version 430
// Conv2DForward: y[n,k,i,j] = Σ_{c,p,q} w[k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw], zero outside x.
// x [N,C,H,W], w [K,C,KH,KW], y [N,K,Ho,Wo]; every y element is written.
//
// TILED (TW, TH, KB): one work group per (n, block of KB output channels, TH×TW output tile),
// one invocation per output pixel of the tile holding KB sums in registers. For each input
// channel the group stages the input window of the tile and the KB filters of that channel in
// shared memory, so each x value is read from memory once per group instead of KH·KW times,
// and each one read from shared memory feeds KB multiply-adds. The Go side checks that the
// window fits XS floats and the filters WS floats.
//
// Otherwise (a window too large for shared memory): one invocation per output element, reading
// x and w directly.
#ifdef TILED
layout(local_size_x = TW, local_size_y = TH) in;
#else
layout(local_size_x = LOCAL_SIZE) in;
#endif

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

// Signed, so that window origins left of or above the image need no special case.
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

#ifdef TILED
shared float xs[XS];
shared float ws[WS];

void main() {
	int tilesW = (Wo + TW - 1) / TW, tilesH = (Ho + TH - 1) / TH, kBlocks = (K + KB - 1) / KB;
	int IH = (TH - 1) * sh + KH, IW = (TW - 1) * sw + KW; // input window of a tile
	int taps = KH * KW;
	int lj = int(gl_LocalInvocationID.x), li = int(gl_LocalInvocationID.y);
	int lid = int(gl_LocalInvocationIndex);
	FOR_EACH_GROUP(g, N * kBlocks * tilesH * tilesW) {
		int t = int(g);
		int tw = t % tilesW; t /= tilesW;
		int th = t % tilesH; t /= tilesH;
		int k0 = (t % kBlocks) * KB;
		int n = t / kBlocks;
		int i = th * TH + li, j = tw * TW + lj;
		int r0 = th * TH * sh - ph, c0 = tw * TW * sw - pw;
		float acc[KB];
		for (int kk = 0; kk < KB; kk++) {
			acc[kk] = 0.0;
		}
		for (int c = 0; c < C; c++) {
			barrier(); // the previous channel (or item) is done with xs and ws
			int xbase = (n * C + c) * H * W;
			for (int e = lid; e < IH * IW; e += TW * TH) {
				int r = r0 + e / IW, s = c0 + e % IW;
				xs[e] = (r >= 0 && r < H && s >= 0 && s < W) ? x[xbase + r * W + s] : 0.0;
			}
			for (int e = lid; e < KB * taps; e += TW * TH) {
				int k = k0 + e / taps;
				ws[e] = k < K ? w[(k * C + c) * taps + e % taps] : 0.0;
			}
			SYNC_SHARED();
			// Pixels past the edge of y compute on zeros (their window stays inside xs) and
			// are not stored: no divergence around the barriers.
			for (int p = 0; p < KH; p++) {
				int xrow = (li * sh + p) * IW + lj * sw;
				for (int q = 0; q < KW; q++) {
					float v = xs[xrow + q];
					int wi = p * KW + q;
					for (int kk = 0; kk < KB; kk++) {
						acc[kk] += ws[kk * taps + wi] * v;
					}
				}
			}
		}
		if (i < Ho && j < Wo) {
			for (int kk = 0; kk < KB && k0 + kk < K; kk++) {
				y[((n * K + k0 + kk) * Ho + i) * Wo + j] = acc[kk];
			}
		}
	}
}
#else
void main() {
	FOR_EACH_INDEX(e, N * K * Ho * Wo) {
		int t = int(e);
		int j = t % Wo; t /= Wo;
		int i = t % Ho; t /= Ho;
		int k = t % K;
		int n = t / K;
		float acc = 0.0;
		for (int c = 0; c < C; c++) {
			int xbase = (n * C + c) * H * W, wbase = (k * C + c) * KH * KW;
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
		y[e] = acc;
	}
}
#endif
