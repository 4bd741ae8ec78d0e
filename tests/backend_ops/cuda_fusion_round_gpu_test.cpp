// The prefill (round) fusion of the CUDA backend (backends/cuda/fusion.h): blas matmuls that find
// x's 16-bit terms already in their scratch (written by the matmul of the same x before them, or
// by x's producer, a row_fuse or gelu_tanh_mul) must give bitwise the results of the backend
// with it off (GEMMA_CUDA_FUSE_ROUND=0), which rounds x before every GEMM, and stay near cpu-ref.
// A decoder layer's prefill sequence at 65 and 128 rows (the blas path: more than kMmaMaxRows),
// then sequences that must NOT reuse: x rewritten in between, a matmul writing its own x, and the
// same x pointer at another k.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cuda_layer_harness.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

struct Case {
    const char * backend;  // "cuda": blas_split (hi + lo); "cuda-bf16": blas_lowp (hi)
    DType weights;
    // Against cpu-ref through the chain of nine GEMMs and four row tails: split x ~1e-11 per
    // GEMM (cuda_matmul_mma_gpu_test kSplitTol 1e-8 per GEMM); x rounded once 1e-5 (bf16) /
    // 1e-6 (f16) per GEMM, compounding through the chain.
    double ref_tol;
};

// The order of model/gemma4 (text.cpp mlp_block, ple.cpp, attention.cpp), attention itself
// left out (o reads q). With the fusion: gate and q from their row_fuse, up after gate and k, v
// after q, down and the PLE projection from their gelu_tanh_mul, the PLE gate from the
// row_fuse's h: 8 GEMMs of 9 skip rounding (o's x comes from a GEMM).
constexpr size_t kLayerReuses = 8;
Status layer_ops(Backend & b, const LayerWeights & w, const LayerBuffers & f, int64_t n) {
    const float eps = 1e-6f;
    Tensor a = rows(f.a.view, n), h = rows(f.h.view, n), x = rows(f.x.view, n);
    Tensor g = rows(f.g.view, n), u = rows(f.u.view, n), pg = rows(f.pg.view, n);
    Tensor q = rows(f.q.view, n), k = rows(f.k.view, n), v = rows(f.v.view, n);
    GEMMA_TRY(b.rms_norm(a, w.n1, eps, a));  // post-attention tail, pre-FFN norm: row_fuse → x
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.rms_norm(h, w.n2, eps, x));
    GEMMA_TRY(b.matmul(x, w.wg, g));
    GEMMA_TRY(b.matmul(x, w.wu, u));
    GEMMA_TRY(b.gelu_tanh_mul(g, u, g));
    GEMMA_TRY(b.matmul(g, w.wd, a));
    GEMMA_TRY(b.rms_norm(a, w.n3, eps, a));  // post-FFN tail: row_fuse → h, read by the PLE gate
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.matmul(h, w.wp, pg));
    GEMMA_TRY(b.gelu_tanh_mul(pg, rows(f.ple, n), pg));
    GEMMA_TRY(b.matmul(pg, w.wpp, a));
    GEMMA_TRY(b.rms_norm(a, w.n4, eps, a));  // PLE tail, layer scalar, next input norm → x
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.mul(h, w.scalar, h));
    GEMMA_TRY(b.rms_norm(h, w.n5, eps, x));
    GEMMA_TRY(b.matmul(x, w.wq, q));
    GEMMA_TRY(b.matmul(x, w.wk, k));
    GEMMA_TRY(b.matmul(x, w.wv, v));
    return b.matmul(q, w.wo, a);
}

// Writes h0 and a0 (n rows), runs layer_ops and returns every buffer's n rows; guards checked.
std::vector<float> layer_step(Backend & b, const LayerWeights & w, const LayerBuffers & f,
                              const Tensor & h0, const Tensor & a0, int64_t n) {
    const size_t bytes = size_t(n * kD) * sizeof(float);
    EXPECT_TRUE(b.write(rows(f.h.view, n), h0.data, bytes).ok());
    EXPECT_TRUE(b.write(rows(f.a.view, n), a0.data, bytes).ok());
    Status st = layer_ops(b, w, f, n);
    EXPECT_TRUE(st.ok()) << st.error().message;
    std::vector<float> all;
    for (const Guarded * o : {&f.a, &f.h, &f.x, &f.g, &f.u, &f.pg, &f.q, &f.k, &f.v}) {
        std::vector<float> part = read_f32(b, rows(o->view, n));
        all.insert(all.end(), part.begin(), part.end());
        EXPECT_TRUE(guards_intact(b, *o)) << "write outside an output";
    }
    return all;
}

// cpu-ref and the GPU backend (b), and the same GPU backend with the fusion off (off); the test
// is skipped without a GPU.
class CudaFusionRound : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        const std::string why = open_backends(GetParam().backend, b);
        if (!why.empty()) GTEST_SKIP() << why;
        off = backend_with_env(GetParam().backend, "GEMMA_CUDA_FUSE_ROUND", "0");
        ASSERT_TRUE(off);
    }
    Backends b;
    std::unique_ptr<Backend> off;
};

