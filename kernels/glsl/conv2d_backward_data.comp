#version 430
// Conv2DBackwardData, the adjoint of Conv2DForward in x, as a gather (no atomics):
// dx[n,c,h,v] = Σ_{k,p,q} w[k,c,p,q]·dy[n,k,i,j] over the taps with h+ph−p = i·sh and
// v+pw−q = j·sw for an output pixel (i, j) inside y. Only taps p ≡ h+ph (mod sh) can hit a
// row of y, so the loops start there and step by the stride.
// dy [N,K,Ho,Wo], w [K,C,KH,KW], dx [N,C,H,W]; every dx element is written (also those no
// window reads: 0).
//
// TILED (TW, TH, PY, PX, CB, XS, WS): one work group per (n, block of CB input channels, tile
// of TW·PX columns and TH·PY rows of dx). Invocation (lv, lh) computes the PY·PX pixels
// (lh + u·TH, lv·PX + m), u < PY, m < PX, for the CB channels: PY·PX·CB sums in registers.
// The sum over k runs four channels at a time as vec4 dot products: for each four output
// channels the group stages in shared memory the rows and columns of dy that the taps of the
// tile reach (at most XS/4 vec4) and the filters w[k…k+3, block, :, :] (at most WS/4 vec4); the
// Go side checks the sizes. Each tap then costs CB + PY vec4 reads for 4·CB·PY·PX
// multiply-adds, also when C is 1 (the reconstruction of a convolutional sparse code). The rows
// of an invocation are TH apart so that they share their taps, which needs TH to be a multiple
// of sh; its columns are adjacent and share a sliding window of dy, which needs sw = 1. The Go
// side takes PY = 1 or PX = 1 otherwise.
//
// Otherwise: one invocation per dx element, reading dy and w directly.
#ifdef TILED
layout(local_size_x = TW, local_size_y = TH) in;
#else
layout(local_size_x = LOCAL_SIZE) in;
#endif

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

#ifdef TILED
shared vec4 ys[XS / 4]; // ys[e] = dy[n, k…k+3, i0 + e/DW, j0 + e%DW]
shared vec4 ws[WS / 4]; // ws[cc·taps + tap] = w[k…k+3, c0+cc, tap]

