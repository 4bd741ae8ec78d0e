// Re-sent media (tiny-gemma4): a second turn that carries the same image again is served by the
// media cache (the encoder runs once: cache misses count encoder calls) and by the prefix cache
// (the first turn's KV, image rows included), and its logits equal a cold run's. The per-request
// budget changes both the cache key and the soft-token count (spec gemma4-multimodal §2.2 table).
#include <gtest/gtest.h>

#include "media_test_util.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

namespace {

// bos, three text tokens, the image marker, three text tokens (ids below the tiny special ids).
std::vector<int32_t> turn1_prompt(const gemma4::Config & cfg) {
    return {2, 10, 11, 12, cfg.image_token_id, 20, 21, 22};
}

MediaRequest image_request(std::vector<int32_t> prompt, int max_tokens) {
    MediaRequest r;
    r.tokens = greedy_request(std::move(prompt), max_tokens);
    r.media = {fixture_media(gemma4::MediaKind::image, "image.png")};
    return r;
}

}  // namespace

TEST(MediaCache, SecondTurnReusesEncodingAndPrefix) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    ASSERT_NE(e->media(), nullptr) << e->media_error();
    const auto & cfg = e->text_model().config();
    auto first = run_media(*e, image_request(turn1_prompt(cfg), 4));
    ASSERT_EQ(first->reason, FinishReason::length) << first->error.message;
    const int n_turn1 = first->usage.prompt_tokens;
    EXPECT_EQ(n_turn1, 8 - 1 + 2 + 60) << "the marker becomes boi + 60 soft tokens + eoi";
    media::MediaCacheStats st = e->media()->cache_stats();
    EXPECT_EQ(st.misses, 1);
    EXPECT_EQ(st.hits, 0);

    std::vector<int32_t> p2 = turn1_prompt(cfg);
    for (int32_t id : first->ids()) p2.push_back(id);
    p2.insert(p2.end(), {30, 31, 32});
    auto second = run_media(*e, image_request(p2, 3));
    ASSERT_EQ(second->reason, FinishReason::length) << second->error.message;
    st = e->media()->cache_stats();
    EXPECT_EQ(st.misses, 1) << "the same bytes must not be encoded again";
    EXPECT_EQ(st.hits, 1);
    // The whole first turn, its image included, comes from the prefix cache (the reply's last
    // token was never fed, so it runs again).
    EXPECT_GE(second->usage.cached_tokens, n_turn1 + 3);

    MediaRequest cold = image_request(p2, 3);
    cold.tokens.use_prefix_cache = false;
    auto ref = run_media(*e, std::move(cold));
    ASSERT_EQ(ref->reason, FinishReason::length) << ref->error.message;
    EXPECT_EQ(ref->usage.cached_tokens, 0);
    EXPECT_EQ(e->media()->cache_stats().misses, 1);
    EXPECT_EQ(second->ids(), ref->ids());
    ASSERT_EQ(second->logits.size(), ref->logits.size());
    for (size_t i = 0; i < ref->logits.size(); ++i)
        EXPECT_EQ(second->logits[i], ref->logits[i]) << "logits row " << i;
}

// A different image must not reuse the first image's KV: the prefix stops where it starts.
TEST(MediaCache, OtherImageReusesOnlyTheTextBeforeIt) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    auto first = run_media(*e, image_request(turn1_prompt(cfg), 2));
    ASSERT_EQ(first->reason, FinishReason::length) << first->error.message;
    MediaRequest other = image_request(turn1_prompt(cfg), 2);
    other.image_budget = 140;  // same bytes, other budget: other soft tokens
    auto second = run_media(*e, std::move(other));
    ASSERT_EQ(second->reason, FinishReason::length) << second->error.message;
    EXPECT_LE(second->usage.cached_tokens, 5) << "bos, 3 text tokens and boi at most";
    EXPECT_EQ(e->media()->cache_stats().misses, 2);
}

// 211×317 at budget 140 -> 432×672 -> 126 soft tokens; at 70 (the fixture's processor config)
// -> 60. A budget outside 70/140/280/560/1120 is refused before anything is queued.
TEST(MediaCache, BudgetSetsTheSoftTokenCount) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    ASSERT_NE(e->media(), nullptr) << e->media_error();
    const auto & cfg = e->text_model().config();
    for (auto [budget, n] : {std::pair{0, 60}, std::pair{70, 60}, std::pair{140, 126}}) {
        MediaRequest r = image_request(turn1_prompt(cfg), 1);
        r.image_budget = budget;
        auto t = e->media()->prepare(std::move(r));
        ASSERT_TRUE(t.ok()) << t.error().message;
        ASSERT_EQ(t->media.size(), 1u);
        EXPECT_EQ(t->media[0].embeds.dim(0), n) << "budget " << budget;
        EXPECT_EQ(t->prompt.size(), size_t(8 - 1 + 2 + n));
    }
    MediaRequest bad = image_request(turn1_prompt(cfg), 1);
    bad.image_budget = 100;
    auto id = e->generate(std::move(bad), std::make_shared<MediaSink>());
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(id.error().message.find("100"), std::string::npos) << id.error().message;
}
