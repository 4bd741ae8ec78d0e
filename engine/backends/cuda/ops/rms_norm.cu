// rms_norm: x [rows, d] f32, w [d] (f32/f16/bf16, optional) -> out like x (may alias x):
// out = x / sqrt(mean(x²) + eps) ⊙ w. Fused: one block per row computes the f32 sum of squares
// (per-thread partials, then a warp and a block reduction) and writes the scaled row. A per-head
// norm is this op on the [n·heads, head_dim] view.
#include "backends/cuda/ops/rms_rows.cuh"

namespace gemma::cuda {
namespace {

__global__ void rms_norm_kernel(RmsNormParams p) {
    pdl_enter();
    const float * x = p.x + int64_t(blockIdx.x) * p.d;
    float * y = p.out + int64_t(blockIdx.x) * p.d;
    const float inv = block_row_inv_rms(x, p.d, p.eps);
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) {
        float v = x[j] * inv;
        y[j] = p.type == ElemType::none ? v : v * load_elem(p.w, j, p.type);
    }
}

}  // namespace

LaunchResult launch_rms_norm(const RmsNormParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.rows == 0) return nullptr;
    return launch_kernel(rms_norm_kernel, unsigned(p.rows), norm_threads(p.d), 0, s, env, p);
}

}  // namespace gemma::cuda
