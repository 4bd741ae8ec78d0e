// The encoders' fast path (OpenBLAS sgemm linears and attention, threaded loops) against their
// plain-loop reference mode, on synthetic towers wider than the fixture's; and the synthetic weight
// inventory against the real tensor names and shapes of the tiny-gemma4 checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/gemma4/audio.h"
#include "model/gemma4/mm_synthetic.h"
#include "model/gemma4/vision.h"
#include "text_util.h"

using namespace gemma;
using namespace gemma::gemma4;

namespace {

double rel(const float * a, const float * b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / (den > 0 ? den : 1));
}

// The fast path reorders fp32 sums only (sgemm blocking, softmax before P·V): 1e-5 relative is
// the budget the brief allows; measured values are printed.
constexpr double kFastTol = 1e-5;

}  // namespace

TEST(MmFast, ClippedLinearMatchesLoops) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    mm::Linear l;
    l.in = 77;
    l.out = 45;
    l.w.resize(77 * 45);
    l.bias.resize(45);
    for (float & v : l.w) v = u(rng);
    for (float & v : l.bias) v = u(rng);
    l.in_min = -0.5f;
    l.in_max = 0.6f;
    l.out_min = -2.0f;
    l.out_max = 1.5f;
    std::vector<float> x(37 * 77);
    for (float & v : x) v = 2.0f * u(rng);
    std::vector<float> fast(37 * 45), ref(37 * 45);
    l.forward(x.data(), 37, fast.data());
    l.forward_reference(x.data(), 37, ref.data());
    EXPECT_LT(rel(fast.data(), ref.data(), ref.size()), 1e-6);
    int clipped = 0;
    for (float v : ref) clipped += (v == -2.0f || v == 1.5f);
    EXPECT_GT(clipped, 0);  // the output bounds were exercised
}

TEST(MmFast, VisionTowerMatchesReference) {
    auto cfg = mm_synthetic_config("small");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    auto w = make_synthetic_mm_weights(*cfg, 11);
    ASSERT_TRUE(w.ok()) << w.error().message;
    auto fast = VisionEncoder::load(*cfg, **w);
    auto ref = VisionEncoder::load(*cfg, **w, {true});
    ASSERT_TRUE(fast.ok() && ref.ok()) << (fast.ok() ? ref.error().message : fast.error().message);
    media::Image img;  // an asymmetric gradient, 200 × 300
    img.width = 300;
    img.height = 200;
    img.rgb.resize(size_t(300) * 200 * 3);
    for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = uint8_t((i * 7 + i / 900) % 251);
    media::ImageOptions o;
    o.max_soft_tokens = 140;
    auto p = media::image_preprocess(img, o);
    ASSERT_TRUE(p.ok());
    auto a = fast->encode(*p);
    auto b = ref->encode(*p);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->shape, b->shape);
    EXPECT_EQ(a->dim(0), p->grid.n_soft_tokens());
    const double e = rel(a->ptr<float>(), b->ptr<float>(), size_t(b->numel()));
    std::printf("vision fast vs reference: %zu patches, rel err %.3g\n",
                p->pixel_values.size() / 768, e);
    EXPECT_LT(e, kFastTol);
}

TEST(MmFast, AudioTowerMatchesReference) {
    auto cfg = mm_synthetic_config("small");
    ASSERT_TRUE(cfg.ok());
    auto w = make_synthetic_mm_weights(*cfg, 12);
    ASSERT_TRUE(w.ok());
    auto fast = AudioEncoder::load(*cfg, **w);
    AudioEncoderOptions ro;
    ro.reference = true;
    auto ref = AudioEncoder::load(*cfg, **w, ro);
    ASSERT_TRUE(fast.ok() && ref.ok()) << (fast.ok() ? ref.error().message : fast.error().message);
    std::vector<float> wave(16000 * 3);  // 3 s: a chirp plus a little noise
    std::mt19937 rng(3);
    std::normal_distribution<float> noise(0.0f, 0.01f);
    for (size_t i = 0; i < wave.size(); ++i)
        wave[i] = 0.3f * std::sin(0.02f * float(i) + 1e-6f * float(i * i)) + noise(rng);
    auto feats = media::audio_log_mel(wave);
    ASSERT_TRUE(feats.ok());
    auto a = fast->encode(*feats);
    auto b = ref->encode(*feats);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->shape, b->shape);
    EXPECT_EQ(a->dim(0), 75);  // 300 frames -> ceil(ceil(299/2)/2)
    const double e = rel(a->ptr<float>(), b->ptr<float>(), size_t(b->numel()));
    std::printf("audio fast vs reference: rel err %.3g\n", e);
    EXPECT_LT(e, kFastTol);
}

TEST(MmSynthetic, InventoryMatchesTheRealCheckpoint) {
    // Same config as tiny-gemma4 -> the same tower tensor names and shapes as its safetensors.
    auto cfg = load_config(text_test::kTiny);
    auto real = io::open_safetensors(text_test::kTiny);
    ASSERT_TRUE(cfg.ok() && real.ok());
    auto syn = make_synthetic_mm_weights(*cfg, 1);
    ASSERT_TRUE(syn.ok()) << syn.error().message;
    std::vector<std::string> want;
    for (const std::string & n : (*real)->names())
        if (n.rfind("model.vision_tower.", 0) == 0 || n.rfind("model.audio_tower.", 0) == 0 ||
            n.rfind("model.embed_vision.", 0) == 0 || n.rfind("model.embed_audio.", 0) == 0)
            want.push_back(n);
    EXPECT_EQ((*syn)->names(), want);
    for (const std::string & n : want) {
        const io::TensorInfo * s = (*syn)->find_or_null(n);
        ASSERT_NE(s, nullptr) << n;
        EXPECT_EQ(s->shape, (*real)->find_or_null(n)->shape) << n;
    }
}
