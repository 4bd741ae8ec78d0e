// The audio conformer's activations (core/ops.h): activation x [n] -> silu(x) = x / (1 + e^−x) or
// relu(x) = max(x, 0) (out may alias x), and glu x [r, 2d] -> out [r, d] = x[:, :d] ⊙ σ(x[:, d:]),
// σ(z) = 1 / (1 + e^−z). Accurate expf (no fast math), the same expressions as cpu-ref.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

__device__ __forceinline__ float sigmoid_f32(float z) { return 1.0f / (1.0f + expf(-z)); }

__global__ void activation_kernel(ActivationParams p) {
    pdl_enter();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n;
         i += int64_t(gridDim.x) * blockDim.x) {
        const float v = p.x[i];
        p.out[i] = p.kind == ActKind::silu ? v / (1.0f + expf(-v)) : fmaxf(v, 0.0f);
    }
}

// out element i = (row r, column c): value x[r, c], gate x[r, d + c].
__global__ void glu_kernel(ActivationParams p) {
    pdl_enter();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t r = i / p.d, c = i % p.d;
        const float * row = p.x + r * 2 * p.d;
        p.out[i] = row[c] * sigmoid_f32(row[p.d + c]);
    }
}

}  // namespace

LaunchResult launch_activation(const ActivationParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    return launch_kernel(activation_kernel, grid_blocks(p.n, 256, env), 256, 0, s, env, p);
}

LaunchResult launch_glu(const ActivationParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    return launch_kernel(glu_kernel, grid_blocks(p.n, 256, env), 256, 0, s, env, p);
}

}  // namespace gemma::cuda
