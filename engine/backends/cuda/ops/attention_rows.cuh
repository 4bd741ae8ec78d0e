// Helpers shared by the prefill attention kernels (ops/attention_tc.cu, ops/attention_fa.cu):
// which keys a query row may see (ring slots, sliding window, bidirectional blocks; mirrors
// attention.cu and cpu-ref) and cache elements widened to f32 four at a time.
#pragma once

#include "backends/cuda/ops/kv_quant.cuh"

namespace gemma::cuda {

// The keys one query row may see: [lo, hi], of which keys past pos only inside `block`.
struct RowKeys {
    int64_t lo, hi, pos;
    int32_t block;
};

// Row keys of chunk index i; rows past the chunk (i >= n, block padding) see nothing. A row in
// a bidirectional block may see up to the chunk's last key (its block's end is not looked up);
// a causal row only up to its own position, so a tile of causal rows after an image stops at
// its last row (blocks are contiguous runs: a block that holds an earlier row of the tile ended
// before the tile's last causal row).
__device__ __forceinline__ RowKeys row_keys(const AttentionParams & p, int64_t i) {
    if (i >= p.n) return {1, 0, 0, -1};  // padding row: nothing visible
    int64_t pos = p.positions[i], last = int64_t(p.positions[0]) + p.n - 1;
    int64_t lo = p.window > 0 ? max(int64_t(0), pos - p.window + 1) : 0;
    lo = max(lo, last - p.slots + 1);
    const int32_t block = p.block_ids ? p.block_ids[i] : -1;
    return {lo, block >= 0 ? last : pos, pos, block};
}

// Whether row r sees key t; the block id of key t is read only when the rule needs it.
__device__ __forceinline__ bool visible(const AttentionParams & p, const RowKeys & r, int64_t t) {
    if (t < r.lo || t > r.hi) return false;
    if (t <= r.pos) return true;
    return r.block >= 0 && p.block_ids[t - p.positions[0]] == r.block;
}

// The same rule with key t's block id kbt already at hand (attention_fa stages them per tile).
__device__ __forceinline__ bool visible_kb(const RowKeys & r, int64_t t, int32_t kbt) {
    if (t < r.lo || t > r.hi) return false;
    return t <= r.pos || (r.block >= 0 && kbt == r.block);
}

// Two floats as f16x2 (a in the low half, the lower index of a register pair).
__device__ __forceinline__ uint32_t pack_f16x2(float a, float b) {
    return uint32_t(gemma_f32_to_f16(a)) | (uint32_t(gemma_f32_to_f16(b)) << 16);
}

// Flat cache elements [e, e + 4) as f32: one 16-byte load for f32 caches, else widened one by one.
__device__ __forceinline__ float4 load4(KvType type, const void * cache, int64_t e) {
    const uint8_t * c = static_cast<const uint8_t *>(cache);
    switch (type) {
        case KvType::bf16:
            return make_float4(kv_load<KvType::bf16>(c, e), kv_load<KvType::bf16>(c, e + 1),
                               kv_load<KvType::bf16>(c, e + 2), kv_load<KvType::bf16>(c, e + 3));
        case KvType::q8_0:
            return make_float4(kv_load<KvType::q8_0>(c, e), kv_load<KvType::q8_0>(c, e + 1),
                               kv_load<KvType::q8_0>(c, e + 2), kv_load<KvType::q8_0>(c, e + 3));
        default:
            return *reinterpret_cast<const float4 *>(static_cast<const float *>(cache) + e);
    }
}

}  // namespace gemma::cuda
