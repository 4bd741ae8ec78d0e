// The (round) fusion of attention_fa and the o projection (backends/cuda/fusion.h): a prefill
// attention_fa recorded just before the blas matmul of its whole output also writes that
// output's 16-bit terms, and the matmul skips its rounding kernel. The results must be bitwise
// those of the backend with the fusion off (GEMMA_CUDA_FUSE_ROUND=0, which rounds x before the
// GEMM), stay near cpu-ref, and attention split over two calls must not be taken as the whole.
// Every prefill kernel: D 256 128-row blocks, D 512 the pair kernel and the 64-row one
// (GEMMA_FA512_V1=1; q8_0 caches always). Skipped without a GPU.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>

#include "cuda_harness.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

struct Case {
    const char * backend;  // "cuda": blas_split (hi + lo); "cuda-bf16": blas_lowp (hi)
    DType weights;
    bool fa512_v1;  // GEMMA_FA512_V1=1: D 512 on 64-row blocks instead of the pair kernel
    int64_t d;
};

void PrintTo(const Case & c, std::ostream * os) {
    *os << c.backend << " " << dtype_name(c.weights) << (c.fa512_v1 ? " fa512 v1" : "") << " d "
        << c.d;
}

// Queries of the chunk: more than kMmaMaxRows (64: the blas path) and not a multiple of 128
// (no cuBLASLt algorithm timing, which could pick different algorithms in the two backends).
constexpr int64_t kHq = 8, kHkv = 2, kN = 100, kHist = 40, kSlots = 256, kM = 96;

// The backend `name` made with GEMMA_FA512_V1 = fa512_v1 and, when !round, the fusion off.
std::unique_ptr<Backend> open_gpu(const char * name, bool fa512_v1, bool round) {
    if (fa512_v1) setenv("GEMMA_FA512_V1", "1", 1);
    if (!round) setenv("GEMMA_CUDA_FUSE_ROUND", "0", 1);
    auto b = backend_create(name);
    unsetenv("GEMMA_FA512_V1");
    unsetenv("GEMMA_CUDA_FUSE_ROUND");
    return b.ok() ? std::move(*b) : nullptr;
}

// kv_store of the history and the chunk into caches of `kv`, attention of the chunk (one call,
// or two of half the rows each when `halves`), then y = att · wᵀ ([n, hq·d] × [m, hq·d]).
// Returns att then y; every input and output exists before the first op, so the queue holds
// kv_store … attention, matmul in a row.
std::vector<float> attend_project(Backend & b, const Case & c, DType kv, bool halves) {
    const int64_t d = c.d, k = kHq * d;
    auto kc = b.alloc(kv, {kSlots, kHkv, d});
    auto vc = b.alloc(kv, {kSlots, kHkv, d});
    EXPECT_TRUE(kc.ok() && vc.ok());
    if (!kc.ok() || !vc.ok()) return {};
    std::vector<int32_t> pos_hist, pos;
    for (int64_t i = 0; i < kHist; ++i) pos_hist.push_back(int32_t(i));
    for (int64_t i = 0; i < kN; ++i) pos.push_back(int32_t(kHist + i));
    const Tensor kh = put(b, random_host(DType::f32, {kHist, kHkv, d}, 11, -2.0f, 2.0f)),
                 vh = put(b, random_host(DType::f32, {kHist, kHkv, d}, 12)),
                 kn = put(b, random_host(DType::f32, {kN, kHkv, d}, 13, -2.0f, 2.0f)),
                 vn = put(b, random_host(DType::f32, {kN, kHkv, d}, 14)),
                 q = put(b, random_host(DType::f32, {kN, kHq, d}, 15, -2.0f, 2.0f)),
                 w = put(b, random_host(c.weights, {kM, k}, 16, -0.05f, 0.05f)),
                 ph = put(b, i32_host(pos_hist)), pn = put(b, i32_host(pos));
    Guarded att = guarded(b, DType::f32, {kN, kHq, d}), y = guarded(b, DType::f32, {kN, kM});
    auto ok = [](Status s) { EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message); };
    ok(b.kv_store(kh, vh, ph, *kc, *vc));
    ok(b.kv_store(kn, vn, pn, *kc, *vc));
    AttentionDesc desc;
    desc.scale = 1.0f / float(d);
    if (!halves) {
        ok(b.attention(q, *kc, *vc, pn, Tensor{}, desc, att.view));
    } else {
        for (int64_t r0 : {int64_t(0), kN / 2})
            ok(b.attention(tensor_rows(q, r0, kN / 2), *kc, *vc, tensor_rows(pn, r0, kN / 2),
                           Tensor{}, desc, tensor_rows(att.view, r0, kN / 2)));
    }
    ok(b.matmul(tensor_reshape(att.view, {kN, k}), w, y.view));
    std::vector<float> all = read_f32(b, att.view), ys = read_f32(b, y.view);
    EXPECT_TRUE(guards_intact(b, att) && guards_intact(b, y)) << "write outside an output";
    all.insert(all.end(), ys.begin(), ys.end());
    return all;
}

