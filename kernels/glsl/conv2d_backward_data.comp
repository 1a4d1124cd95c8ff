#version 430
// Conv2DBackwardData, the adjoint of Conv2DForward in x, as a gather (no atomics):
// dx[n,c,h,v] = Σ_{k,p,q} w[k,c,p,q]·dy[n,k,i,j] over the taps with h+ph−p = i·sh and
// v+pw−q = j·sw for an output pixel (i, j) inside y. Only taps p ≡ h+ph (mod sh) can hit a
// row of y, so the loops start there and step by the stride.
// dy [N,K,Ho,Wo], w [K,C,KH,KW], dx [N,C,H,W]; every dx element is written (also those no
// window reads: 0).
//
// TILED (TW, TH, CB): one work group per (n, block of CB input channels, TH×TW tile of dx),
// one invocation per dx pixel holding CB sums. For each output channel k the group stages the
// rows and columns of dy that the tile's taps reach, DH×DW floats, and w[k, block, :, :] in
// shared memory. The Go side checks that they fit XS and WS floats.
//
// Otherwise: one invocation per dx element, reading dy and w directly.
#ifdef TILED
layout(local_size_x = TW, local_size_y = TH) in;
#else
layout(local_size_x = LOCAL_SIZE) in;
#endif

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) writeonly buffer DX { float dx[]; };

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
shared float ys[XS];
shared float ws[WS];

void main() {
	int tilesW = (W + TW - 1) / TW, tilesH = (H + TH - 1) / TH, cBlocks = (C + CB - 1) / CB;
	// Rows of dy the taps of a tile of TH rows can reach: from ⌊(h0+ph−KH+1)/sh⌋ to
	// ⌊(h0+TH−1+ph)/sh⌋, at most DH of them (likewise columns).
	int DH = (TH + KH - 2) / sh + 2, DW = (TW + KW - 2) / sw + 2;
	int taps = KH * KW;
	int lv = int(gl_LocalInvocationID.x), lh = int(gl_LocalInvocationID.y);
	int lid = int(gl_LocalInvocationIndex);
	FOR_EACH_GROUP(g, N * cBlocks * tilesH * tilesW) {
		int t = int(g);
		int tw = t % tilesW; t /= tilesW;
		int th = t % tilesH; t /= tilesH;
		int c0 = (t % cBlocks) * CB;
		int n = t / cBlocks;
		int h = th * TH + lh, v = tw * TW + lv;
		// Floor division of a possibly negative numerator, kept non-negative by an offset
		// (GLSL leaves negative integer division unspecified).
		int i0 = (th * TH + ph - KH + 1 + sh * KH) / sh - KH;
		int j0 = (tw * TW + pw - KW + 1 + sw * KW) / sw - KW;
		// The first tap of this pixel that hits a row (column) of y, and that row's (column's)
		// place in the staged tile; each further tap moves one row (column) up (left).
		int p0 = (h + ph) % sh, q0 = (v + pw) % sw;
		int r0 = (h + ph - p0) / sh - i0, s0 = (v + pw - q0) / sw - j0;
		float acc[CB];
		for (int cc = 0; cc < CB; cc++) {
			acc[cc] = 0.0;
		}
		for (int k = 0; k < K; k++) {
			barrier(); // the previous channel (or item) is done with ys and ws
			int ybase = (n * K + k) * Ho * Wo;
			for (int e = lid; e < DH * DW; e += TW * TH) {
				int i = i0 + e / DW, j = j0 + e % DW;
				ys[e] = (i >= 0 && i < Ho && j >= 0 && j < Wo) ? dy[ybase + i * Wo + j] : 0.0;
			}
			for (int e = lid; e < CB * taps; e += TW * TH) {
				int c = c0 + e / taps;
				ws[e] = c < C ? w[(k * C + c) * taps + e % taps] : 0.0;
			}
			SYNC_SHARED();
			// Pixels past the edge of dx compute on staged values and are not stored.
			for (int p = p0, r = r0; p < KH; p += sh, r--) {
				for (int q = q0, s = s0; q < KW; q += sw, s--) {
					float d = ys[r * DW + s];
					int wi = p * KW + q;
					for (int cc = 0; cc < CB; cc++) {
						acc[cc] += ws[cc * taps + wi] * d;
					}
				}
			}
		}
		if (h < H && v < W) {
			for (int cc = 0; cc < CB && c0 + cc < C; cc++) {
				dx[((n * C + c0 + cc) * H + h) * W + v] = acc[cc];
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
		for (int k = 0; k < K; k++) {
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
		dx[e] = acc;
	}
}
#endif
