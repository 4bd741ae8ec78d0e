// CUDA decode fusions (backends/cuda/fusion.h) against cpu-ref and against the same backend with
// fusion off: a Gemma-4-shaped layer stack written op by op exactly as the model does it
// (in-place per-head norms, rope, kv_store, dual projections, gated MLP, PLE branch, layer
// scalar), run for decode steps (1 token) and a short chunk (3 tokens, still the gemv path).
// Every buffer the ops write is compared, so a fusion that skips an intermediate write fails.
#include <cstdlib>

#include "cuda_harness.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

constexpr int64_t kH = 64, kHq = 4, kHkv = 2, kD = 32, kF = 128, kP = 16, kLayers = 3, kSlots = 16,
                  kRows = 3;

struct Weights {
    Tensor in_norm, q_norm, k_norm, post_attn, pre_ffw, post_ffw, post_ple, scalar;
    Tensor wq, wk, wv, wo, wg, wu, wd, ple_gate, ple_proj, kc, vc;
};

// Weights, caches and activations of the toy stack on one backend (same seeds everywhere).
struct Toy {
    std::vector<Weights> layers;
    Tensor freqs, pos, h, x, q, k, v, att, a, g, u, pg, ple;
};

Toy make_toy(Backend & b) {
    Toy t;
    uint32_t seed = 90;
    auto w = [&](Shape s, float lo, float hi) {
        return put(b, random_host(DType::bf16, std::move(s), seed++, lo, hi));
    };
    auto act = [&](Shape s) { return *b.alloc(DType::f32, std::move(s)); };
    for (int64_t l = 0; l < kLayers; ++l) {
        Weights L;
        L.in_norm = w({kH}, 0.8f, 1.2f), L.q_norm = w({kD}, 0.8f, 1.2f);
        L.k_norm = w({kD}, 0.8f, 1.2f), L.post_attn = w({kH}, 0.8f, 1.2f);
        L.pre_ffw = w({kH}, 0.8f, 1.2f), L.post_ffw = w({kH}, 0.8f, 1.2f);
        L.post_ple = w({kH}, 0.8f, 1.2f), L.scalar = w({1}, 0.6f, 0.9f);
        L.wq = w({kHq * kD, kH}, -0.15f, 0.15f), L.wk = w({kHkv * kD, kH}, -0.15f, 0.15f);
        L.wv = w({kHkv * kD, kH}, -0.15f, 0.15f), L.wo = w({kH, kHq * kD}, -0.1f, 0.1f);
        L.wg = w({kF, kH}, -0.15f, 0.15f), L.wu = w({kF, kH}, -0.15f, 0.15f);
        L.wd = w({kH, kF}, -0.1f, 0.1f), L.ple_gate = w({kP, kH}, -0.2f, 0.2f);
        L.ple_proj = w({kH, kP}, -0.2f, 0.2f);
        L.kc = act({kSlots, kHkv, kD}), L.vc = act({kSlots, kHkv, kD});
        t.layers.push_back(L);
    }
    Tensor f = tensor_host(DType::f32, {kD / 2});
    for (int64_t i = 0; i < kD / 2; ++i)
        f.ptr<float>()[i] = std::pow(10000.0f, -2.0f * float(i) / kD);
    t.freqs = put(b, f);
    t.pos = *b.alloc(DType::i32, {kRows});
    t.h = act({kRows, kH}), t.x = act({kRows, kH}), t.q = act({kRows, kHq * kD});
    t.k = act({kRows, kHkv * kD}), t.v = act({kRows, kHkv * kD}), t.att = act({kRows, kHq * kD});
    t.a = act({kRows, kH}), t.g = act({kRows, kF}), t.u = act({kRows, kF});
    t.pg = act({kRows, kP}), t.ple = put(b, random_host(DType::f32, {kRows, kP}, 7));
    return t;
}

Tensor rows(const Tensor & t, int64_t n) { return tensor_rows(t, 0, n); }

