// A decoder layer's weights and buffers at small Gemma-4-like widths for the CUDA fusion tests
// that run the model's op order on them (cuda_fusion_round_gpu_test.cpp,
// cuda_fusion_discard_gpu_test.cpp).
#pragma once

#include "cuda_harness.h"

namespace gemma::cuda_test {

constexpr int64_t kD = 328, kF = 640, kP = 64, kQ = 256, kKv = 128, kMaxRows = 128;

struct LayerWeights {
    Tensor n1, n2, n3, n4, n5, scalar, wg, wu, wd, wp, wpp, wq, wk, wv, wo;
};
struct LayerBuffers {
    Guarded a, h, x, g, u, pg, q, k, v;
    Tensor ple;
};

inline Tensor rows(const Tensor & t, int64_t n) { return tensor_rows(t, 0, n); }

// Norm weights in [0.8, 1.2], the layer scalar in [0.6, 0.9], matrices of type t in ±0.08,
// seeded from `seed` on.
inline LayerWeights layer_weights(Backend & b, DType t, uint32_t seed) {
    auto norm = [&] { return put(b, random_host(DType::bf16, {kD}, seed++, 0.8f, 1.2f)); };
    auto w = [&](int64_t m, int64_t k) {
        return put(b, random_host(t, {m, k}, seed++, -0.08f, 0.08f));
    };
    LayerWeights L;
    L.n1 = norm(), L.n2 = norm(), L.n3 = norm(), L.n4 = norm(), L.n5 = norm();
    L.scalar = put(b, random_host(DType::bf16, {1}, seed++, 0.6f, 0.9f));
    L.wg = w(kF, kD), L.wu = w(kF, kD), L.wd = w(kD, kF), L.wp = w(kP, kD), L.wpp = w(kD, kP);
    L.wq = w(kQ, kD), L.wk = w(kKv, kD), L.wv = w(kKv, kD), L.wo = w(kD, kQ);
    return L;
}

// Guarded f32 buffers of kMaxRows rows; the PLE input seeded with ple_seed.
inline LayerBuffers layer_buffers(Backend & b, uint32_t ple_seed) {
    auto g = [&](int64_t width) { return guarded(b, DType::f32, {kMaxRows, width}); };
    LayerBuffers f;
    f.a = g(kD), f.h = g(kD), f.x = g(kD), f.g = g(kF), f.u = g(kF), f.pg = g(kP);
    f.q = g(kQ), f.k = g(kKv), f.v = g(kKv);
    f.ple = put(b, random_host(DType::f32, {kMaxRows, kP}, ple_seed));
    return f;
}

}  // namespace gemma::cuda_test
