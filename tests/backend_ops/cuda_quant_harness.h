// Host-side helpers of the q8_0 / q4_0 GPU tests (cuda_quant_gpu_test.cpp,
// cuda_mmq_cluster_gpu_test.cpp): quantized random weights and x rounded to int8 as the GEMV / MMQ
// kernels round it.
#pragma once

#include <algorithm>
#include <cmath>

#include "core/quant.h"
#include "cuda_harness.h"

namespace gemma::cuda_test {

// Random f32 weights in [-bound, bound], quantized to t (q8_0 / q4_0) on the host.
inline Tensor quantized_host(DType t, Shape shape, uint32_t seed, float bound = 0.1f) {
    Tensor f = random_host(DType::f32, std::move(shape), seed, -bound, bound);
    auto q = quantize_tensor(f, t, "gpu test weight", 1);
    EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
    return q.ok() ? *q : Tensor{};
}

// x with each run of `group` values rounded as the int8-x GEMV and MMQ do: q = round(x · 127 /
// amax) to nearest even (x · id is exact in double), x' = q · (amax / 127).
inline Tensor x_int8_rounded(const Tensor & x, int64_t group) {
    Tensor out = random_host(DType::f32, x.shape, 0);
    const float * src = static_cast<const float *>(x.data);
    float * dst = static_cast<float *>(out.data);
    const int64_t count = x.numel();
    for (int64_t g = 0; g < count; g += group) {
        float amax = 0.0f;
        for (int64_t i = g; i < g + group; ++i) amax = std::max(amax, std::fabs(src[i]));
        const float d = amax * (1.0f / 127.0f), id = amax > 0.0f ? 127.0f / amax : 0.0f;
        for (int64_t i = g; i < g + group; ++i)
            dst[i] = float(std::nearbyint(double(src[i]) * double(id))) * d;
    }
    return out;
}

}  // namespace gemma::cuda_test