TEST_P(CudaFusionRound, LayerSameAsRoundingEachGemm) {
    const Case c = GetParam();
    const LayerWeights wr = layer_weights(*b.ref, c.weights, 200),
                       wg = layer_weights(*b.gpu, c.weights, 200),
                       wo = layer_weights(*off, c.weights, 200);
    const LayerBuffers fr = layer_buffers(*b.ref, 230), fg = layer_buffers(*b.gpu, 230),
                       fo = layer_buffers(*off, 230);
    const Tensor h0 = random_host(DType::f32, {kMaxRows, kD}, 240),
                 a0 = random_host(DType::f32, {kMaxRows, kD}, 241, -3.0f, 3.0f);
    for (int64_t n : {int64_t(65), kMaxRows}) {
        const std::vector<float> r = layer_step(*b.ref, wr, fr, h0, a0, n);
        // Twice: eager, then the same records again (a repeated segment is captured as a graph).
        for (int run = 0; run < 2; ++run) {
            const std::vector<float> g = layer_step(*b.gpu, wg, fg, h0, a0, n),
                                     o = layer_step(*off, wo, fo, h0, a0, n);
            EXPECT_LE(nmse(r, g), c.ref_tol) << "n " << n << " run " << run;
            // cuBLAS read bitwise the same 16-bit x: bitwise the same everything.
            EXPECT_EQ(first_bit_difference(o, g), -1) << "n " << n << " run " << run;
        }
    }
    // Exact: one reuse missing in any of the 4 runs shows here; the fusion off has none.
    EXPECT_EQ(queue_counts(*b.gpu).x16_reused, 4 * kLayerReuses);
    EXPECT_EQ(queue_counts(*off).x16_reused, size_t(0));
}

// Sequences whose second matmul of one x pointer must round x again (n = 96 rows, k = kD):
// 1. x rewritten by an element-wise op between two matmuls of it;
// 2. a matmul writing its own x (out = x, m = k), then another matmul of x;
// 3. x [n, k] (a prefix view of a [n, 2k] buffer) then the whole buffer as x [n, 2k], after an
//    earlier matmul of another [n, 2k] input left its 16-bit terms in the (large enough) scratch;
// then a fourth matmul of that same [n, 2k] x, which may reuse (the positive control). Compared
// with the fusion off only: cpu-ref's matmul does not support out = x.
constexpr int64_t kSeqRows = 96;

std::vector<float> no_reuse_step(Backend & b, const Tensor & x_host, const Tensor & x2_host,
                                 const Tensor & other_host, const Tensor (&w)[5]) {
    Tensor x = copy_in(b, x_host), x2 = copy_in(b, x2_host), other = copy_in(b, other_host);
    const Tensor w0 = put(b, w[0]), w1 = put(b, w[1]), w2 = put(b, w[2]), w3 = put(b, w[3]),
                 w4 = put(b, w[4]);
    // Every output exists before the first op: making one writes its guards, and a write runs
    // the ops recorded so far (an empty queue has nothing to reuse).
    Guarded out[6];
    for (int i = 0; i < 6; ++i) out[i] = guarded(b, DType::f32, {kSeqRows, kD});
    Guarded last = guarded(b, DType::f32, {kSeqRows, kD});  // the positive control
    const Tensor x2_half = tensor_reshape(tensor_prefix(x2, {kSeqRows * kD}), {kSeqRows, kD});
    auto ok = [](Status s) { EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message); };
    ok(b.matmul(x, w0, out[0].view));  // 1.
    ok(b.scale(x, 0.5f, x));
    ok(b.matmul(x, w1, out[1].view));
    ok(b.matmul(x, w0, x));  // 2.
    ok(b.matmul(x, w1, out[2].view));
    ok(b.matmul(other, w2, out[3].view));  // 3.: `other` fills scratch for 2k
    ok(b.matmul(x2_half, w0, out[4].view));
    ok(b.matmul(x2, w3, out[5].view));
    ok(b.matmul(x2, w4, last.view));
    std::vector<float> all;
    for (const Guarded * o : {&out[0], &out[1], &out[2], &out[3], &out[4], &out[5], &last}) {
        std::vector<float> part = read_f32(b, o->view);
        all.insert(all.end(), part.begin(), part.end());
        EXPECT_TRUE(guards_intact(b, *o)) << "write outside an output";
    }
    std::vector<float> xs = read_f32(b, x);
    all.insert(all.end(), xs.begin(), xs.end());
    return all;
}

TEST_P(CudaFusionRound, NoReuseAfterXChanges) {
    const Case c = GetParam();
    const Tensor x = random_host(DType::f32, {kSeqRows, kD}, 250),
                 x2 = random_host(DType::f32, {kSeqRows, 2 * kD}, 251),
                 other = random_host(DType::f32, {kSeqRows, 2 * kD}, 252, 2.0f, 4.0f);
    const Tensor w[5] = {random_host(c.weights, {kD, kD}, 253, -0.08f, 0.08f),
                         random_host(c.weights, {kD, kD}, 254, -0.08f, 0.08f),
                         random_host(c.weights, {kD, 2 * kD}, 255, -0.08f, 0.08f),
                         random_host(c.weights, {kD, 2 * kD}, 256, -0.08f, 0.08f),
                         random_host(c.weights, {kD, 2 * kD}, 257, -0.08f, 0.08f)};
    const std::vector<float> g = no_reuse_step(*b.gpu, x, x2, other, w),
                             o = no_reuse_step(*off, x, x2, other, w);
    EXPECT_EQ(first_bit_difference(o, g), -1);
    // Two reuses: the in-place matmul of case 2 (x unchanged since the matmul before it) and the
    // control; none after the scale, the in-place write or at the other k.
    EXPECT_EQ(queue_counts(*b.gpu).x16_reused, size_t(2));
    EXPECT_EQ(queue_counts(*off).x16_reused, size_t(0));
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaFusionRound,
                         ::testing::Values(Case{"cuda", DType::bf16, 1e-7},
                                           Case{"cuda", DType::f16, 1e-7},
                                           Case{"cuda-bf16", DType::bf16, 1e-4},
                                           Case{"cuda-bf16", DType::f16, 1e-5}),
                         [](const ::testing::TestParamInfo<Case> & i) {
                             return test_name(i.param.backend) + "_" + dtype_name(i.param.weights);
                         });

}  // namespace
}  // namespace gemma::cuda_test
