// CUDA decode fusions (backends/cuda/fusion.h) against cpu-ref and against the same backend with
// fusion off (and with only the q/k/v joins, or only the row_fuse fold, off): a Gemma-4-shaped
// layer stack written op by op exactly as the model does it (q/k/v projections, in-place
// per-head norms, rope, kv_store, gated MLP, PLE branch, layer scalar), run for decode steps (1
// token) and a short chunk (3 tokens, still the gemv path). Every buffer the ops write is
// compared, so a fusion that skips an intermediate write fails. Then the triple q/k/v GEMV alone
// on larger, odd shapes (bf16, q8_0, q4_0 weights; several rows per warp, a warp's rows spanning
// two weights) with guarded outputs, and the row_fuse fold at E4B's width and odd widths.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/quant.h"
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
    GEMMA_TRY(b.matmul(x, L.wk, k));
    GEMMA_TRY(b.matmul(x, L.wv, v));
    Tensor qh = tensor_reshape(q, {n * kHq, kD}), q3 = tensor_reshape(q, {n, kHq, kD});
    GEMMA_TRY(b.rms_norm(qh, L.q_norm, eps, qh));
    GEMMA_TRY(b.rope(q3, pos, t.freqs, q3));
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
    // The row_fuse fold is off by default (CudaOptions::fuse_row): every backend here but
    // no_row has it on.
    setenv("GEMMA_CUDA_FUSE_ROW", "1", 1);
    Backends b;
    std::string why = open_backends("cuda", b);
    if (!why.empty()) {
        unsetenv("GEMMA_CUDA_FUSE_ROW");
        GTEST_SKIP() << why;
    }
    setenv("GEMMA_CUDA_FUSE", "0", 1);
    auto plain = backend_create("cuda");
    unsetenv("GEMMA_CUDA_FUSE");
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    setenv("GEMMA_CUDA_FUSE_QKV", "0", 1);
    auto no_qkv = backend_create("cuda");
    unsetenv("GEMMA_CUDA_FUSE_QKV");
    ASSERT_TRUE(no_qkv.ok()) << no_qkv.error().message;
    setenv("GEMMA_CUDA_FUSE_ROW", "0", 1);
    auto no_row = backend_create("cuda");
    unsetenv("GEMMA_CUDA_FUSE_ROW");
    ASSERT_TRUE(no_row.ok()) << no_row.error().message;
    Toy ref = make_toy(*b.ref), gpu = make_toy(*b.gpu), off = make_toy(**plain),
        apart = make_toy(**no_qkv), kept = make_toy(**no_row);
    Tensor h0_host = random_host(DType::f32, {kRows, kH}, 5);
    Tensor h0r = put(*b.ref, h0_host), h0g = put(*b.gpu, h0_host), h0o = put(**plain, h0_host),
           h0a = put(**no_qkv, h0_host), h0k = put(**no_row, h0_host);
    // 1-token decode steps past the 16-slot ring, then a 3-token chunk. The same records every
    // decode step: from the third on they replay as CUDA graphs, so a folded row_fuse whose
    // block counter were not reset (its outputs then never written) shows in h, a and x.
    for (int32_t p = 0; p < 21; ++p) {
        int64_t n = p < 18 ? 1 : kRows;
        int32_t p0 = p < 18 ? p : 18 + (p - 18) * int32_t(kRows);
        std::vector<float> r = step(*b.ref, ref, h0r, p0, n), g = step(*b.gpu, gpu, h0g, p0, n),
                           o = step(**plain, off, h0o, p0, n),
                           a = step(**no_qkv, apart, h0a, p0, n),
                           k = step(**no_row, kept, h0k, p0, n);
        // f32 everywhere; cuda and cpu-ref differ in summation order only.
        EXPECT_LE(nmse(r, g), 1e-9) << "step " << p;
        // Fused kernels repeat the unfused f32 operations; only FMA contraction may differ.
        EXPECT_LE(nmse(o, g), 1e-12) << "step " << p;
        EXPECT_LE(nmse(a, g), 1e-12) << "step " << p;
        // The folded row_fuse repeats row_fuse's operations and the GEMV keeps its shape.
        EXPECT_EQ(first_bit_difference(k, g), -1) << "step " << p;
    }
