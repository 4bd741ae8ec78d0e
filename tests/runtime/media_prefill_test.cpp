// Media through the scheduler against the reference (tiny-gemma4): image.png and audio.wav as
// files, the bare-marker prompt behind mm.input_ids, encoded by the engine's media worker and
// prefilled in chunks that must not split the bidirectional image block; the logits the first
// token is sampled from must equal mm.logits' last row. The audio tower runs in the hf_eager mask
// mode here only because the fixture's reference did (see AudioMaskMode and cmd_verify.cpp).
#include <gtest/gtest.h>

#include <algorithm>

#include "media_test_util.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

namespace {

// 64-token steps and chunks: the largest block that fits is 64 - (4 - 1) = 61 >= 60.
EngineOptions fixture_options() {
    EngineOptions o = media_engine_options();
    o.audio_mask = gemma4::AudioMaskMode::hf_eager;
    o.max_step_tokens = 64;
    o.prefill_chunk = 64;
    return o;
}

MediaRequest fixture_request(Engine & e, const Golden & g) {
    MediaRequest r;
    r.tokens = greedy_request(fold_markers(g.ids("mm.input_ids"), e.text_model().config()), 1);
    r.media = {fixture_media(gemma4::MediaKind::image, "image.png"),
               fixture_media(gemma4::MediaKind::audio, "audio.wav")};
    return r;
}

}  // namespace

// The expansion reproduces the reference processor's prompt exactly (60 image and 58 audio soft
// tokens at the fixture's budget of 70), with one bidirectional block over the image.
TEST(MediaPrefill, ExpandsMarkersLikeTheReferenceProcessor) {
    Golden g = open_golden(kTiny);
    auto e = load_engine(kTiny, fixture_options());
    ASSERT_NE(e, nullptr);
    ASSERT_NE(e->media(), nullptr) << e->media_error();
    EXPECT_EQ(e->media()->default_image_budget(), 70) << "from processor_config.json";
    const std::vector<int32_t> ref = g.ids("mm.input_ids");
    MediaRequest r = fixture_request(*e, g);
    EXPECT_EQ(r.tokens.prompt.size(), ref.size() - 60 - 58 - 2);
    auto t = e->media()->prepare(std::move(r));
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->prompt, ref);
    ASSERT_EQ(t->media.size(), 2u);
    EXPECT_EQ(t->media[0].embeds.dim(0), 60);
    EXPECT_EQ(t->media[1].embeds.dim(0), 58);
    ASSERT_EQ(t->block_ids.size(), ref.size());
    const auto image_rows = std::count(t->block_ids.begin(), t->block_ids.end(), 0);
    EXPECT_EQ(image_rows, 60);
    EXPECT_EQ(*std::max_element(t->block_ids.begin(), t->block_ids.end()), 0) << "one block";
}

// 64-token chunks from row 0 would end at row 64, inside the image block [7, 67): the scheduler
// must stop the first chunk at 7 and run the block whole. A split block changes the logits of
// every row before the split (they stop seeing the rest of their image), so the golden catches it.
TEST(MediaPrefill, SchedulerPrefillMatchesReferenceLogits) {
    Golden g = open_golden(kTiny);
    auto e = load_engine(kTiny, fixture_options());
    ASSERT_NE(e, nullptr);
    auto sink = run_media(*e, fixture_request(*e, g));
    ASSERT_EQ(sink->reason, FinishReason::length) << sink->error.message;
    EXPECT_EQ(sink->usage.prompt_tokens, 138);
    ASSERT_EQ(sink->logits.size(), 1u);
    Tensor ref = g.get("mm.logits");
    ASSERT_EQ(ref.ndim(), 2);
    const int64_t V = ref.dim(1);
    ASSERT_EQ(int64_t(sink->logits[0].size()), V);
    const float * last = ref.ptr<float>() + (ref.dim(0) - 1) * V;
    EXPECT_LT(rel_error(sink->logits[0].data(), last, size_t(V)), kTol);
}

// Same with smaller steps: a 16-token chunk cannot hold the 60-token block, so the request is
// refused with a message saying what to change (never run split).
TEST(MediaPrefill, BlockLargerThanChunkIsRefused) {
    Golden g = open_golden(kTiny);
    EngineOptions o = fixture_options();
    o.max_step_tokens = 16;
    o.prefill_chunk = 16;
    auto e = load_engine(kTiny, o);
    ASSERT_NE(e, nullptr);
    auto sink = run_media(*e, fixture_request(*e, g));
    EXPECT_EQ(sink->reason, FinishReason::error);
    EXPECT_EQ(sink->error.code, ErrorCode::invalid_argument);
    EXPECT_NE(sink->error.message.find("prefill chunk"), std::string::npos) << sink->error.message;
    EXPECT_TRUE(sink->tokens.empty());
}
