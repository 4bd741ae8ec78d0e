// layer_norm: x [rows, d] f32, w [d] (f32/f16/bf16, optional) -> out like x (may alias x):
// out = (x − mean) / sqrt(var + eps) ⊙ w, biased variance of the centred values (two passes,
// as cpu-ref). One block per row; each pass is per-thread partial sums, then a warp and a block
// reduction in f32.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 256;

// The sum of v over the block (every thread gets it). `scratch` holds one float per warp.
__device__ float block_sum(float v, float * scratch) {
    v = gemma_warp_sum(v);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.0f;
    for (int w = 0; w < int(blockDim.x) / GEMMA_WARP; ++w) total += scratch[w];
    __syncthreads();  // scratch is reused by the next reduction
    return total;
}

__global__ void layer_norm_kernel(LayerNormParams p) {
    pdl_enter();
    __shared__ float scratch[kThreads / GEMMA_WARP];
    const float * x = p.x + int64_t(blockIdx.x) * p.d;
    float * y = p.out + int64_t(blockIdx.x) * p.d;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) s += x[j];
    const float mean = block_sum(s, scratch) / float(p.d);
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) ss += (x[j] - mean) * (x[j] - mean);
    const float inv = 1.0f / sqrtf(block_sum(ss, scratch) / float(p.d) + p.eps);
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) {
        const float v = (x[j] - mean) * inv;
        y[j] = p.type == ElemType::none ? v : v * load_elem(p.w, j, p.type);
    }
}

}  // namespace

LaunchResult launch_layer_norm(const LayerNormParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.rows == 0) return nullptr;
    // Short rows (the subsampling's 32..128 channels) need fewer threads; whole warps.
    const int threads = p.d <= 64 ? 64 : p.d <= 128 ? 128 : kThreads;
    return launch_kernel(layer_norm_kernel, unsigned(p.rows), threads, 0, s, env, p);
}

}  // namespace gemma::cuda