#if GEMMA_HAS_CUDA
    auto fused = cuda::cuda_queue_stats(*b.gpu), unfused = cuda::cuda_queue_stats(**plain),
         without_qkv = cuda::cuda_queue_stats(**no_qkv),
         without_row = cuda::cuda_queue_stats(**no_row);
    ASSERT_TRUE(fused.ok() && unfused.ok() && without_qkv.ok() && without_row.ok());
    EXPECT_EQ(unfused->fused, size_t(0));
    EXPECT_GT(fused->replayed, size_t(0));
    // 13 ops fold per layer without the q/k/v joins and the row_fuse folds, plus each next
    // layer's input norm and the final norm: 14 per layer and step; a few could be lost where
    // the 64-op segments split a pattern (a step here records fewer than 64 ops after fusion,
    // and reads flush it).
    EXPECT_GE(without_row->fused, size_t(21 * 14 * kLayers));
    EXPECT_LE(without_row->fused, size_t(21 * 16 * kLayers));
    // The row_fuse folds in the 18 one-token steps (none at 3 rows): each layer's post-attention
    // tail into the gate GEMV, its post-FFN tail into the PLE gate GEMV (reading h), and each
    // PLE tail but the last (the final norm has no GEMV here) into the next q GEMV. Exact: one
    // fold missing anywhere shows here.
    const size_t row_folds = size_t(18 * (3 * kLayers - 1));
    EXPECT_EQ(fused->fused, without_row->fused + row_folds);
    // The joins fold two more per layer and step: q's GEMV takes k's and v's dual GEMV (one
    // triple GEMV), q's norm_rope takes k's and v's (one norm_rope_qkv_store). Exactly two: one
    // join missing in any layer of any step shows here.
    EXPECT_EQ(fused->fused, without_qkv->fused + size_t(21 * 2 * kLayers));
#endif
}

// The q, k and v projections of one x recorded back to back: one triple GEMV with the joins on.
// q's 4,101 rows and k's / v's 1,029 (odd: with two rows per warp, bf16 at 132+ SMs and the
// quant GEMV, a warp's rows span two weights) and k = 256.
constexpr int64_t kQkvK = 256, kQkvMq = 4101, kQkvMkv = 1029;

struct QkvCase {
    const char * backend;
    DType weights;
    // Against cpu-ref: f32 accumulation in another order (1e-9, as above); with int8 x (q8_0 /
    // q4_0 under "cuda") each dot product moves by ~0.5 %: NMSE ~2e-5 (cuda_quant_gpu_test).
    double ref_tol;
};

class CudaFusionQkv : public ::testing::TestWithParam<QkvCase> {};

Tensor qkv_weight(DType t, int64_t m, uint32_t seed) {
    if (!dtype_is_quant(t)) return random_host(t, {m, kQkvK}, seed, -0.1f, 0.1f);
    auto q = quantize_tensor(random_host(DType::f32, {m, kQkvK}, seed, -0.1f, 0.1f), t, "w", 1);
    EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
    return q.ok() ? *q : Tensor{};
}

// q, k, v of the first n rows of x on backend b, concatenated; guarded outputs, whose guards
// must stay intact.
std::vector<float> qkv_step(Backend & b, const Tensor & x_host, const Tensor (&w)[3], int64_t n) {
    Tensor x = tensor_rows(copy_in(b, x_host), 0, n);
    Tensor wd[3] = {put(b, w[0]), put(b, w[1]), put(b, w[2])};
    Guarded out[3];
    for (int i = 0; i < 3; ++i) out[i] = guarded(b, DType::f32, {n, w[i].dim(0)});
    for (int i = 0; i < 3; ++i) {
        Status st = b.matmul(x, wd[i], out[i].view);
        EXPECT_TRUE(st.ok()) << st.error().message;
    }
    std::vector<float> all;
    for (const Guarded & g : out) {
        std::vector<float> part = read_f32(b, g.view);
        all.insert(all.end(), part.begin(), part.end());
        EXPECT_TRUE(guards_intact(b, g)) << "write outside the output";
    }
    return all;
}

