// CUDA small-batch matmul on tensor cores (ops/matmul_mma.cu: 9-64 x rows, bf16 / f16 weights)
// vs cpu-ref for "cuda" (x split into hi + lo) and "cuda-bf16" (x rounded once), on E4B shapes
// and odd ones (m not a multiple of the 128-row block, k not of the 128-column stage, split k);
// the off switch (CudaOptions::mma_small, env GEMMA_CUDA_MMA_SMALL=0) keeps the cuBLAS path; the
// path is named in the op profile; split-k results repeat bit for bit. Skipped without a GPU.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cuda_harness.h"
#if GEMMA_HAS_CUDA  // set for targets linking the CUDA backend
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

#if GEMMA_HAS_CUDA

// "cuda": x = hi + lo leaves 2^-17 (bf16) / 2^-22 (f16) of x, NMSE ~1e-11, plus the f32
// tensor-core accumulation (truncating, k up to 10240, hi and lo into one accumulator): < 1e-9
// expected. 1e-8 still fails a dropped lo term (bf16 ~2e-6, f16 ~3e-8).
constexpr double kSplitTol = 1e-8;
// "cuda-bf16": x rounded once to w's type, 2^-9 (bf16) / 2^-12 (f16) relative per product (the
// bounds of cuda_ops_gpu_test.cpp for the blas_lowp path).
double lowp_tol(DType w) { return w == DType::bf16 ? 1e-5 : 1e-6; }

struct MK {
    int64_t m, k;
};

// out = x · wᵀ on backend b into a guarded output; empty (a failed expectation) on error.
std::vector<float> run_matmul(Backend & b, const Tensor & x, const Tensor & w, int64_t m,
                              const std::string & what) {
    const int64_t n = x.dim(0);
    Guarded out = guarded(b, DType::f32, {n, m});
    Status s = b.matmul(put(b, x), put(b, w), out.view);
    EXPECT_TRUE(s.ok()) << what << ": " << (s.ok() ? "" : s.error().message);
    if (!s.ok()) return {};
    EXPECT_TRUE(guards_intact(b, out)) << what << ": write outside the output";
    return read_f32(b, out.view);
}

std::unique_ptr<Backend> make_gpu(cuda::CudaPrecision precision, bool mma_small) {
    auto gpu = cuda::make_cuda_backend({.precision = precision, .mma_small = mma_small});
    return gpu ? std::move(*gpu) : nullptr;
}

class CudaMatmulMma : public ::testing::Test {
protected:
    void SetUp() override {
        auto gpu = cuda::make_cuda_backend({});
        if (!gpu) GTEST_SKIP() << "cuda unavailable: " << gpu.error().message;
        split_ = std::move(*gpu);
        lowp_ = make_gpu(cuda::CudaPrecision::bf16, true);
        split_off_ = make_gpu(cuda::CudaPrecision::split16, false);
        lowp_off_ = make_gpu(cuda::CudaPrecision::bf16, false);
        auto ref = backend_create("cpu-ref");
        ASSERT_TRUE(lowp_ && split_off_ && lowp_off_ && ref.ok());
        ref_ = std::move(*ref);
    }
    std::unique_ptr<Backend> ref_, split_, lowp_, split_off_, lowp_off_;
};

// n at the path's edges, at the 8-row tile edges and E4B's 32 streams; m×k: E4B's o_proj
// 2560×2048 and k/v 512×2560, 1000×2560 (m past a 128-row block), 64×10240 (one block, k split
// ~27 ways), 200×336 (k past a 128-column stage) and 40000×256 (many blocks: k not split).
TEST_F(CudaMatmulMma, MatchesReferenceOnE4bShapes) {
    const int64_t ns[] = {9, 16, 31, 32, 33, 64};
    const MK shapes[] = {{2560, 2048}, {512, 2560}, {1000, 2560},
                         {64, 10240},  {200, 336},  {40000, 256}};
    for (DType wt : {DType::bf16, DType::f16}) {
        for (const MK & sh : shapes) {
            Tensor w = random_host(wt, {sh.m, sh.k}, 31, -0.1f, 0.1f);
            for (int64_t n : ns) {
                Tensor x = random_host(DType::f32, {n, sh.k}, uint32_t(32 + n));
                const std::string what = format("matmul %s n=%lld k=%lld m=%lld", dtype_name(wt),
                                                (long long)n, (long long)sh.k, (long long)sh.m);
                std::vector<float> ref = run_matmul(*ref_, x, w, sh.m, what + " cpu-ref");
                const double e_split = nmse(ref, run_matmul(*split_, x, w, sh.m, what));
                const double e_lowp = nmse(ref, run_matmul(*lowp_, x, w, sh.m, what));
                EXPECT_LE(e_split, kSplitTol) << what << " (cuda)";
                EXPECT_LE(e_lowp, lowp_tol(wt)) << what << " (cuda-bf16)";
                std::printf("%s: nmse cuda %.3g, cuda-bf16 %.3g\n", what.c_str(), e_split, e_lowp);
            }
        }
    }
}

