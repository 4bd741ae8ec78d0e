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

// The block's 1 / rms from each thread's partial sum `ss` (all blockDim.x = norm_threads(d)
// threads call it; thread t's partial over j = t, t + T, ...): the warp butterfly, then every
// thread adds the warp sums in warp order from 0 (one barrier: the additions rms_norm's thread 0
// made for the whole block, repeated by each thread instead of a second barrier). Once per block:
// a second call could overwrite warp_sums while a slow warp still reads the first's.
__device__ __forceinline__ float block_inv_rms(float ss, int64_t d, float eps) {
    __shared__ float warp_sums[kNormMaxThreads / GEMMA_WARP];
    ss = gemma_warp_sum(ss);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    if (lane == 0) warp_sums[warp] = ss;
    __syncthreads();
    float total = 0.0f;
    for (int w = 0; w < int(blockDim.x) / GEMMA_WARP; ++w) total += warp_sums[w];
    return 1.0f / sqrtf(total / float(d) + eps);
}

// The same with the partials summed from x in memory.
__device__ __forceinline__ float block_row_inv_rms(const float * x, int64_t d, float eps) {
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) ss += x[j] * x[j];
    return block_inv_rms(ss, d, eps);
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

// warp_row_inv_rms of a row of D already in registers: v[k] = x[lane + warp · k] (k < D / warp;
// j = w · warp + l + i · T is k = w + i · T / warp). The block's warps' butterflies run
// interleaved (independent shuffles in flight), each the same as gemma_warp_sum.
template <int D>
__device__ __forceinline__ float warp_regs_inv_rms(const float (&v)[D / GEMMA_WARP], float eps) {
    constexpr int kN = D / GEMMA_WARP, kWarps = norm_threads(D) / GEMMA_WARP;
    float ss[kWarps];
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
        ss[w] = 0.0f;
#pragma unroll
        for (int k = w; k < kN; k += kWarps) ss[w] += v[k] * v[k];
    }
#pragma unroll
    for (int m = GEMMA_WARP / 2; m > 0; m >>= 1) {
#pragma unroll
        for (int w = 0; w < kWarps; ++w) ss[w] += gemma_shfl_xor(ss[w], m);
    }
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) total += ss[w];
    return 1.0f / sqrtf(total / float(D) + eps);
}

}  // namespace gemma::cuda
