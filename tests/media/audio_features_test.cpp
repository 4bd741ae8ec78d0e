// Audio front end against the reference: audio.wav through decode + log-mel must give the golden
// input_features and mask (tests/data/tiny-gemma4/golden.safetensors), plus spec invariants.
#include "media/audio_features.h"

#include <gtest/gtest.h>

#include <cmath>

#include "golden.h"
#include "media/audio.h"

namespace gemma::media {
namespace {

TEST(AudioFeatures, TokenArithmeticMatchesSpec) {
    // spec gemma4-multimodal §4.3 worked values.
    EXPECT_EQ(audio_num_soft_tokens(8000), 13);
    EXPECT_EQ(audio_num_soft_tokens(16000), 25);
    EXPECT_EQ(audio_num_soft_tokens(36800), 58);
    EXPECT_EQ(audio_num_soft_tokens(160000), 250);
    EXPECT_EQ(audio_num_soft_tokens(480000), 750);
    EXPECT_EQ(audio_num_soft_tokens(900000), 750);
    EXPECT_EQ(audio_num_soft_tokens(160), 0);
    EXPECT_EQ(audio_num_valid_frames(36800), 229);
}

TEST(AudioFeatures, FilterbankSanity) {
    // spec §4.1: filter 0 is empty, filters 1–5 touch one bin each, filter 127 spans 11 bins.
    auto fb = audio_mel_filterbank();
    auto nonzero = [&](int m) {
        int c = 0;
        for (int k = 0; k < 257; ++k) c += fb[size_t(k) * 128 + size_t(m)] > 0.0;
        return c;
    };
    EXPECT_EQ(nonzero(0), 0);
    for (int m = 1; m <= 5; ++m) EXPECT_EQ(nonzero(m), 1) << "filter " << m;
    EXPECT_EQ(nonzero(127), 11);
}

TEST(AudioFeatures, GoldenInputFeatures) {
    auto golden = test::load_golden(test::tiny_dir() + "/golden.safetensors");
    ASSERT_TRUE(golden.count("audio.input_features"));
    auto audio = audio_load_16k(test::tiny_dir() + "/audio.wav");
    ASSERT_TRUE(audio.ok()) << audio.error().message;
    ASSERT_EQ(audio->samples.size(), 36800u);
    // The fixtures divided int16 by 32767; libsndfile divides by 32768. Undo the difference so
    // the comparison measures the front end, not the PCM convention (spec §4 allows either).
    std::vector<float> x = audio->samples;
    for (float & v : x) v = float(double(v) * 32768.0 / 32767.0);
    AudioFeatureOptions opt;
    opt.pad_like_reference = true;
    auto f = audio_log_mel(x, opt);
    ASSERT_TRUE(f.ok());
    const auto & ref = golden.at("audio.input_features");
    ASSERT_EQ(ref.shape, (std::vector<int64_t>{230, 128}));
    ASSERT_EQ(f->n_frames, 230);
    EXPECT_EQ(std::vector<int32_t>(f->mask.begin(), f->mask.end()),
              golden.at("audio.input_features_mask").i32());
    // float32 output of a float64 pipeline: differences come from the float32 window product,
    // the FFT's summation order and the final cast, i.e. a few float32 ulps of values <= ~10.
    auto r = ref.f32();
    double worst = 0.0;
    for (size_t i = 0; i < r.size(); ++i)
        worst = std::max(worst, double(std::fabs(f->values[i] - r[i])));
    EXPECT_LT(worst, 1e-5);  // measured 4.8e-7
    std::printf("max |features - golden| = %.3g\n", worst);
    // Unpadded mode gives exactly the valid prefix.
    auto u = audio_log_mel(x);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->n_frames, 229);
    EXPECT_EQ(u->n_valid(), 229);
    EXPECT_TRUE(std::equal(u->values.begin(), u->values.end(), f->values.begin()));
    // Invariant: mel bin 0 is ln(0.001) on every valid frame.
    for (int t = 0; t < 229; ++t) EXPECT_NEAR(u->values[size_t(t) * 128], std::log(1e-3), 1e-6);
}

TEST(AudioFeatures, ShortClips) {
    std::vector<float> tiny(160, 0.1f);
    auto f = audio_log_mel(tiny);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->n_frames, 0);
    std::vector<float> tenth(1600, 0.1f);  // 0.1 s: T = floor(1599/160) = 9 frames, 3 tokens
    auto g = audio_log_mel(tenth);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->n_frames, 9);
    EXPECT_EQ(audio_num_soft_tokens(1600), 3);
}

}  // namespace
}  // namespace gemma::media