// The off switch: the same operands through cuBLAS (blas_split / blas_lowp) stay within the
// same bounds (its own tests are cuda_ops_gpu_test.cpp; this checks the option reaches it).
TEST_F(CudaMatmulMma, OffSwitchKeepsTheBlasPath) {
    for (DType wt : {DType::bf16, DType::f16}) {
        Tensor w = random_host(wt, {512, 2560}, 41, -0.1f, 0.1f);
        Tensor x = random_host(DType::f32, {32, 2560}, 42);
        const std::string what = std::string("matmul off ") + dtype_name(wt);
        std::vector<float> ref = run_matmul(*ref_, x, w, 512, what + " cpu-ref");
        EXPECT_LE(nmse(ref, run_matmul(*split_off_, x, w, 512, what)), kSplitTol) << what;
        EXPECT_LE(nmse(ref, run_matmul(*lowp_off_, x, w, 512, what)), lowp_tol(wt)) << what;
    }
}

// Split k (small m) merges its partials in a fixed order: two runs give the same bits.
TEST_F(CudaMatmulMma, SplitKRepeatsBitForBit) {
    Tensor w = random_host(DType::bf16, {256, 10240}, 51, -0.1f, 0.1f);
    Tensor x = random_host(DType::f32, {32, 10240}, 52);
    for (Backend * b : {split_.get(), lowp_.get()}) {
        std::vector<float> a = run_matmul(*b, x, w, 256, "first run");
        std::vector<float> c = run_matmul(*b, x, w, 256, "second run");
        ASSERT_EQ(a.size(), c.size());
        EXPECT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float)))
            << b->info().name << ": split-k results differ between runs";
    }
}

// The op profile (GEMMA_CUDA_PROFILE=1, printed at destruction with GEMMA_CUDA_STATS=1) names
// the path: "matmul_mma MxK" by default on sm_80+ devices, plain "matmul MxK" (cuBLAS) with
// GEMMA_CUDA_MMA_SMALL=0.
std::string profile_of_one_matmul(const char * mma_env) {
    setenv("GEMMA_CUDA_PROFILE", "1", 1);
    setenv("GEMMA_CUDA_STATS", "1", 1);
    if (mma_env) setenv("GEMMA_CUDA_MMA_SMALL", mma_env, 1);
    auto gpu = backend_create("cuda");
    unsetenv("GEMMA_CUDA_PROFILE");
    unsetenv("GEMMA_CUDA_MMA_SMALL");
    if (!gpu) {
        unsetenv("GEMMA_CUDA_STATS");
        ADD_FAILURE() << gpu.error().message;
        return "";
    }
    Tensor w = random_host(DType::bf16, {512, 2560}, 61, -0.1f, 0.1f);
    Tensor x = random_host(DType::f32, {32, 2560}, 62);
    run_matmul(**gpu, x, w, 512, "profiled matmul");
    ::testing::internal::CaptureStderr();
    gpu->reset();  // prints the profile
    unsetenv("GEMMA_CUDA_STATS");
    return ::testing::internal::GetCapturedStderr();
}

TEST_F(CudaMatmulMma, ProfileNamesThePath) {
    const std::string on = profile_of_one_matmul(nullptr);
    EXPECT_NE(on.find("matmul_mma 512x2560"), std::string::npos) << on;
    const std::string off = profile_of_one_matmul("0");
    EXPECT_NE(off.find("matmul 512x2560"), std::string::npos) << off;
    EXPECT_EQ(off.find("matmul_mma"), std::string::npos) << off;
}

#else
TEST(CudaMatmulMma, NeedsTheCudaBackend) {
    GTEST_SKIP() << "built without the CUDA backend (GEMMA_CUDA=OFF)";
}
#endif

}  // namespace
}  // namespace gemma::cuda_test
