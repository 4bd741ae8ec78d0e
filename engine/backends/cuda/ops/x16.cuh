// x's 16-bit terms for the tensor-core GEMMs of the blas matmul paths (launch.h MatmulPath
// blas_lowp / blas_split): hi = x rounded to w's type, lo = the remainder x − hi rounded again.
// One definition for the matmul's own rounding kernel (ops/matmul.cu) and the producers that write
// them next to their f32 output (fusion.h (round)), so both store bitwise the same bytes.
#pragma once

#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {

// v rounded to nearest even in t (bf16 or f16).
__device__ __forceinline__ uint16_t x16_round(float v, ElemType t) {
    return t == ElemType::bf16 ? gemma_f32_to_bf16(v) : gemma_f32_to_f16(v);
}
__device__ __forceinline__ float x16_widen(uint16_t v, ElemType t) {
    return t == ElemType::bf16 ? gemma_bf16_to_f32(v) : gemma_f16_to_f32(v);
}

// hi[i] = v in t and, when lo, lo[i] = (v − hi[i]) in t. __fsub_rn is never contracted into an
// FMA with the product that made v, so a producer holding v in a register rounds exactly as a
// kernel that loads v back from memory.
__device__ __forceinline__ void x16_store(uint16_t * hi, uint16_t * lo, int64_t i, float v,
                                          ElemType t) {
    const uint16_t h = x16_round(v, t);
    hi[i] = h;
    if (lo) lo[i] = x16_round(__fsub_rn(v, x16_widen(h, t)), t);
}

// The lo array of a Round16Out (launch.h): right after hi's `count` values, or null.
__device__ __forceinline__ uint16_t * x16_lo(const Round16Out & r, int64_t count) {
    return r.split ? static_cast<uint16_t *>(r.hi) + count : nullptr;
}

}  // namespace gemma::cuda
