#version 430
// Transpose: dst[j,i] = src[i,j]; src is [rows, cols], dst [cols, rows]. One work group per
// TILE×TILE tile of src: the group reads the tile row by row into shared memory and writes it out
// row by row of dst, so that both the reads and the writes are coalesced. The tile has a padding
// column so that reading it by columns does not hit one shared-memory bank.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };

layout(location = 0) uniform uint rows;
layout(location = 1) uniform uint cols;

#define TILE 32u
#define TILE_ROWS (uint(LOCAL_SIZE) / TILE)
shared float tile[TILE][TILE + 1u];

void main() {
	uint tx = gl_LocalInvocationIndex % TILE;
	uint ty = gl_LocalInvocationIndex / TILE;
	uint tilesC = (cols + TILE - 1u) / TILE;
	uint tilesR = (rows + TILE - 1u) / TILE;
	FOR_EACH_GROUP(g, tilesR * tilesC) {
		uint r0 = (g / tilesC) * TILE;
		uint c0 = (g % tilesC) * TILE;
		FOR_STRIDED(uint, k, ty, TILE, TILE_ROWS) {
			uint r = r0 + k;
			uint c = c0 + tx;
			if (r < rows && c < cols) {
				tile[k][tx] = src[r * cols + c];
			}
		}
		SYNC_SHARED();
		FOR_STRIDED(uint, k, ty, TILE, TILE_ROWS) {
			uint j = c0 + k; // a row of dst: a column of src
			uint i = r0 + tx;
			if (j < cols && i < rows) {
				dst[j * rows + i] = tile[tx][k];
			}
		}
		SYNC_SHARED(); // before the next tile overwrites this one
	}
}
