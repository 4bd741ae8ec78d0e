// Device side of the KV cache types (core/kv_quant.h), shared by kv_store, norm_rope and
// attention: byte offsets into f32 / bf16 / q8_0 cache rows, element loads widened to f32, and
// the q8_0 block quantizer with exactly the CPU codec's f32 operations (max |x|, d = amax / 127,
// id = 1 / d, round(x · id) half away from zero), so caches are byte-identical to cpu-ref's.
#pragma once

#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {

constexpr int64_t kKvQ8Block = 32;       // values per q8_0 block
constexpr int64_t kKvQ8BlockBytes = 34;  // f16 scale + 32 int8

// Bytes before element i of a cache of type t (i a block start, i % 32 == 0, for q8_0).
__host__ __device__ __forceinline__ int64_t kv_offset_bytes(KvType t, int64_t i) {
    return t == KvType::q8_0 ? i / kKvQ8Block * kKvQ8BlockBytes : i * (t == KvType::bf16 ? 2 : 4);
}

// Flat element e of a cache starting at `cache` (q8_0: block e / 32, value e % 32; blocks run
// along each slot's row [h_kv, D], so with D < 32 one block spans neighbouring heads), as f32
// (exact).
template <KvType T>
__device__ __forceinline__ float kv_load(const uint8_t * cache, int64_t e) {
    if constexpr (T == KvType::f32) {
        return reinterpret_cast<const float *>(cache)[e];
    } else if constexpr (T == KvType::bf16) {
        return gemma_bf16_to_f32(reinterpret_cast<const uint16_t *>(cache)[e]);
    } else {
        const uint8_t * b = cache + e / kKvQ8Block * kKvQ8BlockBytes;  // 2-byte aligned
        float d = gemma_f16_to_f32(*reinterpret_cast<const uint16_t *>(b));
        return float(int8_t(b[2 + e % kKvQ8Block])) * d;
    }
}

// 32 values -> one q8_0 block (34 bytes), by one thread.
__device__ __forceinline__ void kv_q8_0_quantize_block(const float * x, uint8_t * block) {
    float amax = 0.0f;
    for (int j = 0; j < kKvQ8Block; ++j) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *reinterpret_cast<uint16_t *>(block) = gemma_f32_to_f16(d);
    for (int j = 0; j < kKvQ8Block; ++j) {
        float q = fminf(127.0f, fmaxf(-127.0f, roundf(x[j] * id)));
        block[2 + j] = uint8_t(int8_t(q));
    }
}

// Element c of a cache row of type f32 or bf16 (not q8_0: that takes whole blocks) set to v.
__device__ __forceinline__ void kv_store_elem(uint8_t * row, int64_t c, KvType t, float v) {
    if (t == KvType::bf16)
        reinterpret_cast<uint16_t *>(row)[c] = gemma_f32_to_bf16(v);
    else
        reinterpret_cast<float *>(row)[c] = v;
}

}  // namespace gemma::cuda
