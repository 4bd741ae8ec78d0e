// The batched-decode half of the CUDA (round) fusion (backends/cuda/fusion.h): an MMQ matmul
// (q8_0 / q4_0 weights, 9..128 x rows) recorded right after an MMQ matmul of the same x finds x's
// int8 rounding already in its scratch and launches no mmq_round_x. Its results must be bitwise
// those of the backend with the fusion off (GEMMA_CUDA_FUSE_ROUND=0, x rounded before every
// MMQ), and sequences that change x or k in between must round again.
#include <cstdlib>
#include <cstring>

#include "cuda_quant_harness.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

constexpr int64_t kK = 320, kQ = 256, kKv = 128;

struct Case {
    const char * backend;  // both round x to int8 for MMQ ("cuda-f32" takes exact tiles)
    DType weights;
};

struct Weights {
    Tensor q, k, v, sq, wide;  // [kQ, kK], [kKv, kK] × 2, [kK, kK], [kQ, 2 kK]
};

Weights host_weights(DType t) {
    return {quantized_host(t, {kQ, kK}, 300), quantized_host(t, {kKv, kK}, 301),
            quantized_host(t, {kKv, kK}, 302), quantized_host(t, {kK, kK}, 303),
            quantized_host(t, {kQ, 2 * kK}, 304)};
}

// q, k, v of one x (two reuses); x scaled, then q again (none); an in-place matmul of x (reuses:
// x unchanged since the matmul before it) and q after it (none: x was just written); a [n, 2k]
// input, then its first n · k values as x [n, k] (same pointer, other k: none) and that x again
// (one, the positive control). Four reuses in all. Returns every output and x, guards checked.
std::vector<float> reuse_steps(Backend & b, const Weights & host, const Tensor & x_host,
                               const Tensor & wide_host, int64_t n) {
    Tensor x = copy_in(b, x_host), wide = copy_in(b, wide_host);
    const Tensor wq = put(b, host.q), wk = put(b, host.k), wv = put(b, host.v),
                 wsq = put(b, host.sq), ww = put(b, host.wide);
    // Every output exists before the first op: making one writes its guards, and a write runs
    // the ops recorded so far (an empty queue has nothing to reuse).
    Guarded out[8] = {guarded(b, DType::f32, {n, kQ}),  guarded(b, DType::f32, {n, kKv}),
                      guarded(b, DType::f32, {n, kKv}), guarded(b, DType::f32, {n, kQ}),
                      guarded(b, DType::f32, {n, kQ}),  guarded(b, DType::f32, {n, kQ}),
                      guarded(b, DType::f32, {n, kQ}),  guarded(b, DType::f32, {n, kKv})};
    const Tensor half = tensor_reshape(tensor_prefix(wide, {n * kK}), {n, kK});
    auto ok = [](Status s) { EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message); };
    ok(b.matmul(x, wq, out[0].view));
    ok(b.matmul(x, wk, out[1].view));
    ok(b.matmul(x, wv, out[2].view));
    ok(b.scale(x, 0.5f, x));
    ok(b.matmul(x, wq, out[3].view));
    ok(b.matmul(x, wsq, x));
    ok(b.matmul(x, wq, out[4].view));
    ok(b.matmul(wide, ww, out[5].view));
    ok(b.matmul(half, wq, out[6].view));
    ok(b.matmul(half, wk, out[7].view));
    std::vector<float> all;
    for (const Guarded & o : out) {
        std::vector<float> part = read_f32(b, o.view);
        all.insert(all.end(), part.begin(), part.end());
        EXPECT_TRUE(guards_intact(b, o)) << "write outside an output";
    }
    std::vector<float> xs = read_f32(b, x);
    all.insert(all.end(), xs.begin(), xs.end());
    return all;
}

class CudaMmqReuse : public ::testing::TestWithParam<Case> {
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

TEST_P(CudaMmqReuse, SameBitsAsRoundingEachMatmul) {
    const Case c = GetParam();
    const Weights w = host_weights(c.weights);
    const int64_t group = c.weights == DType::q8_0 ? 16 : 32;
    size_t runs = 0;
    for (int64_t n : {int64_t(32), int64_t(64), int64_t(100)}) {  // x rounded in round_x for all
        const Tensor x = random_host(DType::f32, {n, kK}, 310, -2.0f, 2.0f),
                     wide = random_host(DType::f32, {n, 2 * kK}, 311, -2.0f, 2.0f);
        // Twice: eager, then the same records again (captured as a graph).
        for (int run = 0; run < 2; ++run, ++runs) {
            const std::vector<float> g = reuse_steps(*b.gpu, w, x, wide, n),
                                     o = reuse_steps(*off, w, x, wide, n);
            ASSERT_EQ(g.size(), o.size());
            EXPECT_EQ(0, std::memcmp(g.data(), o.data(), g.size() * sizeof(float)))
                << "n " << n << " run " << run << ": differs from rounding before every matmul";
        }
        // The first output against cpu-ref on the int8-rounded x (both backends could be wrong
        // the same way otherwise).
        auto ref_out = b.ref->alloc(DType::f32, {n, kQ});
        ASSERT_TRUE(ref_out.ok());
        ASSERT_TRUE(
            b.ref->matmul(put(*b.ref, x_int8_rounded(x, group)), put(*b.ref, w.q), *ref_out).ok());
        const std::vector<float> g = reuse_steps(*b.gpu, w, x, wide, n);
        ++runs;
        const std::vector<float> first(g.begin(), g.begin() + n * kQ);
        EXPECT_LE(nmse(read_f32(*b.ref, *ref_out), first), 1e-7) << "n " << n;
    }
    // Exact: a reuse missing (or one too many) in any run shows here; the fusion off has none.
    EXPECT_EQ(queue_counts(*b.gpu).x16_reused, 4 * runs);
    EXPECT_EQ(queue_counts(*off).x16_reused, size_t(0));
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaMmqReuse,
                         ::testing::Values(Case{"cuda", DType::q4_0}, Case{"cuda", DType::q8_0},
                                           Case{"cuda-bf16", DType::q4_0},
                                           Case{"cuda-bf16", DType::q8_0}),
                         [](const ::testing::TestParamInfo<Case> & i) {
                             return test_name(i.param.backend) + "_" + dtype_name(i.param.weights);
                         });

}  // namespace
}  // namespace gemma::cuda_test
