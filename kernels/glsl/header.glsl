// header.glsl: shared by every shader; package gpu inserts it after the variant's #defines.

#ifndef LOCAL_SIZE
#define LOCAL_SIZE 256
#endif

// Work groups are numbered linearly over a 2D grid: the Go side splits a group count larger than
// GL_MAX_COMPUTE_WORK_GROUP_COUNT[0] into (x, y), and when even that is not enough the loops
// below stride over the rest, so no dispatch is ever silently short.
#define GROUP_ID (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x)
#define GROUP_COUNT (gl_NumWorkGroups.x * gl_NumWorkGroups.y)

// FOR_EACH_INDEX(i, n): grid-stride loop over 0 <= i < n for a dispatch of ceil(n/LOCAL_SIZE)
// groups of LOCAL_SIZE invocations (one element per invocation when the grid is large enough).
#define FOR_EACH_INDEX(i, n) \
	for (uint i = GROUP_ID * uint(LOCAL_SIZE) + gl_LocalInvocationIndex; i < uint(n); i += GROUP_COUNT * uint(LOCAL_SIZE))

// FOR_EACH_GROUP(g, n): loop over items 0 <= g < n with one work group per item (a row, a tile).
// g is the same for the whole group, so barrier() may be called inside.
#define FOR_EACH_GROUP(g, n) for (uint g = GROUP_ID; g < uint(n); g += GROUP_COUNT)

// FOR_STRIDED(T, i, first, n, step): for i = first, first+step, … < n, with the same number of
// iterations, ⌈n/step⌉, in every invocation (first < step); the body runs only where i < n.
// Loops that run before a barrier() must have the same trip count in every invocation: on
// NVIDIA's driver 580 a barrier after a loop whose trip count varied across the work group let
// some invocations through early (SoftmaxXent read a reduction's result after other invocations
// had overwritten it; see bench/RESULTS.md).
#define FOR_STRIDED(T, i, first, n, step) \
	for (T strided_k_ = T(0), i = T(first); strided_k_ < (T(n) + T(step) - T(1)) / T(step); strided_k_++, i += T(step)) \
		if (i < T(n))

// SYNC_SHARED: make shared-memory writes of the group visible and wait for every invocation.
#define SYNC_SHARED() { memoryBarrierShared(); barrier(); }

#ifdef GROUP_REDUCE
// Tree reductions over one work group of LOCAL_SIZE invocations (a power of two). Every
// invocation of the group must call them, in uniform control flow.
// groupMax has its own array, so that a groupSum right after it never overwrites the maximum
// before every invocation has read it.
shared float reduce_[LOCAL_SIZE];
shared float reduceMax_[LOCAL_SIZE];

float groupSum(float v) {
	uint t = gl_LocalInvocationIndex;
	reduce_[t] = v;
	SYNC_SHARED();
	for (uint s = uint(LOCAL_SIZE) / 2u; s > 0u; s >>= 1) {
		if (t < s) {
			reduce_[t] += reduce_[t + s];
		}
		SYNC_SHARED();
	}
	float r = reduce_[0];
	SYNC_SHARED();
	return r;
}

float groupMax(float v) {
	uint t = gl_LocalInvocationIndex;
	reduceMax_[t] = v;
	SYNC_SHARED();
	for (uint s = uint(LOCAL_SIZE) / 2u; s > 0u; s >>= 1) {
		if (t < s) {
			reduceMax_[t] = max(reduceMax_[t], reduceMax_[t + s]);
		}
		SYNC_SHARED();
	}
	float r = reduceMax_[0];
	SYNC_SHARED();
	return r;
}
#endif

#ifdef COLUMN_REDUCE
// Column blocks: a work group of LOCAL_SIZE invocations covers COL_BLOCK consecutive columns with
// COL_LANES invocations per column (lane = invocation / COL_BLOCK), so that neighbouring
// invocations read neighbouring addresses of a row-major matrix.
#define COL_BLOCK 32u
#define COL_LANES (uint(LOCAL_SIZE) / COL_BLOCK)
shared float columnReduce_[LOCAL_SIZE];

// columnSum returns, to every invocation, the sum of v over the lanes of its column. Every
// invocation of the group must call it, in uniform control flow.
float columnSum(float v) {
	uint t = gl_LocalInvocationIndex;
	columnReduce_[t] = v;
	SYNC_SHARED();
	for (uint s = COL_LANES / 2u; s > 0u; s >>= 1) {
		if (t < s * COL_BLOCK) {
			columnReduce_[t] += columnReduce_[t + s * COL_BLOCK];
		}
		SYNC_SHARED();
	}
	float r = columnReduce_[t % COL_BLOCK];
	SYNC_SHARED();
	return r;
}
#endif

// IS_NAN(v): whether v is a NaN, from its bits, so that no compiler can fold it away (GLSL does not
// require isnan() to work, nor comparisons with NaN to be false).
#define IS_NAN(v) ((floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u)

// NAN: a quiet NaN, for results the contract defines as NaN.
#define NAN uintBitsToFloat(0x7fc00000u)
// NEG_INF: −∞, the identity of max.
#define NEG_INF uintBitsToFloat(0xff800000u)
