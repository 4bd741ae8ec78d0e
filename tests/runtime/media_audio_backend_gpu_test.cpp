// A CUDA engine encodes audio on its GPU (the media worker's own backend instance, engine.cpp):
// the fixture image and audio.wav through the engine's media path must reproduce mm.logits' last row
// (the reference's multimodal forward) within the fp32 tolerance on cuda-f32. The prompt's image
// goes in as decoded pixels (image.ppm), so no image codec module is needed. Skipped without a
// GPU. The audio mask is hf_eager only because the fixture's reference used it.
#include <gtest/gtest.h>

#include "core/registry.h"
#include "media_vision_path_util.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

TEST(MediaAudioBackendGpu, CudaEngineEncodesAudioOnTheGpuAndMatchesReference) {
    auto probe = backend_create("cuda-f32");
    if (!probe.ok()) GTEST_SKIP() << "cuda-f32 unavailable: " << probe.error().message;
    probe->reset();
    Golden g = open_golden(kTiny);
    EngineOptions o = media_engine_options();
    o.backend = "cuda-f32";
    o.audio_mask = gemma4::AudioMaskMode::hf_eager;
    o.max_step_tokens = 64;  // the 60-row image block fits one 64-token chunk
    o.prefill_chunk = 64;
    auto e = load_engine(kTiny, o);
    ASSERT_NE(e, nullptr);
    ASSERT_NE(e->media(), nullptr) << e->media_error();
    EXPECT_TRUE(e->media()->audio_on_backend());
    MediaRequest r;
    r.tokens = greedy_request(fold_markers(g.ids("mm.input_ids"), e->text_model().config()), 1);
    r.media = {fixture_pixels(), fixture_media(gemma4::MediaKind::audio, "audio.wav")};
    auto sink = run_media(*e, std::move(r));
    ASSERT_EQ(sink->reason, FinishReason::length) << sink->error.message;
    ASSERT_EQ(sink->logits.size(), 1u);
    Tensor ref = g.get("mm.logits");
    const int64_t V = ref.dim(1);
    ASSERT_EQ(int64_t(sink->logits[0].size()), V);
    const float * last = ref.ptr<float>() + (ref.dim(0) - 1) * V;
    const double err = rel_error(sink->logits[0].data(), last, size_t(V));
    std::printf("cuda-f32 engine: mm.logits last row rel err %.3g\n", err);
    EXPECT_LT(err, kTol);
}
