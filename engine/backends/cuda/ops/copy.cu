// copy: src -> dst with the same element count, converting between f32 / f16 / bf16 (round to
// nearest even), or a plain byte copy between tensors of one type (q8_0 KV rows too); dst may
// be a view into a larger tensor. transpose01: x [a, b, c] f32 ->
// out [b, a, c] (the two outer dims swapped; out never aliases x).
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

__global__ void copy_kernel(CopyParams p) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n;
         i += int64_t(gridDim.x) * blockDim.x)
        store_elem(p.dst, i, p.dtype, load_elem(p.src, i, p.stype));
}

// Thread per output element; consecutive threads walk c, so reads and writes stay coalesced.
__global__ void transpose01_kernel(Transpose01Params p) {
    int64_t total = p.a * p.b * p.c;
    for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total;
         o += int64_t(gridDim.x) * blockDim.x) {
        int64_t k = o % p.c, ji = o / p.c, i = ji % p.a, j = ji / p.a;  // out [j, i, k]
        p.out[o] = p.x[(i * p.b + j) * p.c + k];
    }
}

}  // namespace

LaunchResult launch_copy(const CopyParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    if (p.bytes > 0) {  // same type: a plain device copy
        gpuError_t e = gpuMemcpyAsync(p.dst, p.src, size_t(p.bytes), gpuMemcpyDeviceToDevice, s);
        return e == gpuSuccess ? nullptr : gpuGetErrorString(e);
    }
    copy_kernel<<<grid_blocks(p.n, 256, env), 256, 0, s>>>(p);
    return launch_error();
}

LaunchResult launch_transpose01(const Transpose01Params & p, gpuStream_t s, const LaunchEnv & env) {
    int64_t total = p.a * p.b * p.c;
    if (total == 0) return nullptr;
    transpose01_kernel<<<grid_blocks(total, 256, env), 256, 0, s>>>(p);
    return launch_error();
}

}  // namespace gemma::cuda
