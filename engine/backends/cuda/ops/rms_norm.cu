// rms_norm: x [rows, d] f32, w [d] (f32/f16/bf16, optional) -> out like x (may alias x):
// out = x / sqrt(mean(x²) + eps) ⊙ w. Fused: one block per row computes the f32 sum of squares
// (per-thread partials, then a warp and a block reduction) and writes the scaled row. A per-head
// norm is this op on the [n·heads, head_dim] view.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rms_norm_kernel(RmsNormParams p) {
    pdl_enter();
    __shared__ float warp_sums[kThreads / GEMMA_WARP];
    __shared__ float inv_rms;
    const float * x = p.x + int64_t(blockIdx.x) * p.d;
    float * y = p.out + int64_t(blockIdx.x) * p.d;
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) ss += x[j] * x[j];
    ss = gemma_warp_sum(ss);
    int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    if (lane == 0) warp_sums[warp] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int w = 0; w < int(blockDim.x) / GEMMA_WARP; ++w) total += warp_sums[w];
        inv_rms = 1.0f / sqrtf(total / float(p.d) + p.eps);
    }
    __syncthreads();
    float inv = inv_rms;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) {
        float v = x[j] * inv;
        y[j] = p.type == ElemType::none ? v : v * load_elem(p.w, j, p.type);
    }
}

}  // namespace

LaunchResult launch_rms_norm(const RmsNormParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.rows == 0) return nullptr;
    // Short rows (per-head norms) need fewer threads; keep a whole number of warps.
    int threads = p.d <= 64 ? 64 : p.d <= 128 ? 128 : kThreads;
    return launch_kernel(rms_norm_kernel, unsigned(p.rows), threads, 0, s, env, p);
}

}  // namespace gemma::cuda
