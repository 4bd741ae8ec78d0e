// The audio tower's convolution helpers (core/ops.h), one thread per output element:
// conv1d_dw: x [n, c], w [c, k] -> out[t, ch] = Σ_j w[ch, j] · x[t − (k − 1) + j, ch] (x[< 0] = 0),
//   summed in j order in f32 as cpu-ref;
// im2col: x [h, w, c] (channel last) -> out [ho·wo, c·kh·kw], zero outside the image.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

__global__ void conv1d_dw_kernel(Conv1dDwParams p) {
    pdl_enter();
    const int64_t total = p.n * p.c;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t t = i / p.c, ch = i % p.c;
        float s = 0.0f;
        for (int64_t j = 0; j < p.k; ++j) {
            const int64_t src = t - (p.k - 1) + j;
            if (src >= 0) s += load_elem(p.w, ch * p.k + j, p.wtype) * p.x[src * p.c + ch];
        }
        p.out[i] = s;
    }
}

// Output element i = (patch row, column col); col = (ci·kh + ky)·kw + kx.
__global__ void im2col_kernel(Im2colParams p) {
    pdl_enter();
    const int64_t taps = int64_t(p.kh) * p.kw, cols = p.c * taps, total = p.ho * p.wo * cols;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t row = i / cols, col = i % cols;
        const int64_t oy = row / p.wo, ox = row % p.wo;
        const int64_t ci = col / taps, tap = col % taps;
        const int64_t iy = oy * p.stride - p.pad + tap / p.kw;
        const int64_t ix = ox * p.stride - p.pad + tap % p.kw;
        const bool inside = iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
        p.out[i] = inside ? p.x[(iy * p.w + ix) * p.c + ci] : 0.0f;
    }
}

}  // namespace

LaunchResult launch_conv1d_dw(const Conv1dDwParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n * p.c == 0) return nullptr;
    return launch_kernel(conv1d_dw_kernel, grid_blocks(p.n * p.c, 256, env), 256, 0, s, env, p);
}

LaunchResult launch_im2col(const Im2colParams & p, gpuStream_t s, const LaunchEnv & env) {
    const int64_t total = p.ho * p.wo * p.c * p.kh * p.kw;
    if (total == 0) return nullptr;
    return launch_kernel(im2col_kernel, grid_blocks(total, 256, env), 256, 0, s, env, p);
}

}  // namespace gemma::cuda