TEST_P(CudaFusionQkv, ProjectionsAsOneGemv) {
    const QkvCase c = GetParam();
    Backends b;
    std::string why = open_backends(c.backend, b);
    if (!why.empty()) GTEST_SKIP() << why;
    setenv("GEMMA_CUDA_FUSE_QKV", "0", 1);
    auto no_qkv = backend_create(c.backend);
    unsetenv("GEMMA_CUDA_FUSE_QKV");
    ASSERT_TRUE(no_qkv.ok()) << no_qkv.error().message;
    const Tensor w[3] = {qkv_weight(c.weights, kQkvMq, 31), qkv_weight(c.weights, kQkvMkv, 32),
                         qkv_weight(c.weights, kQkvMkv, 33)};
    const Tensor x = random_host(DType::f32, {8, kQkvK}, 30);
    for (int64_t n : {1, 2, 3, 8}) {
        std::vector<float> r = qkv_step(*b.ref, x, w, n), g = qkv_step(*b.gpu, x, w, n),
                           a = qkv_step(**no_qkv, x, w, n);
        EXPECT_LE(nmse(r, g), c.ref_tol) << "n " << n;
        // Same per-row sums: the k split follows the rows and k (one warp here, k = 256).
        EXPECT_LE(nmse(a, g), 1e-12) << "n " << n;
    }
#if GEMMA_HAS_CUDA
    auto joined = cuda::cuda_queue_stats(*b.gpu), apart = cuda::cuda_queue_stats(**no_qkv);
    ASSERT_TRUE(joined.ok() && apart.ok());
    // Per n: v folds into k (a dual GEMV) on both; q takes that dual only with the joins on.
    EXPECT_EQ(apart->fused, size_t(4));
    EXPECT_EQ(joined->fused, size_t(8));
#endif
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaFusionQkv,
                         ::testing::Values(QkvCase{"cuda", DType::bf16, 1e-9},
                                           QkvCase{"cuda-f32", DType::q8_0, 1e-9},
                                           QkvCase{"cuda-f32", DType::q4_0, 1e-9},
                                           QkvCase{"cuda", DType::q8_0, 1e-4},
                                           QkvCase{"cuda", DType::q4_0, 1e-4}),
                         [](const ::testing::TestParamInfo<QkvCase> & i) {
                             return test_name(i.param.backend) + "_" + dtype_name(i.param.weights);
                         });

// ---- The row_fuse fold (fusion.h "(row)") at E4B's width and odd widths ----
// Four decoder sub-block tails, each followed by the GEMV that reads its output, recorded back to
// back in one segment as model/gemma4 records them: post-attention tail → gate/up GEMVs + gelu;
// post-FFN tail → PLE gate GEMV reading h + gelu with the PLE input; PLE tail with the layer
// scalar → q/k/v GEMVs; a tail whose norm has no weight (f32 norm weight before it) → a head
// GEMV of many rows. Between them, GEMVs of other inputs write the next tail's branch output a.
constexpr int64_t kFoldF = 1024, kFoldP = 256, kFoldQ = 2048, kFoldKv = 512, kFoldHead = 8192,
                  kFoldRows = 3;

struct FoldCase {
    const char * backend;
    DType weights;
    // 2560: E4B (row_fuse's 320 threads played by the GEMV's 256 in two rounds); up to 3,072
    // per row and 5,120 in all are folded (launch.h row_fold_fits), wider rows stay apart.
    int64_t d;
    // Against cpu-ref: f32 accumulation over k ≤ 4128 in another order, through the four
    // sub-blocks (1e-8); with int8 x (q8_0 / q4_0 under "cuda") ~2e-5 per GEMV
    // (cuda_quant_gpu_test), compounding through seven chained GEMVs: 1e-3.
    double ref_tol;
};

struct FoldWeights {
    Tensor w1, w2, w3, w4, w5, w6, scalar, wg, wu, wd, wp, wpp, wq, wk, wv, wo, wl;
};

// Guarded activations of the sequence (every one an output of some op), kFoldRows rows each.
struct FoldBuffers {
    Guarded a, h, x, g, u, pg, q, k, v, lg;
    Tensor ple;
};

Tensor fold_weight(Backend & b, DType t, int64_t m, int64_t k, uint32_t seed) {
    if (!dtype_is_quant(t)) return put(b, random_host(t, {m, k}, seed, -0.05f, 0.05f));
    auto q = quantize_tensor(random_host(DType::f32, {m, k}, seed, -0.05f, 0.05f), t, "w", 1);
    EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
    return q.ok() ? put(b, *q) : Tensor{};
}

