// kv_store: k, v [n, h_kv, D] f32, positions [n] i32 -> k_cache, v_cache [S, h_kv, D] f32,
// row i written into slot positions[i] mod S (a ring buffer when S < context). Positions are
// read on the device, so a decode step's launch is identical at every position (graph replay).
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

__global__ void kv_store_kernel(KvStoreParams p) {
    pdl_enter();
    int64_t total = p.n * p.row;
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
         idx += int64_t(gridDim.x) * blockDim.x) {
        int64_t t = idx / p.row, j = idx % p.row;
        int64_t pos = p.positions[t];
        int64_t slot = ((pos % p.slots) + p.slots) % p.slots;  // a negative position stays in range
        p.k_cache[slot * p.row + j] = p.k[idx];
        p.v_cache[slot * p.row + j] = p.v[idx];
    }
}

}  // namespace

LaunchResult launch_kv_store(const KvStoreParams & p, gpuStream_t s, const LaunchEnv & env) {
    int64_t total = p.n * p.row;
    if (total == 0) return nullptr;
    return launch_kernel(kv_store_kernel, grid_blocks(total, 256, env), 256, 0, s, env, p);
}

}  // namespace gemma::cuda
