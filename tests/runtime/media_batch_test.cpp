// Continuous batching with media (tiny-gemma4, greedy): an image + audio request that shares its
// steps with text-only requests gives the same tokens (and logprobs) as when it runs alone, and
// so do the text requests. The run checks that the requests really overlapped.
#include <gtest/gtest.h>

#include "media_test_util.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

namespace {

MediaRequest media_request(const gemma4::Config & cfg) {
    MediaRequest r;
    r.tokens = greedy_request(
        {2, 10, 11, 12, 13, cfg.image_token_id, 20, 21, cfg.audio_token_id, 30, 31}, 12);
    r.tokens.sampling.top_logprobs = 3;
    r.tokens.use_prefix_cache = false;  // solo and batched runs compute everything
    r.media = {fixture_media(gemma4::MediaKind::image, "image.png"),
               fixture_media(gemma4::MediaKind::audio, "audio.wav")};
    return r;
}

TokenRequest text_request(const Golden & g, size_t len, int max_tokens) {
    std::vector<int32_t> p = g.ids("text.input_ids");
    p.resize(len);
    TokenRequest r = greedy_request(std::move(p), max_tokens);
    r.sampling.top_logprobs = 3;
    r.use_prefix_cache = false;
    return r;
}

void expect_same(MediaSink & a, MediaSink & b, const char * what) {
    ASSERT_EQ(a.reason, FinishReason::length) << what << ": " << a.error.message;
    ASSERT_EQ(b.reason, FinishReason::length) << what << ": " << b.error.message;
    EXPECT_EQ(a.ids(), b.ids()) << what;
    ASSERT_EQ(a.tokens.size(), b.tokens.size());
    // Batched rows share matmuls with other rows; fp32 sums may round differently.
    for (size_t i = 0; i < a.tokens.size(); ++i)
        EXPECT_NEAR(a.tokens[i].logprob, b.tokens[i].logprob, 1e-4) << what << " token " << i;
}

}  // namespace

TEST(MediaBatch, ImageRequestBatchedWithTextMatchesSolo) {
    Golden g = open_golden(kTiny);
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    const size_t lens[] = {12, 25, 40};
    const int text_tokens = 120;

    // Alone, one after the other (this also puts the media in the media cache, so in the batched
    // run the media request reaches the scheduler while the text requests still decode).
    auto solo_media = run_media(*e, media_request(cfg));
    std::vector<std::shared_ptr<MediaSink>> solo_text;
    for (size_t len : lens) {
        MediaRequest r;
        r.tokens = text_request(g, len, text_tokens);
        solo_text.push_back(run_media(*e, std::move(r)));
    }

    // Together: the text requests first, the media request while they decode.
    std::vector<std::shared_ptr<MediaSink>> text;
    for (size_t len : lens) {
        text.push_back(std::make_shared<MediaSink>());
        auto id = e->generate(text_request(g, len, text_tokens), text.back());
        ASSERT_TRUE(id.ok()) << id.error().message;
    }
    auto media = std::make_shared<MediaSink>();
    auto id = e->generate(media_request(cfg), media);
    ASSERT_TRUE(id.ok()) << id.error().message;
    ASSERT_TRUE(media->wait());
    for (auto & t : text) ASSERT_TRUE(t->wait());

    bool overlapped = false;
    for (auto & t : text) overlapped = overlapped || t->finished_at > media->first_token_at;
    EXPECT_TRUE(overlapped) << "the media request ran after the text requests: nothing batched";
    expect_same(*media, *solo_media, "media request");
    for (size_t i = 0; i < text.size(); ++i) expect_same(*text[i], *solo_text[i], "text request");
    EXPECT_EQ(e->media()->cache_stats().misses, 2) << "one image and one audio encode in all";
}
