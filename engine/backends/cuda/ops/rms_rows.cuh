// 1 / sqrt(mean(x²) + eps) of a row of d, summed in rms_norm's order (ops/rms_norm.cu), by the
// block of norm_threads(d) threads that rms_norm launches per row, or replayed bit for bit by one
// warp (ops/norm_rope.cu): the per-head norms fused into norm_rope equal the unfused rms_norm.
#pragma once

#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {

// rms_norm's threads per row of d: a whole number of warps, fewer for short (per-head) rows.
__host__ __device__ constexpr int norm_threads(int64_t d) {
    return d <= 64 ? 64 : d <= 128 ? 128 : 256;
}
constexpr int kNormMaxThreads = 256;

// The block's sum (all blockDim.x = norm_threads(d) threads call it): per-thread partials over
// j = t, t + T, ..., the warp butterfly, then thread 0 adds the warp sums in warp order from 0.
__device__ __forceinline__ float block_row_inv_rms(const float * x, int64_t d, float eps) {
    __shared__ float warp_sums[kNormMaxThreads / GEMMA_WARP];
    __shared__ float inv_rms;
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) ss += x[j] * x[j];
    ss = gemma_warp_sum(ss);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    if (lane == 0) warp_sums[warp] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int w = 0; w < int(blockDim.x) / GEMMA_WARP; ++w) total += warp_sums[w];
        inv_rms = 1.0f / sqrtf(total / float(d) + eps);
    }
    __syncthreads();
    return inv_rms;
}

// The same sum by one warp (no block barrier): lane l plays thread w · warp + l of each of the
// block's warps w in turn (its partial over j = w · warp + l + i · T, the same butterfly), and
// the warp sums are added in warp order from 0: the same f32 operations in the same order.
__device__ __forceinline__ float warp_row_inv_rms(const float * x, int64_t d, float eps) {
    const int T = norm_threads(d), lane = threadIdx.x % GEMMA_WARP;
    float total = 0.0f;
    for (int w = 0; w < T / GEMMA_WARP; ++w) {
        float ss = 0.0f;
        for (int64_t j = w * GEMMA_WARP + lane; j < d; j += T) ss += x[j] * x[j];
        total += gemma_warp_sum(ss);
    }
    return 1.0f / sqrtf(total / float(d) + eps);
}

}  // namespace gemma::cuda
