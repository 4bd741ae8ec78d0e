// The vision tower's backend path on "cuda" and "cuda-f32": the tiny fixture against the reference
// goldens, and synthetic clipped towers (small, and E4B widths with 2 layers at budget 280: 2,376
// patches, where "cuda" runs the tensor-core attention and split-bf16 GEMMs) against vision.cpp's
// CPU path. Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "model/gemma4/text.h"
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
        auto small = synthetic_vs_cpu_path(**b, mm_synthetic_config("small"), 140, true);
        ASSERT_TRUE(small.ok()) << c.name << ": " << small.error().message;
        auto e4b = synthetic_vs_cpu_path(**b, e4b_width_config(2), 280, /*reference=*/false);
        ASSERT_TRUE(e4b.ok()) << c.name << ": " << e4b.error().message;
        std::printf("%-8s synthetic towers vs CPU path: small rel err %.3g, e4b widths %.3g\n",
                    c.name, *small, *e4b);
        EXPECT_LT(*small, c.synthetic_tol) << c.name << " small";
        EXPECT_LT(*e4b, c.synthetic_tol) << c.name << " e4b";
    }
}

// The engine's arrangement: the text model on one CUDA backend (scheduler thread), images on a
// second instance driven by another thread at the same time (media worker). Both must still give
// the reference results (a backend shared across threads would not: its op queue is per stream).
TEST(VisionBackendGpu, TwoInstancesOnTwoThreads) {
    auto text_backend = backend_create("cuda-f32");
    if (!text_backend.ok()) GTEST_SKIP() << "cuda unavailable: " << text_backend.error().message;
    auto vision_backend = backend_create("cuda-f32");
    ASSERT_TRUE(vision_backend.ok()) << vision_backend.error().message;
    golden_test::Golden g = golden_test::open_golden(golden_test::kTiny);
    ASSERT_TRUE(g.src);
    TextModelOptions mo;
    mo.max_batch = 64;
    mo.max_logit_rows = 64;
    auto model = load_text_model(golden_test::kTiny, **text_backend, mo);
    ASSERT_TRUE(model.ok()) << model.error().message;
    const std::vector<int32_t> ids = g.ids("text.input_ids");
    const Tensor ref_logits = g.get("text.logits");
    constexpr int kRounds = 20;
    double text_err = 0, vision_err = 0;
    std::string text_fail, vision_fail;
    std::thread vision([&] {
        auto e = golden_errors(**vision_backend);  // each round: upload the tower, encode
        for (int r = 0; r < kRounds && e.ok(); ++r) {
            vision_err = std::max({vision_err, e->hidden, e->soft});
            if (r + 1 < kRounds) e = golden_errors(**vision_backend);
        }
        if (!e.ok()) vision_fail = e.error().message;
    });
    for (int r = 0; r < kRounds; ++r) {
        auto kv = (*model)->make_kv_cache(int(ids.size()));
        if (!kv.ok()) {
            text_fail = kv.error().message;
            break;
        }
        auto l = (*model)->forward({ids, {}, true}, *kv);
        auto v = l.ok() ? read_f32(**text_backend, *l) : Result<std::vector<float>>(l.error());
        if (!v.ok()) {
            text_fail = v.error().message;
            break;
        }
        text_err = std::max(text_err, golden_test::rel_error(v->data(), ref_logits.ptr<float>(),
                                                             size_t(ref_logits.numel())));
    }
    vision.join();
    ASSERT_TRUE(text_fail.empty()) << text_fail;
    ASSERT_TRUE(vision_fail.empty()) << vision_fail;
    std::printf("concurrent: text logits max rel err %.3g, vision max rel err %.3g\n", text_err,
                vision_err);
    EXPECT_LT(text_err, golden_test::kTol);  // cuda-f32: f32 products, the fp32 bound
    EXPECT_LT(vision_err, golden_test::kTol);
}
