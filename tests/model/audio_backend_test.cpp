// The audio tower on the Backend ops (AudioBackendEncoder) on cpu-ref and cpu: log-mel features
// -> Conformer -> embed_audio must give the golden audio.soft_tokens within the fp32 tolerance,
// the trained sliding mask must stay causal, it must agree with the CPU path (audio.h), and bad
// input gives the same clear errors.
#include "audio_backend_util.h"

using namespace audio_backend_test;

namespace {

class AudioBackendGolden : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        auto b = backend_create(GetParam());
        ASSERT_TRUE(b.ok()) << b.error().message;
        backend_ = std::move(*b);
        auto w = io::open_safetensors(golden_test::kTiny + "/model.safetensors");
        ASSERT_TRUE(w.ok()) << w.error().message;
        weights_ = std::move(*w);
        golden_ = golden_test::open_golden(golden_test::kTiny);
        ASSERT_TRUE(golden_.src);
    }
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<io::TensorSource> weights_;
    golden_test::Golden golden_;
};

TEST_P(AudioBackendGolden, SoftTokensFromGoldenFeatures) {
    auto enc = load_encoder(*backend_, *weights_);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    auto soft = (*enc)->encode(golden_features(golden_));
    ASSERT_TRUE(soft.ok()) << soft.error().message;
    Tensor ref = golden_.get("audio.soft_tokens");
    ASSERT_EQ(soft->shape, ref.shape);
    double e = rel_error(*soft, ref);
    std::printf("%s: audio.soft_tokens rel err (golden features) %.3g\n", GetParam().c_str(), e);
    EXPECT_LT(e, golden_test::kTol);  // fixtures README: fp32 lands within ~1e-4
}

TEST_P(AudioBackendGolden, SoftTokensFromWav) {
    auto enc = load_encoder(*backend_, *weights_);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    auto audio = media::audio_load_16k(golden_test::kTiny + "/audio.wav");
    ASSERT_TRUE(audio.ok()) << audio.error().message;
    auto clips = encode_audio_clips(**enc, *audio);
    ASSERT_TRUE(clips.ok()) << clips.error().message;
    ASSERT_EQ(clips->size(), 1u);
    Tensor ref = golden_.get("audio.soft_tokens");
    ASSERT_EQ((*clips)[0].shape, ref.shape);
    // /32768 vs the fixture's /32767 PCM scale: the same 1e-4 as audio_encoder_test.
    EXPECT_LT(rel_error((*clips)[0], ref), golden_test::kTol);
}

// The trained mask on wav features: equal to the CPU path (audio.h) within fp32 rounding, and
// causal: perturbing frames >= 120 leaves output rows 0..29 (which read frames <= 4r + 3)
// bit-identical.
TEST_P(AudioBackendGolden, SlidingMaskMatchesCpuPathAndIsCausal) {
    auto enc = load_encoder(*backend_, *weights_, AudioMaskMode::sliding);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    auto cfg = load_config(golden_test::kTiny);
    ASSERT_TRUE(cfg.ok());
    auto cpu = AudioEncoder::load(*cfg, *weights_);
    ASSERT_TRUE(cpu.ok()) << cpu.error().message;
    auto audio = media::audio_load_16k(golden_test::kTiny + "/audio.wav");
    ASSERT_TRUE(audio.ok());
    auto feats = media::audio_log_mel(audio->samples);
    ASSERT_TRUE(feats.ok());
    auto base = (*enc)->encode(*feats);
    auto cpu_soft = cpu->encode(*feats);
    ASSERT_TRUE(base.ok() && cpu_soft.ok());
    ASSERT_EQ(base->shape, cpu_soft->shape);
    EXPECT_LT(rel_error(*base, *cpu_soft), golden_test::kTol);

    media::AudioFeatures f = *feats;
    for (int t = 120; t < f.n_frames; ++t) f.values[size_t(t) * 128 + 7] += 1.0f;
    auto changed = (*enc)->encode(f);
    ASSERT_TRUE(changed.ok());
    const int64_t w = base->dim(1);
    auto row_equal = [&](int64_t r) {
        return std::equal(base->ptr<float>() + r * w, base->ptr<float>() + (r + 1) * w,
                          changed->ptr<float>() + r * w);
    };
    for (int r = 0; r < 30; ++r) EXPECT_TRUE(row_equal(r)) << "row " << r;
    EXPECT_FALSE(row_equal(31));
}

TEST_P(AudioBackendGolden, BadFeaturesAreClearErrorsAndSilenceIsEmpty) {
    auto enc = load_encoder(*backend_, *weights_, AudioMaskMode::sliding);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    media::AudioFeatures f = golden_features(golden_);
    f.mask[10] = 0;
    auto hole = (*enc)->encode(f);
    ASSERT_FALSE(hole.ok());
    EXPECT_EQ(hole.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(hole.error().message.find("hole"), std::string::npos) << hole.error().message;

    media::AudioFeatures narrow{4, 80, std::vector<float>(4 * 80), std::vector<uint8_t>(4, 1)};
    auto w = (*enc)->encode_hidden(narrow);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find("128 mel"), std::string::npos) << w.error().message;

    media::Audio silent{16000, std::vector<float>(100)};  // no frame, no token
    auto c = encode_audio_clips(**enc, silent);
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_EQ(c->size(), 1u);
    EXPECT_EQ((*c)[0].dim(0), 0);
    EXPECT_EQ((*c)[0].dim(1), 64);
}

INSTANTIATE_TEST_SUITE_P(Cpu, AudioBackendGolden, ::testing::Values("cpu-ref", "cpu"),
                         [](const auto & info) {
                             return info.param == "cpu-ref" ? std::string("cpu_ref")
                                                            : std::string(info.param);
                         });

// A checkpoint without the audio tower's tensors is a clear load error, not a crash.
TEST(AudioBackendLoad, MissingTensorIsNotFound) {
    auto b = backend_create("cpu-ref");
    ASSERT_TRUE(b.ok());
    auto cfg = load_config(golden_test::kTiny);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    auto w = io::open_safetensors(golden_test::kTiny + "/golden.safetensors");  // no weights
    ASSERT_TRUE(w.ok());
    auto enc = AudioBackendEncoder::load(*cfg, **w, **b);
    ASSERT_FALSE(enc.ok());
    EXPECT_EQ(enc.error().code, ErrorCode::not_found);
    EXPECT_NE(enc.error().message.find("model.audio_tower."), std::string::npos)
        << enc.error().message;
}

}  // namespace
