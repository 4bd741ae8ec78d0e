// The vision tower's backend path on "cuda" and "cuda-f32": the tiny fixture against the reference
// goldens, and synthetic clipped towers (small, and E4B shapes at budget 280, where "cuda" runs
// the tensor-core attention and split-bf16 GEMMs) against vision.cpp's CPU path. Skipped without
// a GPU.
#include <gtest/gtest.h>

#include "vision_backend_util.h"

using namespace vision_test;

namespace {

struct GpuCase {
    const char * name;
    double synthetic_tol;  // against the fp32 CPU path, see the comments at the values
};

// "cuda-f32": f32 FMA everywhere, only summation orders differ (the CPU paths' 1e-5 budget).
// "cuda": prefill GEMMs as split bf16 (f32 class, ~1e-5 each) but attention with head_dim 64
// on tensor cores with f16-rounded q, k, v and probabilities (bf16-compute class, 1e-2).
constexpr GpuCase kCases[] = {{"cuda-f32", 1e-5}, {"cuda", 1e-2}};

}  // namespace

TEST(VisionBackendGpu, GoldensOnCuda) {
    for (const GpuCase & c : kCases) {
        auto b = backend_create(c.name);
        if (!b.ok()) GTEST_SKIP() << c.name << " unavailable: " << b.error().message;
        auto e = golden_errors(**b);
        ASSERT_TRUE(e.ok()) << c.name << ": " << e.error().message;
        std::printf("%-8s vision_last_hidden rel err %.3g, soft_tokens rel err %.3g\n", c.name,
                    e->hidden, e->soft);
        // fixtures README: fp32 within ~1e-4. The fixture's head_dim 16 keeps "cuda" on the f32
        // SIMT attention, and its GEMMs are f32 class, so both modes meet the fp32 bound.
        EXPECT_LT(e->hidden, golden_test::kTol) << c.name;
        EXPECT_LT(e->soft, golden_test::kTol) << c.name;
    }
}

TEST(VisionBackendGpu, ClippedSyntheticTowersMatchCpuPath) {
    for (const GpuCase & c : kCases) {
        auto b = backend_create(c.name);
        if (!b.ok()) GTEST_SKIP() << c.name << " unavailable: " << b.error().message;
        auto small = synthetic_vs_cpu_path(**b, "small", 140, /*reference=*/true);
        ASSERT_TRUE(small.ok()) << c.name << ": " << small.error().message;
        auto e4b = synthetic_vs_cpu_path(**b, "e4b", 280, /*reference=*/false);
        ASSERT_TRUE(e4b.ok()) << c.name << ": " << e4b.error().message;
        std::printf("%-8s synthetic towers vs CPU path: small rel err %.3g, e4b rel err %.3g\n",
                    c.name, *small, *e4b);
        EXPECT_LT(*small, c.synthetic_tol) << c.name << " small";
        EXPECT_LT(*e4b, c.synthetic_tol) << c.name << " e4b";
    }
}
