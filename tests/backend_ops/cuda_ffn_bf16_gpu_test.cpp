// The (ffn16) pattern of the CUDA backend (backends/cuda/fusion.h): in "cuda-bf16", once the
// model discarded the MLP's gate (after down) and then up, the gate and up GEMMs write bf16 and
// the gelu reads it. Checked on the MLP's prefill sequence at 96 rows (the plain cuBLAS call) and
// 128 (the tuned cuBLASLt plan), turned on with GEMMA_CUDA_FFN_BF16=1: near cpu-ref and near the
// backend with it off (GEMMA_CUDA_FFN_BF16=0), yet not bitwise the same (the rounding happened),
// counted once per MLP; with up discarded before down (the pattern's order not met) bitwise the
// backend with it off, and not counted. Without a GPU the tests are skipped.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cuda_harness.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

constexpr int64_t kD = 328, kF = 640, kMaxRows = 128;
// Against cpu-ref: x rounded to bf16 for each of the three GEMMs (~1e-5 each, as
// cuda_fusion_round_gpu_test's cuda-bf16 case), the gelu's inputs rounded once more (~1e-5).
constexpr double kRefTol = 1e-4;
// Against the backend with (ffn16) off: that extra rounding only.
constexpr double kOffTol = 1e-4;

struct Mlp {
    Tensor norm, wg, wu, wd;
    Guarded h, x, g, u, o;
};

Mlp make_mlp(Backend & b) {
    Mlp m;
    m.norm = put(b, random_host(DType::bf16, {kD}, 400, 0.8f, 1.2f));
    m.wg = put(b, random_host(DType::bf16, {kF, kD}, 401, -0.08f, 0.08f));
    m.wu = put(b, random_host(DType::bf16, {kF, kD}, 402, -0.08f, 0.08f));
    m.wd = put(b, random_host(DType::bf16, {kD, kF}, 403, -0.08f, 0.08f));
    m.h = guarded(b, DType::f32, {kMaxRows, kD});
    m.x = guarded(b, DType::f32, {kMaxRows, kD});
    m.g = guarded(b, DType::f32, {kMaxRows, kF});
    m.u = guarded(b, DType::f32, {kMaxRows, kF});
    m.o = guarded(b, DType::f32, {kMaxRows, kD});
    return m;
}

// text.cpp mlp_block's order (model = true: gate, then up discarded after down) or up
// discarded right after the gelu (model = false). Returns down's output [n, kD].
std::vector<float> mlp_step(Backend & b, const Mlp & m, const Tensor & h0, int64_t n, bool model) {
    Tensor h = tensor_rows(m.h.view, 0, n), x = tensor_rows(m.x.view, 0, n);
    Tensor g = tensor_rows(m.g.view, 0, n), u = tensor_rows(m.u.view, 0, n);
    Tensor o = tensor_rows(m.o.view, 0, n);
    EXPECT_TRUE(b.write(h, h0.data, size_t(n * kD) * sizeof(float)).ok());
    auto ok = [](Status s) { EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message); };
    ok(b.rms_norm(h, m.norm, 1e-6f, x));
    ok(b.matmul(x, m.wg, g));
    ok(b.matmul(x, m.wu, u));
    ok(b.discard(x));
    ok(b.gelu_tanh_mul(g, u, g));
    if (!model) ok(b.discard(u));
    ok(b.matmul(g, m.wd, o));
    ok(b.discard(g));
    if (model) ok(b.discard(u));
    std::vector<float> out = read_f32(b, o);
    for (const Guarded * t : {&m.h, &m.x, &m.g, &m.u, &m.o})
        EXPECT_TRUE(guards_intact(b, *t)) << "write outside an output";
    return out;
}

TEST(CudaFfnBf16, GateUpInBf16NearF32AndCounted) {
    Backends b;
    setenv("GEMMA_CUDA_FFN_BF16", "1", 1);  // off by default (CudaOptions::ffn_bf16)
    const std::string why = open_backends("cuda-bf16", b);
    unsetenv("GEMMA_CUDA_FFN_BF16");
    if (!why.empty()) GTEST_SKIP() << why;
    auto off = backend_with_env("cuda-bf16", "GEMMA_CUDA_FFN_BF16", "0");
    ASSERT_TRUE(off);
    const Mlp mr = make_mlp(*b.ref), mg = make_mlp(*b.gpu), mo = make_mlp(*off);
    const Tensor h0 = random_host(DType::f32, {kMaxRows, kD}, 410, -2.0f, 2.0f);
    size_t want = 0;
    for (int64_t n : {int64_t(96), kMaxRows}) {
        const std::vector<float> r = mlp_step(*b.ref, mr, h0, n, true);
        for (int run = 0; run < 2; ++run) {  // eager, then the same records again
            const std::vector<float> g = mlp_step(*b.gpu, mg, h0, n, true),
                                     o = mlp_step(*off, mo, h0, n, true);
            EXPECT_LE(nmse(r, g), kRefTol) << "n " << n << " run " << run;
            EXPECT_LE(nmse(o, g), kOffTol) << "n " << n << " run " << run;
            EXPECT_NE(first_bit_difference(o, g), -1) << "n " << n << ": bf16 gate/up not used";
            EXPECT_EQ(queue_counts(*b.gpu).ffn_bf16, ++want) << "n " << n << " run " << run;
        }
        // Up discarded before down: the pattern does not apply; bitwise the backend with it off.
        const std::vector<float> g = mlp_step(*b.gpu, mg, h0, n, false),
                                 o = mlp_step(*off, mo, h0, n, false);
        EXPECT_EQ(first_bit_difference(o, g), -1) << "n " << n;
        EXPECT_EQ(queue_counts(*b.gpu).ffn_bf16, want) << "n " << n;
    }
    EXPECT_EQ(queue_counts(*off).ffn_bf16, size_t(0));
}

}  // namespace
}  // namespace gemma::cuda_test
