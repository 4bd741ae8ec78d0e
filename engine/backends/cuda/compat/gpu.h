// Picks the GPU API layer: CUDA (default) or HIP (GEMMA_HIP builds of the same sources). Every
// kernel and the host backend include only this header, never cuda_runtime.h / hip_runtime.h.
#pragma once

#if defined(GEMMA_HIP) || defined(__HIP_PLATFORM_AMD__)
#include "backends/cuda/compat/hip.h"
#else
#include "backends/cuda/compat/cuda.h"
#endif

#include <cstdint>

// ---- device helpers shared by every kernel (written once against the names above) ----
#if defined(__CUDACC__) || defined(__HIPCC__)

// Weights are raw 16-bit storage (uint16_t) so kernels need no vendor bf16/f16 types.
__device__ __forceinline__ float gemma_bf16_to_f32(uint16_t h) {
    return __uint_as_float(uint32_t(h) << 16);
}

// Round to nearest even, NaN kept quiet (same rule as core/dtype.h f32_to_bf16).
__device__ __forceinline__ uint16_t gemma_f32_to_bf16(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}

// Sum over the lanes of one warp (every lane gets the total).
__device__ __forceinline__ float gemma_warp_sum(float v) {
#pragma unroll
    for (int m = GEMMA_WARP / 2; m > 0; m >>= 1) v += gemma_shfl_xor(v, m);
    return v;
}

__device__ __forceinline__ float gemma_warp_max(float v) {
#pragma unroll
    for (int m = GEMMA_WARP / 2; m > 0; m >>= 1) v = fmaxf(v, gemma_shfl_xor(v, m));
    return v;
}

#endif
