// kv_store: k, v [n, h_kv, D] f32, positions [n] i32 -> k_cache, v_cache [S, h_kv, D] of an f32,
// bf16 or q8_0 cache, row i written into slot positions[i] mod S (a ring buffer when
// S < context). One work item per value (f32, bf16) or per 32-value q8_0 block (ops/kv_quant.cuh).
// Positions are read on the device, so a decode step's launch is identical at every position
// (graph replay).
#include "backends/cuda/ops/kv_quant.cuh"

namespace gemma::cuda {
namespace {

int64_t values_per_item(KvType t) { return t == KvType::q8_0 ? kKvQ8Block : 1; }

__device__ __forceinline__ void store_item(KvType t, const float * src, uint8_t * row, int64_t j) {
    if (t == KvType::q8_0)
        kv_q8_0_quantize_block(src + j, row + kv_offset_bytes(t, j));
    else
        kv_store_elem(row, j, t, src[j]);
}

__global__ void kv_store_kernel(KvStoreParams p) {
    pdl_enter();
    const int64_t per = p.type == KvType::q8_0 ? kKvQ8Block : 1;
    const int64_t items = p.row / per, total = p.n * items;
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
         idx += int64_t(gridDim.x) * blockDim.x) {
        int64_t t = idx / items, j = (idx % items) * per;
        int64_t pos = p.positions[t];
        int64_t slot = ((pos % p.slots) + p.slots) % p.slots;  // a negative position stays in range
        int64_t at = kv_offset_bytes(p.type, slot * p.row);
        store_item(p.type, p.k + t * p.row, static_cast<uint8_t *>(p.k_cache) + at, j);
        store_item(p.type, p.v + t * p.row, static_cast<uint8_t *>(p.v_cache) + at, j);
    }
}

}  // namespace

LaunchResult launch_kv_store(const KvStoreParams & p, gpuStream_t s, const LaunchEnv & env) {
    int64_t total = p.n * (p.row / values_per_item(p.type));
    if (total == 0) return nullptr;
    return launch_kernel(kv_store_kernel, grid_blocks(total, 256, env), 256, 0, s, env, p);
}

}  // namespace gemma::cuda