FoldWeights fold_weights(Backend & b, DType t, int64_t d) {
    auto norm = [&](DType nt, uint32_t seed) {
        return put(b, random_host(nt, {d}, seed, 0.8f, 1.2f));
    };
    FoldWeights w;
    w.w1 = norm(DType::bf16, 60), w.w2 = norm(DType::bf16, 61), w.w3 = norm(DType::bf16, 62);
    w.w4 = norm(DType::bf16, 63), w.w5 = norm(DType::bf16, 64), w.w6 = norm(DType::f32, 65);
    w.scalar = put(b, random_host(DType::bf16, {1}, 66, 0.6f, 0.9f));
    w.wg = fold_weight(b, t, kFoldF, d, 70), w.wu = fold_weight(b, t, kFoldF, d, 71);
    w.wd = fold_weight(b, t, d, kFoldF, 72), w.wp = fold_weight(b, t, kFoldP, d, 73);
    w.wpp = fold_weight(b, t, d, kFoldP, 74), w.wq = fold_weight(b, t, kFoldQ, d, 75);
    w.wk = fold_weight(b, t, kFoldKv, d, 76), w.wv = fold_weight(b, t, kFoldKv, d, 77);
    w.wo = fold_weight(b, t, d, kFoldQ, 78), w.wl = fold_weight(b, t, kFoldHead, d, 79);
    return w;
}

FoldBuffers fold_buffers(Backend & b, int64_t d) {
    auto g = [&](int64_t width) { return guarded(b, DType::f32, {kFoldRows, width}); };
    FoldBuffers f;
    f.a = g(d), f.h = g(d), f.x = g(d), f.g = g(kFoldF), f.u = g(kFoldF), f.pg = g(kFoldP);
    f.q = g(kFoldQ), f.k = g(kFoldKv), f.v = g(kFoldKv), f.lg = g(kFoldHead);
    f.ple = put(b, random_host(DType::f32, {kFoldRows, kFoldP}, 80));
    return f;
}

// The four tails and their GEMVs on the first n rows.
Status fold_ops(Backend & b, const FoldWeights & w, const FoldBuffers & f, int64_t n) {
    const float eps = 1e-6f;
    Tensor a = rows(f.a.view, n), h = rows(f.h.view, n), x = rows(f.x.view, n);
    Tensor g = rows(f.g.view, n), u = rows(f.u.view, n), pg = rows(f.pg.view, n);
    Tensor q = rows(f.q.view, n), k = rows(f.k.view, n), v = rows(f.v.view, n);
    GEMMA_TRY(b.rms_norm(a, w.w1, eps, a));  // post-attention tail, pre-FFN norm
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.rms_norm(h, w.w2, eps, x));
    GEMMA_TRY(b.matmul(x, w.wg, g));
    GEMMA_TRY(b.matmul(x, w.wu, u));
    GEMMA_TRY(b.gelu_tanh_mul(g, u, g));
    GEMMA_TRY(b.matmul(g, w.wd, a));
    GEMMA_TRY(b.rms_norm(a, w.w3, eps, a));  // post-FFN tail, then the PLE gate reads h
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.matmul(h, w.wp, pg));
    GEMMA_TRY(b.gelu_tanh_mul(pg, rows(f.ple, n), pg));
    GEMMA_TRY(b.matmul(pg, w.wpp, a));
    GEMMA_TRY(b.rms_norm(a, w.w4, eps, a));  // PLE tail, layer scalar, next input norm
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.mul(h, w.scalar, h));
    GEMMA_TRY(b.rms_norm(h, w.w5, eps, x));
    GEMMA_TRY(b.matmul(x, w.wq, q));
    GEMMA_TRY(b.matmul(x, w.wk, k));
    GEMMA_TRY(b.matmul(x, w.wv, v));
    GEMMA_TRY(b.matmul(q, w.wo, a));
    GEMMA_TRY(b.rms_norm(a, w.w6, eps, a));  // a tail whose second norm has no weight
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.rms_norm(h, Tensor{}, eps, x));
    return b.matmul(x, w.wl, rows(f.lg.view, n));
}

// Writes the inputs (h0, a0: n rows), runs fold_ops and returns every buffer's n rows,
// concatenated; guards checked.
std::vector<float> fold_step(Backend & b, const FoldWeights & w, const FoldBuffers & f,
                             const Tensor & h0, const Tensor & a0, int64_t n) {
    const size_t bytes = size_t(n * h0.dim(1)) * sizeof(float);
    EXPECT_TRUE(b.write(rows(f.h.view, n), h0.data, bytes).ok());
    EXPECT_TRUE(b.write(rows(f.a.view, n), a0.data, bytes).ok());
    Status st = fold_ops(b, w, f, n);
    EXPECT_TRUE(st.ok()) << st.error().message;
    std::vector<float> all;
    for (const Guarded * o : {&f.a, &f.h, &f.x, &f.g, &f.u, &f.pg, &f.q, &f.k, &f.v, &f.lg}) {
        std::vector<float> part = read_f32(b, rows(o->view, n));
        all.insert(all.end(), part.begin(), part.end());
        EXPECT_TRUE(guards_intact(b, *o)) << "write outside an output";
    }
    return all;
}

