// rope: x [n, h, D] f32, positions [n] i32, freqs [D/2] f32 -> out like x (may alias x).
// NeoX pairing: θ = pos·freqs[i] (f32 product, as cpu-ref), y[i] = x[i]cosθ − x[i+D/2]sinθ,
// y[i+D/2] = x[i+D/2]cosθ + x[i]sinθ. sincosf is the accurate one (full range reduction): angles
// reach 1e5 rad at long contexts, where fast sin/cos lose all precision.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

// One thread per (token, head, pair); each reads and writes its own pair, so aliasing is safe.
__global__ void rope_kernel(RopeParams p) {
    pdl_enter();
    int64_t half = p.d / 2, total = p.n * p.h * half;
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
         idx += int64_t(gridDim.x) * blockDim.x) {
        int64_t i = idx % half, th = idx / half, t = th / p.h;
        float theta = float(p.positions[t]) * p.freqs[i];
        float sn, cs;
        sincosf(theta, &sn, &cs);
        int64_t base = th * p.d;
        float a = p.x[base + i], b = p.x[base + i + half];
        p.out[base + i] = a * cs - b * sn;
        p.out[base + i + half] = b * cs + a * sn;
    }
}

}  // namespace

LaunchResult launch_rope(const RopeParams & p, gpuStream_t s, const LaunchEnv & env) {
    int64_t total = p.n * p.h * (p.d / 2);
    if (total == 0) return nullptr;
    return launch_kernel(rope_kernel, grid_blocks(total, 256, env), 256, 0, s, env, p);
}

}  // namespace gemma::cuda
