// Helpers shared by the kernels in ops/*.cu: typed element loads/stores of raw weight storage,
// launch-error capture and grid sizing. Device code here uses only compat/gpu.h names.
#pragma once

#include "backends/cuda/compat/gpu.h"
#include "backends/cuda/ops/launch.h"

namespace gemma::cuda {

// Element i of a float-like array of type t, as f32 (bf16/f16 upcast exactly).
__device__ __forceinline__ float load_elem(const void * p, int64_t i, ElemType t) {
    switch (t) {
        case ElemType::f32:
            return static_cast<const float *>(p)[i];
        case ElemType::bf16:
            return gemma_bf16_to_f32(static_cast<const uint16_t *>(p)[i]);
        case ElemType::f16:
            return gemma_f16_to_f32(static_cast<const uint16_t *>(p)[i]);
        default:
            return 0.0f;
    }
}

// Asks L2 for the d elements of a float-like array of type t (none: nothing), one cache line per
// thread of the block. For weights before gemma_pdl_wait(): no earlier kernel writes them.
__device__ __forceinline__ void prefetch_row_l2(const void * p, int64_t d, ElemType t) {
    if (t == ElemType::none || !p) return;
    const int64_t bytes = d * (t == ElemType::f32 ? 4 : 2);
    for (int64_t b = int64_t(threadIdx.x) * 128; b < bytes; b += int64_t(blockDim.x) * 128)
        gemma_prefetch_l2(static_cast<const char *>(p) + b);
}

// Stores v into element i, rounding to nearest even for 16-bit types.
__device__ __forceinline__ void store_elem(void * p, int64_t i, ElemType t, float v) {
    switch (t) {
        case ElemType::f32:
            static_cast<float *>(p)[i] = v;
            break;
        case ElemType::bf16:
            static_cast<uint16_t *>(p)[i] = gemma_f32_to_bf16(v);
            break;
        case ElemType::f16:
            static_cast<uint16_t *>(p)[i] = gemma_f32_to_f16(v);
            break;
        default:
            break;
    }
}

// gelu_tanh(z) = 0.5 z (1 + tanh(√(2/π)(z + 0.044715 z³))) with the accurate tanhf, as cpu-ref.
__device__ __forceinline__ float gelu_tanh_f32(float a) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    return 0.5f * a * (1.0f + tanhf(k * (a + 0.044715f * a * a * a)));
}

// nullptr when the last launch on this thread succeeded, else the runtime's message.
inline LaunchResult launch_error() {
    gpuError_t e = gpuGetLastError();
    return e == gpuSuccess ? nullptr : gpuGetErrorString(e);
}

// nullptr when a launch call returned success, else the runtime's message (error cleared).
inline LaunchResult launch_result(gpuError_t e) {
    if (e == gpuSuccess) return nullptr;
    (void)gpuGetLastError();
    return gpuGetErrorString(e);
}

// The first statement of every kernel launched with gpu_launch_pdl(): wait for the previous
// kernel's results, then let the next kernel's launch begin (it waits in turn).
__device__ __forceinline__ void pdl_enter() {
    gemma_pdl_wait();
    gemma_pdl_trigger();
}

// Blocks of `kernel` (`threads` each, `smem` bytes of dynamic shared memory) resident on the
// GPU at once.
template <class... KArgs>
inline int64_t resident_blocks(void (*kernel)(KArgs...), int threads, const LaunchEnv & env,
                               size_t smem = 0) {
    int per_sm = 0;
    if (gpuOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem) != gpuSuccess ||
        per_sm < 1) {
        (void)gpuGetLastError();
        per_sm = 1;
    }
    return int64_t(per_sm) * env.n_sms;
}

// Grid for a kernel whose blocks loop over `blocks` units of work with a stride of the grid: at
// most `resident` blocks (one wave). With env.gemv_balanced_grid, the grid is cut so that every
// block does the same number of rounds (640 units on 528 resident blocks: 320 blocks × 2 rounds,
// not 528 blocks of which a fifth do a second round alone while the rest of the GPU idles).
inline int64_t looping_grid(int64_t blocks, int64_t resident, const LaunchEnv & env) {
    if (blocks <= resident) return blocks;
    if (!env.gemv_balanced_grid) return resident;
    const int64_t rounds = (blocks + resident - 1) / resident;
    return (blocks + rounds - 1) / rounds;
}

// Launches `kernel` with programmatic dependent launch when the backend enables it.
template <class... KArgs, class... Args>
inline LaunchResult launch_kernel(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                                  gpuStream_t s, const LaunchEnv & env, Args... args) {
    return launch_result(gpu_launch_pdl(kernel, grid, block, smem, s, env.pdl, args...));
}

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never zero.
inline unsigned grid_blocks(int64_t n, int threads, const LaunchEnv & env) {
    int64_t want = (n + threads - 1) / threads;
    int64_t cap = int64_t(env.n_sms) * 32;
    if (want > cap) want = cap;
    return unsigned(want < 1 ? 1 : want);
}

}  // namespace gemma::cuda