class CudaAttentionRound : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        const Case c = GetParam();
        gpu_ = open_gpu(c.backend, c.fa512_v1, true);
        if (!gpu_) GTEST_SKIP() << c.backend << " unavailable";
        off_ = open_gpu(c.backend, c.fa512_v1, false);
        auto ref = backend_create("cpu-ref");
        ASSERT_TRUE(off_ && ref.ok());
        ref_ = std::move(*ref);
    }
    std::unique_ptr<Backend> gpu_, off_, ref_;
};

// One fused pair per cache type; the o projection reads bitwise what round_x would have written.
// cpu-ref bound: attention's f16 inputs (2e-5, cuda_attention_gpu_test) plus x rounded to bf16
// once (blas_lowp, ~1e-5 per GEMM; the split is ~1e-11), with margin.
TEST_P(CudaAttentionRound, SameAsRoundingInTheMatmul) {
    const Case c = GetParam();
    for (DType kv : {DType::f32, DType::bf16, DType::q8_0}) {
        const std::string what = std::string(dtype_name(kv)) + " cache";
        const std::vector<float> g = attend_project(*gpu_, c, kv, false),
                                 o = attend_project(*off_, c, kv, false),
                                 r = attend_project(*ref_, c, kv, false);
        EXPECT_EQ(first_bit_difference(o, g), -1) << what;
        EXPECT_LE(nmse(r, g), 1e-4) << what;
    }
    EXPECT_EQ(queue_counts(*gpu_).x16_reused, size_t(3));
    EXPECT_EQ(queue_counts(*off_).x16_reused, size_t(0));
}

// Attention in two calls of half the rows each (per-sequence attention): the last record wrote
// only half of x, so the matmul rounds x itself.
TEST_P(CudaAttentionRound, NoReuseAfterAttentionOfPartRows) {
    const Case c = GetParam();
    const std::vector<float> g = attend_project(*gpu_, c, DType::f32, true),
                             o = attend_project(*off_, c, DType::f32, true);
    EXPECT_EQ(first_bit_difference(o, g), -1);
    EXPECT_EQ(queue_counts(*gpu_).x16_reused, size_t(0));
}

std::vector<Case> round_cases() {
    std::vector<Case> v;
    for (bool v1 : {false, true})
        for (int64_t d : {int64_t(256), int64_t(512)}) {
            if (v1 && d != 512) continue;  // the switch concerns D 512 only
            v.push_back({"cuda", DType::bf16, v1, d});
            v.push_back({"cuda-bf16", DType::bf16, v1, d});
        }
    v.push_back({"cuda", DType::f16, false, 256});
    v.push_back({"cuda-bf16", DType::f16, false, 512});
    return v;
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaAttentionRound, ::testing::ValuesIn(round_cases()),
                         [](const ::testing::TestParamInfo<Case> & i) {
                             return test_name(i.param.backend) + "_" + dtype_name(i.param.weights) +
                                    (i.param.fa512_v1 ? "_fa512v1" : "") + "_d" +
                                    std::to_string(i.param.d);
                         });

}  // namespace
}  // namespace gemma::cuda_test