void main() {
	const int TILE_H = TH * PY, TILE_W = TW * PX;
	int tilesW = (W + TILE_W - 1) / TILE_W, tilesH = (H + TILE_H - 1) / TILE_H, cBlocks = (C + CB - 1) / CB;
	// Rows of dy the taps of a tile of TILE_H rows reach: from ⌊(h0+ph−KH+1)/sh⌋ to
	// ⌊(h0+TILE_H−1+ph)/sh⌋, at most ⌈(TILE_H+KH−2)/sh⌉ + 1 of them (likewise columns).
	int DH = (TILE_H + KH - 2 + sh - 1) / sh + 1, DW = (TILE_W + KW - 2 + sw - 1) / sw + 1;
	int taps = KH * KW, plane = Ho * Wo;
	int lv = int(gl_LocalInvocationID.x), lh = int(gl_LocalInvocationID.y);
	int lid = int(gl_LocalInvocationIndex);
	FOR_EACH_GROUP(g, N * cBlocks * tilesH * tilesW) {
		int t = int(g);
		int tw = t % tilesW; t /= tilesW;
		int th = t % tilesH; t /= tilesH;
		int c0 = (t % cBlocks) * CB;
		int n = t / cBlocks;
		// This invocation's pixels: rows h + u·TH (u < PY), columns v + m (m < PX).
		int h = th * TILE_H + lh, v = tw * TILE_W + lv * PX;
		// Floor division of a possibly negative numerator, kept non-negative by an offset
		// (GLSL leaves integer division of negative numbers unspecified).
		int i0 = (th * TILE_H + ph - KH + 1 + sh * KH) / sh - KH;
		int j0 = (tw * TILE_W + pw - KW + 1 + sw * KW) / sw - KW;
		// The first tap of pixel (h, v) that hits a row (column) of y, and that row's (column's)
		// place in the staged tile; each further tap moves one row (column) up (left). Pixel u
		// sits TH/sh staged rows below pixel 0; with PX > 1 (sw = 1) pixel m sits m columns
		// right of pixel 0.
		int p0 = (h + ph) % sh, q0 = (v + pw) % sw;
		int r0 = (h + ph - p0) / sh - i0, s0 = (v + pw - q0) / sw - j0;
		float acc[PY * PX * CB];
		for (int a = 0; a < PY * PX * CB; a++) {
			acc[a] = 0.0;
		}
		for (int k = P0; k < P1; k += 4) {
			SYNC_SHARED(); // the previous channels (or item) are done with ys and ws
			FOR_STRIDED(int, e, lid, DH * DW, TW * TH) {
				int i = i0 + e / DW, j = j0 + e % DW;
				bool in_y = i >= 0 && i < Ho && j >= 0 && j < Wo;
				int yi = (n * K + k) * plane + i * Wo + j;
				ys[e] = vec4(in_y ? dy[yi] : 0.0, in_y && k + 1 < K ? dy[yi + plane] : 0.0,
					in_y && k + 2 < K ? dy[yi + 2 * plane] : 0.0, in_y && k + 3 < K ? dy[yi + 3 * plane] : 0.0);
			}
			FOR_STRIDED(int, e, lid, CB * taps, TW * TH) {
				int c = c0 + e / taps;
				int wi = (k * C + c) * taps + e % taps, next = C * taps; // next: the same tap of k+1
				ws[e] = c >= C ? vec4(0.0) : vec4(w[wi], k + 1 < K ? w[wi + next] : 0.0,
					k + 2 < K ? w[wi + 2 * next] : 0.0, k + 3 < K ? w[wi + 3 * next] : 0.0);
			}
			SYNC_SHARED();
			// Invocations whose pixels all lie past the edge of dx skip the work; the others
			// compute all their pixels (their taps stay inside ys) and store the valid ones.
			if (h < H && v < W) {
				for (int p = p0, r = r0; p < KH; p += sh, r--) {
#if PX > 1
					// Stride 1 across: pixel m at tap q reads the column pixel m−1 read at
					// tap q−1, so a window of PX values per row slides left by one column per
					// tap, one new read per row and tap.
					vec4 win[PY * PX];
					for (int u = 0; u < PY; u++) {
						for (int m = 0; m < PX; m++) {
							win[u * PX + m] = ys[(r + u * (TH / sh)) * DW + s0 + m];
						}
					}
					for (int q = 0; q < KW; q++) {
						if (q > 0) {
							for (int u = 0; u < PY; u++) {
								for (int m = PX - 1; m > 0; m--) {
									win[u * PX + m] = win[u * PX + m - 1];
								}
								win[u * PX] = ys[(r + u * (TH / sh)) * DW + s0 - q];
							}
						}
						for (int cc = 0; cc < CB; cc++) {
							vec4 wv = ws[cc * taps + p * KW + q];
							for (int a = 0; a < PY * PX; a++) {
								acc[a * CB + cc] += dot(wv, win[a]);
							}
						}
					}
#else
					for (int q = q0, s = s0; q < KW; q += sw, s--) {
						vec4 wv[CB];
						for (int cc = 0; cc < CB; cc++) {
							wv[cc] = ws[cc * taps + p * KW + q];
						}
						for (int u = 0; u < PY; u++) {
							vec4 d = ys[(r + u * (TH / sh)) * DW + s];
							for (int cc = 0; cc < CB; cc++) {
								acc[u * CB + cc] += dot(wv[cc], d);
							}
						}
					}
#endif
				}
			}
		}
		for (int u = 0; u < PY; u++) {
			for (int m = 0; m < PX; m++) {
				int hu = h + u * TH, vm = v + m;
				if (hu < H && vm < W) {
					for (int cc = 0; cc < CB && c0 + cc < C; cc++) {
						int xi = ((n * C + c0 + cc) * H + hu) * W + vm;
						float a = acc[(u * PX + m) * CB + cc];
						dx[xi] = ADD_TO != 0u ? dx[xi] + a : a;
					}
				}
			}
		}
	}
}
#else
void main() {
	FOR_EACH_INDEX(e, N * C * H * W) {
		int t = int(e);
		int v = t % W; t /= W;
		int h = t % H; t /= H;
		int c = t % C;
		int n = t / C;
		int p0 = (h + ph) % sh, q0 = (v + pw) % sw;
		float acc = 0.0;
		for (int k = P0; k < P1; k++) {
			int ybase = (n * K + k) * Ho * Wo, wbase = (k * C + c) * KH * KW;
			// i = (h+ph−p)/sh, exact; it falls by one per step and is negative once p > h+ph.
			for (int p = p0, i = (h + ph - p0) / sh; p < KH && i >= 0; p += sh, i--) {
				if (i >= Ho) {
					continue;
				}
				for (int q = q0, j = (v + pw - q0) / sw; q < KW && j >= 0; q += sw, j--) {
					if (j < Wo) {
						acc += w[wbase + p * KW + q] * dy[ybase + i * Wo + j];
					}
				}
			}
		}
		dx[e] = ADD_TO != 0u ? dx[e] + acc : acc;
	}
}
#endif
