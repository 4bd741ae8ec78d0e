// row_fuse: the fused tail of a decoder sub-block (launch.h RowFuseParams), one block per row of
// d: a = rms_norm(a, w1); h_out = (h_in + a) · scalar; x = rms_norm(h_out, w2). Each thread owns
// the same elements in every phase, and the sums of squares use rms_norm.cu's thread count and
// reduction order, so the result equals the unfused kernels bit for bit.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 256;

// 1 / sqrt(mean + eps) of the per-thread partial sums `ss` over a row of d (all threads).
__device__ float block_inv_rms(float ss, int64_t d, float eps, float * warp_sums) {
    __shared__ float inv_rms;
    ss = gemma_warp_sum(ss);
    int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    if (lane == 0) warp_sums[warp] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int w = 0; w < int(blockDim.x) / GEMMA_WARP; ++w) total += warp_sums[w];
        inv_rms = 1.0f / sqrtf(total / float(d) + eps);
    }
    __syncthreads();
    float inv = inv_rms;
    __syncthreads();  // warp_sums and inv_rms may be reused by the next call
    return inv;
}

__global__ void __launch_bounds__(kThreads) row_fuse_kernel(RowFuseParams p) {
    pdl_enter();
    __shared__ float warp_sums[kThreads / GEMMA_WARP];
    const int64_t off = int64_t(blockIdx.x) * p.d;
    float * a = p.a + off;
    const float * h_in = p.h_in + off;
    float * h_out = p.h_out + off;
    float inv1 = 1.0f;
    if (p.norm1) {
        float ss = 0.0f;
        for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) ss += a[j] * a[j];
        inv1 = block_inv_rms(ss, p.d, p.eps1, warp_sums);
    }
    float scale = p.scalar ? load_elem(p.scalar, 0, p.scalar_type) : 1.0f;
    float ss2 = 0.0f;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) {
        float v = a[j];
        if (p.norm1) {
            v = v * inv1;
            if (p.w1_type != ElemType::none) v = v * load_elem(p.w1, j, p.w1_type);
            a[j] = v;
        }
        float h = h_in[j] + v;
        if (p.scalar) h = h * scale;
        h_out[j] = h;
        ss2 += h * h;
    }
    if (!p.x) return;  // uniform over the block
    float inv2 = block_inv_rms(ss2, p.d, p.eps2, warp_sums);
    float * x = p.x + off;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) {
        float v = h_out[j] * inv2;
        x[j] = p.w2_type == ElemType::none ? v : v * load_elem(p.w2, j, p.w2_type);
    }
}

}  // namespace

LaunchResult launch_row_fuse(const RowFuseParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.rows == 0) return nullptr;
    int threads = p.d <= 64 ? 64 : p.d <= 128 ? 128 : kThreads;  // as rms_norm.cu
    return launch_kernel(row_fuse_kernel, unsigned(p.rows), threads, 0, s, env, p);
}

}  // namespace gemma::cuda
