#version 430
// ShrinkRecurrence, steps T0 ≤ t < T1 of z^t = h(c + z^{t−1}·Sᵀ), z⁰ = 0, with h(v) = max(v − θ, 0)
// (ONE_SIDED) or sign(v)·max(|v| − θ, 0). zs [(T−1)·B, m] holds z¹ … z^{T−1} (z^t in rows
// (t−1)·B … t·B−1), code [B,m] holds z^T; c [B,m], S [m,m], θ [m].
//
// A work group owns ROWS consecutive samples and the units [u0, u0 + span) of one tile. With one
// tile (span = m) the group holds every unit of its samples, so it runs several steps in one
// dispatch with a barrier between them: step t reads z^{t−1} from zs, written by the whole group
// in the step before. With several tiles the Go side runs one step per dispatch.
//
// Each invocation computes one unit for the group's ROWS samples at once. The sum over k runs in
// chunks of KT: the group first stages S's rows of its LOCAL_SIZE units over the chunk (read
// along rows, so that neighbouring invocations read neighbouring addresses; padded to KT + 1 so
// that reading them back by unit meets no bank conflicts) and the ROWS samples' z^{t−1} over the
// chunk (as one vec4 per k), then every invocation sums from shared memory. Rows past the batch
// compute on the last sample and write nothing; units past the tile compute on its last unit and
// write nothing, so every loop has the same trip count in every invocation.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) coherent buffer Zs { float zs[]; };
layout(std430, binding = 1) writeonly buffer Code { float code[]; };
layout(std430, binding = 2) readonly buffer C { float c[]; };
layout(std430, binding = 3) readonly buffer S { float s[]; };
layout(std430, binding = 4) readonly buffer Theta { float theta[]; };

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

shared float tileS[LOCAL_SIZE * (KT + 1u)];
shared vec4 tileZ[KT];

float h(float v, float th) {
#ifdef ONE_SIDED
	return v > th ? v - th : 0.0;
#else
	float a = abs(v) - th;
	return a > 0.0 ? sign(v) * a : 0.0;
#endif
}

void main() {
	uint lid = gl_LocalInvocationIndex;
	uint per = (span + uint(LOCAL_SIZE) - 1u) / uint(LOCAL_SIZE);
	FOR_EACH_GROUP(grp, rowBlocks * tiles) {
		uint r0 = (grp / tiles) * ROWS;
		uint u0 = (grp % tiles) * span;
		uint u1 = min(m, u0 + span);
		uvec4 row = min(uvec4(r0, r0 + 1u, r0 + 2u, r0 + 3u), uvec4(B - 1u));
		bvec4 live = lessThan(uvec4(r0, r0 + 1u, r0 + 2u, r0 + 3u), uvec4(B));
		for (uint t = T0; t < T1; t++) {
			for (uint u = 0u; u < per; u++) {
				uint ubase = u0 + u * uint(LOCAL_SIZE);
				uint iu = ubase + lid;
				uint i = min(iu, u1 - 1u);
				vec4 acc = vec4(c[row.x * m + i], c[row.y * m + i], c[row.z * m + i], c[row.w * m + i]);
				if (t > 1u) {
					uvec4 o = ((t - 2u) * B + row) * m; // z^{t−1}
					for (uint k0 = 0u; k0 < m; k0 += KT) {
						for (uint q = 0u; q < KT; q++) {
							uint e = q * uint(LOCAL_SIZE) + lid;
							uint j = e / KT, k = k0 + e % KT;
							tileS[j * (KT + 1u) + e % KT] = k < m ? s[min(ubase + j, u1 - 1u) * m + k] : 0.0;
						}
						if (lid < ROWS * KT) {
							uint k = min(k0 + lid % KT, m - 1u);
							tileZ[lid % KT][lid / KT] = zs[o[lid / KT] + k];
						}
						SYNC_SHARED();
						uint kn = min(KT, m - k0);
						for (uint q = 0u; q < kn; q++) {
							acc += tileS[lid * (KT + 1u) + q] * tileZ[q];
						}
						SYNC_SHARED();
					}
				}
				float th = theta[i];
				vec4 z = vec4(h(acc.x, th), h(acc.y, th), h(acc.z, th), h(acc.w, th));
				if (iu < u1) {
					for (uint r = 0u; r < ROWS; r++) {
						if (!live[r]) {
							continue;
						}
						if (t < T) {
							zs[((t - 1u) * B + r0 + r) * m + i] = z[r];
						} else {
							code[(r0 + r) * m + i] = z[r];
						}
					}
				}
			}
			memoryBarrierBuffer();
			barrier();
		}
	}
}
