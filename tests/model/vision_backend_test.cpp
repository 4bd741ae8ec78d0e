// The vision tower's backend path (vision_backend.h) on cpu-ref and cpu: the tiny fixture's
// image against the reference goldens, a clipped synthetic tower against vision.cpp's reference
// loops, the same input errors as the CPU path, and the path resolver.
#include <gtest/gtest.h>

#include "vision_backend_util.h"

using namespace vision_test;

namespace {

std::unique_ptr<Backend> make(const std::string & name) {
    auto b = backend_create(name);
    EXPECT_TRUE(b.ok()) << name << ": " << b.error().message;
    return b.ok() ? std::move(*b) : nullptr;
}

}  // namespace

TEST(VisionBackend, GoldensOnCpuBackends) {
    for (const char * name : {"cpu-ref", "cpu"}) {
        auto b = make(name);
        ASSERT_TRUE(b);
        auto e = golden_errors(*b);
        ASSERT_TRUE(e.ok()) << name << ": " << e.error().message;
        std::printf("%-8s vision_last_hidden rel err %.3g, soft_tokens rel err %.3g\n", name,
                    e->hidden, e->soft);
        // fixtures README: an fp32 implementation lands within ~1e-4 relative of the reference.
        EXPECT_LT(e->hidden, golden_test::kTol) << name;
        EXPECT_LT(e->soft, golden_test::kTol) << name;
    }
}

TEST(VisionBackend, ClippedSyntheticTowerMatchesCpuReference) {
    // The fixture tower has no clip bounds; the synthetic "small" one does (head_dim 64, some
    // values clipped). Same fp32 math as the reference loops; only summation orders differ
    // (the budget mm_fast_vs_reference_test allows the OpenBLAS path: 1e-5).
    for (const char * name : {"cpu-ref", "cpu"}) {
        auto b = make(name);
        ASSERT_TRUE(b);
        auto e = synthetic_vs_cpu_path(*b, mm_synthetic_config("small"), 140, /*reference=*/true);
        ASSERT_TRUE(e.ok()) << name << ": " << e.error().message;
        std::printf("%-8s synthetic clipped tower vs reference loops: rel err %.3g\n", name, *e);
        EXPECT_LT(*e, 1e-5) << name;
    }
}

TEST(VisionBackend, BadPatchesAreClearErrors) {
    auto cfg = load_config(golden_test::kTiny);
    auto w = io::open_safetensors(golden_test::kTiny);
    ASSERT_TRUE(cfg.ok() && w.ok());
    auto b = make("cpu");
    ASSERT_TRUE(b);
    auto enc = VisionBackendEncoder::load(*cfg, **w, *b);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    auto p = oversized_strip_patches();
    ASSERT_TRUE(p.ok());
    auto r = (*enc)->encode(*p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("position table"), std::string::npos);
    // A partial grid (the first patch marked as padding) is refused, not pooled wrongly; the
    // encoder still works afterwards.
    auto q = tiny_patches();
    ASSERT_TRUE(q.ok()) << q.error().message;
    media::ImagePatches cut = *q;
    cut.position_ids[0] = cut.position_ids[1] = -1;
    auto s = (*enc)->encode(cut);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("full grid"), std::string::npos);
    // Sizes that disagree with n_rows.
    media::ImagePatches bad = *q;
    bad.pixel_values.pop_back();
    auto t = (*enc)->encode_hidden(bad);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::invalid_argument);
    auto ok = (*enc)->encode(*q);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->dim(0), 60);  // golden image.soft_tokens rows
}

TEST(VisionBackend, ClippedConfigNeedsBoundTensors) {
    // As the CPU path: claiming use_clipped_linears without the bound scalars fails by name.
    auto cfg = load_config(golden_test::kTiny);
    ASSERT_TRUE(cfg.ok());
    const std::string key = "\"use_clipped_linears\": false";
    std::string json = cfg->raw_json;
    const size_t at = json.rfind(key);
    ASSERT_NE(at, std::string::npos);
    json.replace(at, key.size(), "\"use_clipped_linears\": true");
    auto clipped = parse_config(json, "edited");
    ASSERT_TRUE(clipped.ok());
    auto w = io::open_safetensors(golden_test::kTiny);
    ASSERT_TRUE(w.ok());
    auto b = make("cpu-ref");
    ASSERT_TRUE(b);
    auto enc = VisionBackendEncoder::load(*clipped, **w, *b);
    ASSERT_FALSE(enc.ok());
    EXPECT_EQ(enc.error().code, ErrorCode::not_found);
    EXPECT_NE(enc.error().message.find("q_proj.input_min"), std::string::npos)
        << enc.error().message;
    // A config without a vision tower.
    auto text_only = preset_config("tiny");
    ASSERT_TRUE(text_only.ok());
    auto none = VisionBackendEncoder::load(*text_only, **w, *b);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, ErrorCode::not_found);
    auto no_backend = VisionBackendEncoder::load(*cfg, **w, std::unique_ptr<Backend>());
    ASSERT_FALSE(no_backend.ok());
    EXPECT_EQ(no_backend.error().code, ErrorCode::invalid_argument);
}

TEST(VisionBackend, PathResolver) {
    BackendInfo cpu{"cpu", "", Where::host, 0}, gpu{"cuda-f32", "", Where::device, 1};
    EXPECT_EQ(vision_path_resolve("", cpu), kHostVisionPath);
    EXPECT_EQ(vision_path_resolve("auto", cpu), kHostVisionPath);
    EXPECT_EQ(vision_path_resolve("auto", gpu), "cuda-f32");
    EXPECT_EQ(vision_path_resolve("", gpu), "cuda-f32");
    EXPECT_EQ(vision_path_resolve("host", gpu), kHostVisionPath);
    EXPECT_EQ(vision_path_resolve("cpu", cpu), "cpu");
}
