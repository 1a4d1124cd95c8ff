#version 430
// Conv2DForward: y[n,k,i,j] = Σ_{c,p,q} w[k,c,p,q]·x[n,c, i·sh+p−ph, j·sw+q−pw], zero outside x.
// x [N,C,H,W], w [K,C,KH,KW], y [N,K,Ho,Wo]; every y element is written.
//
// TILED (TW, TH, PY, KB, XS, WS): one work group per (n, block of KB output channels, tile of
// TW columns and TH·PY rows of y). Invocation (lj, li) computes the PY pixels (li + u·TH, lj),
// u < PY, for the KB channels: PY·KB sums in registers, KB a multiple of 4 held as vec4. For
// each input channel the group stages the input window of the tile (at most XS floats) and the
// KB filters of that channel (at most WS floats) in shared memory; the Go side checks the sizes.
// Each tap then costs KB/4 vec4 reads of filters and PY reads of x for PY·KB multiply-adds.
// That register blocking is what counts on GPUs, and even more on llvmpipe, where every shared
// or storage read is a loop over the lanes.
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
layout(std430, binding = 2) buffer Y { float y[]; };

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
// This dispatch sums input channels [P0, P1) only, into y (ADD_TO ≠ 0: added to what it holds): the
// Go side splits long sums over several dispatches (see convParts in conv.go).
layout(location = 13) uniform int P0;
layout(location = 14) uniform int P1;
layout(location = 15) uniform uint ADD_TO;

#ifdef TILED
#define KB4 (KB / 4)
shared float xs[XS];
shared vec4 ws[WS / 4]; // ws[tap·KB4 + m] = w[k0+4m … k0+4m+3, c, tap]

void main() {
	const int TILE_H = TH * PY;
	int tilesW = (Wo + TW - 1) / TW, tilesH = (Ho + TILE_H - 1) / TILE_H, kBlocks = (K + KB - 1) / KB;
	int IH = (TILE_H - 1) * sh + KH, IW = (TW - 1) * sw + KW; // input window of a tile
	int taps = KH * KW;
	int lj = int(gl_LocalInvocationID.x), li = int(gl_LocalInvocationID.y);
	int lid = int(gl_LocalInvocationIndex);
	FOR_EACH_GROUP(g, N * kBlocks * tilesH * tilesW) {
		int t = int(g);
		int tw = t % tilesW; t /= tilesW;
		int th = t % tilesH; t /= tilesH;
		int k0 = (t % kBlocks) * KB;
		int n = t / kBlocks;
		int i = th * TILE_H + li, j = tw * TW + lj; // the first of this invocation's pixels
		int r0 = th * TILE_H * sh - ph, c0 = tw * TW * sw - pw;
		vec4 acc[PY * KB4];
		for (int a = 0; a < PY * KB4; a++) {
			acc[a] = vec4(0.0);
		}
		for (int c = P0; c < P1; c++) {
			SYNC_SHARED(); // the previous channel (or item) is done with xs and ws
			int xbase = (n * C + c) * H * W;
			FOR_STRIDED(int, e, lid, IH * IW, TW * TH) {
				int r = r0 + e / IW, s = c0 + e % IW;
				xs[e] = (r >= 0 && r < H && s >= 0 && s < W) ? x[xbase + r * W + s] : 0.0;
			}
			FOR_STRIDED(int, e, lid, KB4 * taps, TW * TH) {
				int k = k0 + 4 * (e % KB4), tap = e / KB4;
				int wi = (k * C + c) * taps + tap, next = C * taps; // next: the same tap of k+1
				ws[e] = vec4(k < K ? w[wi] : 0.0, k + 1 < K ? w[wi + next] : 0.0,
					k + 2 < K ? w[wi + 2 * next] : 0.0, k + 3 < K ? w[wi + 3 * next] : 0.0);
			}
			SYNC_SHARED();
			// Invocations whose pixels all lie past the edge of y skip the work; the others
			// compute all PY pixels (their windows stay inside xs) and store the valid ones.
			if (i < Ho && j < Wo) {
				for (int p = 0; p < KH; p++) {
					int xrow = (li * sh + p) * IW + lj * sw;
					for (int q = 0; q < KW; q++) {
						vec4 wv[KB4];
						for (int m = 0; m < KB4; m++) {
							wv[m] = ws[(p * KW + q) * KB4 + m];
						}
						for (int u = 0; u < PY; u++) {
							float v = xs[xrow + u * TH * sh * IW + q];
							for (int m = 0; m < KB4; m++) {
								acc[u * KB4 + m] += wv[m] * v;
							}
						}
					}
				}
			}
		}
		for (int u = 0; u < PY; u++) {
			int iu = i + u * TH;
			if (iu < Ho && j < Wo) {
				for (int kk = 0; kk < KB && k0 + kk < K; kk++) {
					int yi = ((n * K + k0 + kk) * Ho + iu) * Wo + j;
					float v = acc[u * KB4 + kk / 4][kk % 4];
					y[yi] = ADD_TO != 0u ? y[yi] + v : v;
				}
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
		for (int c = P0; c < P1; c++) {
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
		y[e] = ADD_TO != 0u ? y[e] + acc : acc;
	}
}
#endif
