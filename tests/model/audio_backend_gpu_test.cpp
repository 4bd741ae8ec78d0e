// The audio tower on the Backend ops (AudioBackendEncoder) on CUDA: the golden audio.soft_tokens
// from the reference's features and from audio.wav, within the fp32 tolerance, on "cuda"
// (split-bf16 prefill GEMMs: f32-class products) and "cuda-f32". Skipped without a GPU.
#include "audio_backend_util.h"

using namespace audio_backend_test;

namespace {

class AudioBackendGpu : public ::testing::TestWithParam<std::string> {};

TEST_P(AudioBackendGpu, SoftTokensMatchGolden) {
    auto backend = backend_create(GetParam());
    if (!backend.ok()) GTEST_SKIP() << GetParam() << " unavailable: " << backend.error().message;
    auto w = io::open_safetensors(golden_test::kTiny + "/model.safetensors");
    ASSERT_TRUE(w.ok()) << w.error().message;
    golden_test::Golden g = golden_test::open_golden(golden_test::kTiny);
    ASSERT_TRUE(g.src);
    auto enc = load_encoder(**backend, **w);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    Tensor ref = g.get("audio.soft_tokens");

    auto soft = (*enc)->encode(golden_features(g));
    ASSERT_TRUE(soft.ok()) << soft.error().message;
    ASSERT_EQ(soft->shape, ref.shape);
    double e = rel_error(*soft, ref);
    std::printf("%s: audio.soft_tokens rel err (golden features) %.3g\n", GetParam().c_str(), e);
    EXPECT_LT(e, golden_test::kTol);  // fixtures README: fp32 lands within ~1e-4

    auto audio = media::audio_load_16k(golden_test::kTiny + "/audio.wav");
    ASSERT_TRUE(audio.ok()) << audio.error().message;
    auto clips = encode_audio_clips(**enc, *audio);
    ASSERT_TRUE(clips.ok()) << clips.error().message;
    ASSERT_EQ(clips->size(), 1u);
    ASSERT_EQ((*clips)[0].shape, ref.shape);
    e = rel_error((*clips)[0], ref);
    std::printf("%s: audio.soft_tokens rel err (from wav) %.3g\n", GetParam().c_str(), e);
    EXPECT_LT(e, golden_test::kTol);
}

// The trained sliding mask against the CPU path (audio.h) on a long clip: 30 s of features
// make the E4B-sized sequence (750 rows) in the tiny tower.
TEST_P(AudioBackendGpu, SlidingMaskMatchesCpuPathOn30s) {
    auto backend = backend_create(GetParam());
    if (!backend.ok()) GTEST_SKIP() << GetParam() << " unavailable: " << backend.error().message;
    auto w = io::open_safetensors(golden_test::kTiny + "/model.safetensors");
    ASSERT_TRUE(w.ok()) << w.error().message;
    auto enc = load_encoder(**backend, **w, AudioMaskMode::sliding);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    auto cfg = load_config(golden_test::kTiny);
    ASSERT_TRUE(cfg.ok());
    auto cpu = AudioEncoder::load(*cfg, **w);
    ASSERT_TRUE(cpu.ok()) << cpu.error().message;
    std::vector<float> wave(size_t(30) * 16000);
    for (size_t i = 0; i < wave.size(); ++i)
        wave[i] = 0.3f * std::sin(0.05f * float(i)) * std::sin(2e-4f * float(i));
    auto feats = media::audio_log_mel(wave);
    ASSERT_TRUE(feats.ok()) << feats.error().message;
    auto got = (*enc)->encode(*feats);
    auto want = cpu->encode(*feats);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_TRUE(want.ok()) << want.error().message;
    ASSERT_EQ(got->shape, want->shape);
    EXPECT_GE(got->dim(0), 740);  // 25 tokens per second, minus edge frames
    double e = rel_error(*got, *want);
    std::printf("%s: 30 s sliding mask vs CPU path rel err %.3g\n", GetParam().c_str(), e);
    EXPECT_LT(e, golden_test::kTol);
}

INSTANTIATE_TEST_SUITE_P(Cuda, AudioBackendGpu, ::testing::Values("cuda", "cuda-f32"),
                         [](const auto & info) {
                             std::string s = info.param;
                             for (char & c : s)
                                 if (c == '-') c = '_';
                             return s;
                         });

}  // namespace
