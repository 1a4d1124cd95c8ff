#version 430
// ShrinkRecurrenceBackward, stages T0 ≥ t ≥ T1 of the backpropagation through ShrinkRecurrence:
// δ^T = delta, δ^t = g^{t+1}·S (t < T); g^t = δ^t ⊙ [z^t ≠ 0], stored (t ≥ 2) in g's rows of
// z^{t−1}, (t−2)·B … (t−1)·B−1; gsum (and gsign, with SIGNED) accumulate g^t (and sign(z^t)·g^t)
// from t = T down. zs and code are the forward's: z^t is in zs's rows (t−1)·B … for t < T, in
// code for t = T.
//
// Work groups as in shrink_recurrence.comp: ROWS samples and a tile of units each; with one tile
// a dispatch runs several stages with a barrier between them (stage t reads all of g^{t+1}),
// with several tiles one stage per dispatch. An invocation owns the same units in every stage,
// so gsum and gsign are read and written by one invocation only. The sum over j reads S[j, k]
// for the invocations' neighbouring units k, neighbouring addresses, straight from the buffer,
// and g^{t+1} of the ROWS samples staged in chunks of KT (one vec4 per j).
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) coherent buffer G { float g[]; };
layout(std430, binding = 1) buffer GSum { float gsum[]; };
layout(std430, binding = 2) readonly buffer Delta { float delta[]; };
layout(std430, binding = 3) readonly buffer Zs { float zs[]; };
layout(std430, binding = 4) readonly buffer Code { float code[]; };
layout(std430, binding = 5) readonly buffer S { float s[]; };
#ifdef SIGNED
layout(std430, binding = 6) buffer GSign { float gsign[]; };
#endif

layout(location = 0) uniform uint B;
layout(location = 1) uniform uint m;
layout(location = 2) uniform uint T;
layout(location = 3) uniform uint T0;
layout(location = 4) uniform uint T1;
layout(location = 5) uniform uint rowBlocks;
layout(location = 6) uniform uint tiles;
layout(location = 7) uniform uint span;

#define ROWS 4u
#define KT 16u

shared vec4 tileG[KT];

void main() {
	uint lid = gl_LocalInvocationIndex;
	uint per = (span + uint(LOCAL_SIZE) - 1u) / uint(LOCAL_SIZE);
	FOR_EACH_GROUP(grp, rowBlocks * tiles) {
		uint r0 = (grp / tiles) * ROWS;
		uint u0 = (grp % tiles) * span;
		uint u1 = min(m, u0 + span);
		uvec4 row = min(uvec4(r0, r0 + 1u, r0 + 2u, r0 + 3u), uvec4(B - 1u));
		bvec4 live = lessThan(uvec4(r0, r0 + 1u, r0 + 2u, r0 + 3u), uvec4(B));
		for (uint t = T0; t >= T1; t--) { // T1 ≥ 1
			for (uint u = 0u; u < per; u++) {
				uint iu = u0 + u * uint(LOCAL_SIZE) + lid;
				uint i = min(iu, u1 - 1u);
				vec4 d;
				vec4 z;
				if (t == T) {
					d = vec4(delta[row.x * m + i], delta[row.y * m + i], delta[row.z * m + i], delta[row.w * m + i]);
					z = vec4(code[row.x * m + i], code[row.y * m + i], code[row.z * m + i], code[row.w * m + i]);
				} else {
					d = vec4(0.0);
					uvec4 o = ((t - 1u) * B + row) * m; // g^{t+1}
					for (uint j0 = 0u; j0 < m; j0 += KT) {
						if (lid < ROWS * KT) {
							uint j = min(j0 + lid % KT, m - 1u);
							tileG[lid % KT][lid / KT] = g[o[lid / KT] + j];
						}
						SYNC_SHARED();
						uint jn = min(KT, m - j0);
						for (uint q = 0u; q < jn; q++) {
							d += s[(j0 + q) * m + i] * tileG[q];
						}
						SYNC_SHARED();
					}
					uvec4 zo = ((t - 1u) * B + row) * m + i;
					z = vec4(zs[zo.x], zs[zo.y], zs[zo.z], zs[zo.w]);
				}
				vec4 gv = vec4(z.x != 0.0 ? d.x : 0.0, z.y != 0.0 ? d.y : 0.0, z.z != 0.0 ? d.z : 0.0, z.w != 0.0 ? d.w : 0.0);
				if (iu < u1) {
					for (uint r = 0u; r < ROWS; r++) {
						if (!live[r]) {
							continue;
						}
						uint at = (r0 + r) * m + i;
						if (t >= 2u) {
							g[((t - 2u) * B + r0 + r) * m + i] = gv[r];
						}
						gsum[at] = t == T ? gv[r] : gv[r] + gsum[at];
#ifdef SIGNED
						float sg = sign(z[r]) * gv[r];
						gsign[at] = t == T ? sg : sg + gsign[at];
#endif
					}
				}
			}
			memoryBarrierBuffer();
			barrier();
		}
	}
}