// One layer as model/gemma4 writes it (attention.cpp, text.cpp mlp_block, ple.cpp ple_block).
Status layer(Backend & b, Toy & t, const Weights & L, int64_t n) {
    const float eps = 1e-6f;
    Tensor h = rows(t.h, n), x = rows(t.x, n), a = rows(t.a, n), pos = rows(t.pos, n);
    Tensor q = rows(t.q, n), k = rows(t.k, n), v = rows(t.v, n);
    GEMMA_TRY(b.rms_norm(h, L.in_norm, eps, x));
    GEMMA_TRY(b.matmul(x, L.wq, q));
    Tensor qh = tensor_reshape(q, {n * kHq, kD}), q3 = tensor_reshape(q, {n, kHq, kD});
    GEMMA_TRY(b.rms_norm(qh, L.q_norm, eps, qh));
    GEMMA_TRY(b.rope(q3, pos, t.freqs, q3));
    GEMMA_TRY(b.matmul(x, L.wk, k));
    GEMMA_TRY(b.matmul(x, L.wv, v));
    Tensor kh = tensor_reshape(k, {n * kHkv, kD}), vh = tensor_reshape(v, {n * kHkv, kD});
    GEMMA_TRY(b.rms_norm(kh, L.k_norm, eps, kh));
    GEMMA_TRY(b.rms_norm(vh, Tensor{}, eps, vh));
    Tensor k3 = tensor_reshape(k, {n, kHkv, kD}), v3 = tensor_reshape(v, {n, kHkv, kD});
    GEMMA_TRY(b.rope(k3, pos, t.freqs, k3));
    GEMMA_TRY(b.kv_store(k3, v3, pos, L.kc, L.vc));
    Tensor att = tensor_reshape(rows(t.att, n), {n, kHq, kD});
    GEMMA_TRY(b.attention(q3, L.kc, L.vc, pos, Tensor{}, AttentionDesc{}, att));
    GEMMA_TRY(b.matmul(tensor_reshape(att, {n, kHq * kD}), L.wo, a));
    GEMMA_TRY(b.rms_norm(a, L.post_attn, eps, a));
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.rms_norm(h, L.pre_ffw, eps, x));
    Tensor g = rows(t.g, n), u = rows(t.u, n), pg = rows(t.pg, n);
    GEMMA_TRY(b.matmul(x, L.wg, g));
    GEMMA_TRY(b.matmul(x, L.wu, u));
    GEMMA_TRY(b.gelu_tanh_mul(g, u, g));
    GEMMA_TRY(b.matmul(g, L.wd, a));
    GEMMA_TRY(b.rms_norm(a, L.post_ffw, eps, a));
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.matmul(h, L.ple_gate, pg));
    GEMMA_TRY(b.gelu_tanh_mul(pg, rows(t.ple, n), pg));
    GEMMA_TRY(b.matmul(pg, L.ple_proj, a));
    GEMMA_TRY(b.rms_norm(a, L.post_ple, eps, a));
    GEMMA_TRY(b.add(h, a, h));
    return b.mul(h, L.scalar, h);
}

// Runs `n` tokens at positions p0.. through the stack (then the final norm into x) and returns
// every written buffer, concatenated.
std::vector<float> step(Backend & b, Toy & t, const Tensor & h0, int32_t p0, int64_t n) {
    std::vector<int32_t> pos;
    for (int64_t i = 0; i < n; ++i) pos.push_back(p0 + int32_t(i));
    EXPECT_TRUE(b.write(t.pos, pos.data(), pos.size() * 4).ok());
    EXPECT_TRUE(b.copy(rows(h0, n), rows(t.h, n)).ok());
    for (const Weights & L : t.layers) {
        Status s = layer(b, t, L, n);
        EXPECT_TRUE(s.ok()) << s.error().message;
    }
    EXPECT_TRUE(b.rms_norm(rows(t.h, n), Tensor{}, 1e-6f, rows(t.x, n)).ok());
    std::vector<float> all;
    for (const Tensor * o : {&t.h, &t.x, &t.q, &t.k, &t.v, &t.att, &t.a, &t.g, &t.u, &t.pg}) {
        std::vector<float> part = read_f32(b, rows(*o, n));
        all.insert(all.end(), part.begin(), part.end());
    }
    for (const Weights & L : t.layers)
        for (const Tensor * c : {&L.kc, &L.vc}) {
            std::vector<float> part = read_f32(b, *c);
            all.insert(all.end(), part.begin(), part.end());
        }
    return all;
}

TEST(CudaFusion, DecoderLayersMatchReferenceAndUnfused) {
    Backends b;
    std::string why = open_backends("cuda", b);
    if (!why.empty()) GTEST_SKIP() << why;
    setenv("GEMMA_CUDA_FUSE", "0", 1);
    auto plain = backend_create("cuda");
    unsetenv("GEMMA_CUDA_FUSE");
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    Toy ref = make_toy(*b.ref), gpu = make_toy(*b.gpu), off = make_toy(**plain);
    Tensor h0_host = random_host(DType::f32, {kRows, kH}, 5);
    Tensor h0r = put(*b.ref, h0_host), h0g = put(*b.gpu, h0_host), h0o = put(**plain, h0_host);
    // 1-token decode steps past the 16-slot ring, then a 3-token chunk.
    for (int32_t p = 0; p < 21; ++p) {
        int64_t n = p < 18 ? 1 : kRows;
        int32_t p0 = p < 18 ? p : 18 + (p - 18) * int32_t(kRows);
        std::vector<float> r = step(*b.ref, ref, h0r, p0, n), g = step(*b.gpu, gpu, h0g, p0, n),
                           o = step(**plain, off, h0o, p0, n);
        // f32 everywhere; cuda and cpu-ref differ in summation order only.
        EXPECT_LE(nmse(r, g), 1e-9) << "step " << p;
        // Fused kernels repeat the unfused f32 operations; only FMA contraction may differ.
        EXPECT_LE(nmse(o, g), 1e-12) << "step " << p;
    }
#if GEMMA_HAS_CUDA
    auto fused = cuda::cuda_queue_stats(*b.gpu), unfused = cuda::cuda_queue_stats(**plain);
    ASSERT_TRUE(fused.ok() && unfused.ok());
    EXPECT_EQ(unfused->fused, size_t(0));
    // 13 ops fold per layer, plus each next layer's input norm and the final norm: 14 per layer
    // and step; a few are lost where the 64-op segments split a pattern.
    EXPECT_GE(fused->fused, size_t(21 * 12 * kLayers));
    EXPECT_LE(fused->fused, size_t(21 * 14 * kLayers));
#endif
}

}  // namespace
}  // namespace gemma::cuda_test