class CudaRowFold : public ::testing::TestWithParam<FoldCase> {};

TEST_P(CudaRowFold, SameAsRowFuseKernel) {
    const FoldCase c = GetParam();
    setenv("GEMMA_CUDA_FUSE_ROW", "1", 1);  // off by default (CudaOptions::fuse_row)
    Backends b;
    std::string why = open_backends(c.backend, b);
    if (!why.empty()) {
        unsetenv("GEMMA_CUDA_FUSE_ROW");
        GTEST_SKIP() << why;
    }
    setenv("GEMMA_CUDA_FUSE_ROW", "0", 1);
    auto no_row = backend_create(c.backend);
    unsetenv("GEMMA_CUDA_FUSE_ROW");
    ASSERT_TRUE(no_row.ok()) << no_row.error().message;
    const FoldWeights wr = fold_weights(*b.ref, c.weights, c.d),
                      wg = fold_weights(*b.gpu, c.weights, c.d),
                      wk = fold_weights(**no_row, c.weights, c.d);
    const FoldBuffers fr = fold_buffers(*b.ref, c.d), fg = fold_buffers(*b.gpu, c.d),
                      fk = fold_buffers(**no_row, c.d);
    const Tensor h0 = random_host(DType::f32, {kFoldRows, c.d}, 81),
                 a0 = random_host(DType::f32, {kFoldRows, c.d}, 82, -3.0f, 3.0f);
    size_t folds = 0;
    for (int64_t n : {1, 2, 3}) {
        // As launch.h row_fold_fits: 1-2 rows of d ≤ 3,072, 5,120 values in all.
        const bool fits = n <= 2 && c.d <= 3072 && n * c.d <= 5120;
        const std::vector<float> r = fold_step(*b.ref, wr, fr, h0, a0, n);
        // Four runs of one segment: eager, captured, then replayed twice (the block counter of
        // each folded GEMV must be back at zero for the next launch and replay).
        for (int run = 0; run < 4; ++run) {
            const std::vector<float> g = fold_step(*b.gpu, wg, fg, h0, a0, n),
                                     k = fold_step(**no_row, wk, fk, h0, a0, n);
            EXPECT_LE(nmse(r, g), c.ref_tol) << "n " << n << " run " << run;
            // Bitwise: the fold repeats row_fuse's operations, the GEMVs keep their shapes.
            EXPECT_EQ(first_bit_difference(k, g), -1) << "n " << n << " run " << run;
        }
        folds += fits ? 4 * 4 : 0;
    }
#if GEMMA_HAS_CUDA
    auto on = cuda::cuda_queue_stats(*b.gpu), off = cuda::cuda_queue_stats(**no_row);
    ASSERT_TRUE(on.ok() && off.ok());
    EXPECT_EQ(on->fused, off->fused + folds);
    EXPECT_GE(on->replayed, size_t(3 * 2));
#endif
}

INSTANTIATE_TEST_SUITE_P(
    Cuda, CudaRowFold,
    ::testing::Values(FoldCase{"cuda", DType::bf16, 2560, 1e-8},
                      FoldCase{"cuda", DType::f16, 1048, 1e-8},   // 160 threads: one round
                      FoldCase{"cuda", DType::bf16, 3072, 1e-8},  // 2 rows stay apart
                      FoldCase{"cuda", DType::bf16, 4104, 1e-8},  // never folded
                      FoldCase{"cuda-f32", DType::q8_0, 2560, 1e-8},
                      FoldCase{"cuda-f32", DType::q4_0, 3072, 1e-8},
                      FoldCase{"cuda", DType::q8_0, 2560, 1e-3},
                      FoldCase{"cuda", DType::q4_0, 3072, 1e-3}),
    [](const ::testing::TestParamInfo<FoldCase> & i) {
        return test_name(i.param.backend) + "_" + dtype_name(i.param.weights) + "_" +
               std::to_string(i.param.d);
    });

}  // namespace
}  // namespace gemma::cuda_test
