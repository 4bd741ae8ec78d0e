// MediaCases (the verify hook) against every image.* / audio.* golden of tiny-gemma4, plus the
// vision encoder's input checks.
#include <gtest/gtest.h>

#include <cmath>

#include "model/gemma4/embedder_cases.h"
#include "vision_backend_util.h"

namespace gemma::gemma4 {
namespace {

std::string tiny_dir() { return std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4"; }

double rel_error(const Tensor & a, const Tensor & b) {
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < b.numel(); ++i) {
        const double x = b.dtype == DType::i32 ? b.ptr<int32_t>()[i] : b.ptr<float>()[i];
        const double y = a.dtype == DType::i32 ? a.ptr<int32_t>()[i] : a.ptr<float>()[i];
        num += (y - x) * (y - x);
        den += x * x;
    }
    return std::sqrt(num / (den > 0 ? den : 1.0));
}

TEST(MediaCases, EveryMultimodalGolden) {
    auto cases = MediaCases::open(tiny_dir());
    ASSERT_TRUE(cases.ok()) << cases.error().message;
    auto golden = io::open_safetensors(tiny_dir() + "/golden.safetensors");
    ASSERT_TRUE(golden.ok());
    int n = 0;
    for (const std::string & name : (*golden)->names()) {
        if (!MediaCases::handles(name)) continue;
        ++n;
        auto out = (*cases)->run(name);
        ASSERT_TRUE(out.ok()) << name << ": " << out.error().message;
        auto ref = (*golden)->get(name);
        ASSERT_TRUE(ref.ok());
        ASSERT_EQ(out->shape, ref->shape) << name;
        ASSERT_EQ(out->dtype, ref->dtype) << name;
        const double e = rel_error(*out, *ref);
        std::printf("%-26s rel err %.3g\n", name.c_str(), e);
        // fixtures README: fp32 within ~1e-4 relative; audio.* carry the 32768-vs-32767 PCM
        // scale (3e-5 relative input change, spec §4 allows either).
        EXPECT_LT(e, 1e-4) << name;
    }
    EXPECT_EQ(n, 7);
    EXPECT_FALSE((*cases)->run("text.logits").ok());
}

TEST(VisionEncoderInput, BadPatchesAreClearErrors) {
    auto cfg = load_config(tiny_dir());
    auto w = io::open_safetensors(tiny_dir());
    ASSERT_TRUE(cfg.ok() && w.ok());
    auto enc = VisionEncoder::load(*cfg, **w);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    auto p = vision_test::oversized_strip_patches();
    ASSERT_TRUE(p.ok());
    auto r = enc->encode(*p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("position table"), std::string::npos);
    // A partial grid (a row of patches dropped) is refused, not pooled wrongly.
    media::Image img;
    img.width = 317;
    img.height = 211;
    img.rgb.assign(size_t(317) * 211 * 3, 128);
    media::ImageOptions small;
    small.max_soft_tokens = 70;
    auto q = media::image_preprocess(img, small);
    ASSERT_TRUE(q.ok());
    q->n_rows -= 1;
    q->pixel_values.resize(size_t(q->n_rows) * media::kImagePatchDim);
    q->position_ids.resize(size_t(q->n_rows) * 2);
    auto s = enc->encode(*q);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("full grid"), std::string::npos);
}

TEST(VisionEncoderInput, ClippedConfigNeedsBoundTensors) {
    // The tiny vision tower has no clip scalars; claiming use_clipped_linears must fail by name.
    auto cfg = load_config(tiny_dir());
    ASSERT_TRUE(cfg.ok());
    const std::string key = "\"use_clipped_linears\": false";
    std::string json = cfg->raw_json;
    const size_t at = json.rfind(key);  // the vision_config entry is the last one in the file
    ASSERT_NE(at, std::string::npos);
    json.replace(at, key.size(), "\"use_clipped_linears\": true");
    auto clipped = parse_config(json, "edited");
    ASSERT_TRUE(clipped.ok());
    auto w = io::open_safetensors(tiny_dir());
    ASSERT_TRUE(w.ok());
    auto enc = VisionEncoder::load(*clipped, **w);
    ASSERT_FALSE(enc.ok());
    EXPECT_EQ(enc.error().code, ErrorCode::not_found);
    EXPECT_NE(enc.error().message.find("q_proj.input_min"), std::string::npos)
        << enc.error().message;
}

}  // namespace
}  // namespace gemma::gemma4
