// Multimodal prompt assembly (engine/model/gemma4/mm_prompt.h) against the layouts of spec
// gemma4-multimodal §1, §6, §7 and gemma4-text §8, spelled out by hand, with the tiny-gemma4
// special ids (boi 502, eoi 503, image 504, video 505, boa 506, eoa 507, audio 508).
#include "model/gemma4/mm_prompt.h"

#include <gtest/gtest.h>

#include <cstring>

#include "text_util.h"

using namespace gemma;
using namespace gemma::gemma4;

namespace {

constexpr int32_t kBoi = 502, kEoi = 503, kImg = 504, kVid = 505, kBoa = 506, kEoa = 507,
                  kAud = 508;

Config tiny_config() {
    auto c = load_config(text_test::kTiny);
    EXPECT_TRUE(c.ok());
    return *c;
}

// [n, 64] soft tokens whose row r holds `base + r` everywhere (rows are recognisable).
Tensor rows_tensor(int n, float base, int hidden = 64) {
    Tensor t = tensor_host(DType::f32, {n, hidden});
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < hidden; ++c) t.ptr<float>()[r * hidden + c] = base + float(r);
    return t;
}

std::vector<int32_t> repeat(int32_t id, int n) { return std::vector<int32_t>(size_t(n), id); }

std::vector<int32_t> cat(std::initializer_list<std::vector<int32_t>> parts) {
    std::vector<int32_t> out;
    for (const auto & p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// The soft-token value the prompt gives position `pos` (first column), or NaN for none.
float soft_value_at(const MultimodalPrompt & p, int pos) {
    for (const EmbedOverride & o : p.overrides)
        if (pos >= o.row && pos < o.row + o.embeds.dim(0))
            return o.embeds.ptr<float>()[(pos - o.row) * o.embeds.dim(1)];
    return std::nanf("");
}

// Timestamp "tokenizer" for tests: one id per character, 100 + the byte.
Result<std::vector<int32_t>> char_ids(const std::string & s) {
    std::vector<int32_t> ids;
    for (unsigned char ch : s) ids.push_back(100 + ch);
    return ids;
}

}  // namespace

TEST(MmPrompt, ImageAndSplitAudioExpandWithDelimiters) {
    Config cfg = tiny_config();
    std::vector<int32_t> ids = {2, 10, kImg, 11, kAud, 12};
    std::vector<MediaEmbeds> media = {
        {MediaKind::image, {rows_tensor(4, 100)}, {}},
        {MediaKind::audio, {rows_tensor(3, 200), rows_tensor(2, 300)}, {}}};
    auto p = build_mm_prompt(ids, media, cfg);
    ASSERT_TRUE(p.ok()) << p.error().message;
    // Spec §1: BOI + N × <|image|> + EOI; each audio clip BOA + N × <|audio|> + EOA, no newlines.
    EXPECT_EQ(p->ids, cat({{2, 10, kBoi},
                           repeat(kImg, 4),
                           {kEoi, 11, kBoa},
                           repeat(kAud, 3),
                           {kEoa, kBoa},
                           repeat(kAud, 2),
                           {kEoa, 12}}));
    EXPECT_EQ(p->n_soft_tokens(MediaKind::image), 4);
    EXPECT_EQ(p->n_soft_tokens(MediaKind::audio), 5);
    // Scatter in sequence order: image rows 0..3 at positions 3..6, audio rows in clip order.
    for (int r = 0; r < 4; ++r) EXPECT_EQ(soft_value_at(*p, 3 + r), 100.0f + float(r));
    for (int r = 0; r < 3; ++r) EXPECT_EQ(soft_value_at(*p, 10 + r), 200.0f + float(r));
    for (int r = 0; r < 2; ++r) EXPECT_EQ(soft_value_at(*p, 15 + r), 300.0f + float(r));
    EXPECT_TRUE(std::isnan(soft_value_at(*p, 2)));  // BOI is an ordinary token
    // tiny-gemma4 sets use_bidirectional_attention "vision": the image run is block 0; audio and
    // the delimiters are never in a block (spec text §8).
    EXPECT_EQ(p->block_ids, cat({repeat(-1, 3), repeat(0, 4), repeat(-1, 12)}));
    EXPECT_EQ(p->types[3], MmTokenType::image);
    EXPECT_EQ(p->types[10], MmTokenType::audio);
    EXPECT_EQ(p->types[2], MmTokenType::text);
}

TEST(MmPrompt, VideoFramesCarryTimestampsAndOwnBlocks) {
    Config cfg = tiny_config();
    std::vector<int32_t> ids = {2, kVid, 9};
    MediaEmbeds video{MediaKind::video,
                      {rows_tensor(2, 10), rows_tensor(2, 20), rows_tensor(2, 30)},
                      {0.0, 1.0, 75.5}};
    auto p = build_mm_prompt(ids, std::span(&video, 1), cfg, char_ids);
    ASSERT_TRUE(p.ok()) << p.error().message;
    // Spec §7: "MM:SS " + BOI + n × <|video|> + EOI per frame, frames joined by one space.
    auto text = [](const std::string & s) { return *char_ids(s); };
    EXPECT_EQ(p->ids, cat({{2},
                           text("00:00 "),
                           {kBoi},
                           repeat(kVid, 2),
                           {kEoi},
                           text(" 00:01 "),
                           {kBoi},
                           repeat(kVid, 2),
                           {kEoi},
                           text(" 01:15 "),
                           {kBoi},
                           repeat(kVid, 2),
                           {kEoi, 9}}));
    EXPECT_EQ(p->n_soft_tokens(MediaKind::video), 6);
    // Each frame is its own bidirectional block (separated by EOI/BOI).
    std::vector<int32_t> b;
    for (size_t i = 0; i < p->ids.size(); ++i)
        if (p->block_ids[i] >= 0 && (b.empty() || b.back() != p->block_ids[i]))
            b.push_back(p->block_ids[i]);
    EXPECT_EQ(b, (std::vector<int32_t>{0, 1, 2}));
    const size_t first = 1 + 6 + 1;  // bos, "00:00 ", BOI
    EXPECT_EQ(soft_value_at(*p, int(first)), 10.0f);
    EXPECT_EQ(soft_value_at(*p, int(first) + 1), 11.0f);
}

TEST(MmPrompt, TimestampText) {
    EXPECT_EQ(video_timestamp_text(0.0), "00:00");
    EXPECT_EQ(video_timestamp_text(59.96), "00:59");
    EXPECT_EQ(video_timestamp_text(61.0), "01:01");
    EXPECT_EQ(video_timestamp_text(3605.0), "60:05");
}

TEST(MmPrompt, CausalCheckpointsGetNoBlocks) {
    Config cfg = tiny_config();
    cfg.text.use_bidirectional_attention = "";  // E2B/E4B: null
    MediaEmbeds img{MediaKind::image, {rows_tensor(3, 0)}, {}};
    auto p = build_mm_prompt(std::vector<int32_t>{2, kImg}, std::span(&img, 1), cfg);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->block_ids.empty());
    EXPECT_EQ(p->overrides.size(), 1u);
}

TEST(MmPrompt, TwoImagesAreTwoBlocksAndScatterInOrder) {
    Config cfg = tiny_config();
    std::vector<MediaEmbeds> media = {{MediaKind::image, {rows_tensor(2, 50)}, {}},
                                      {MediaKind::image, {rows_tensor(3, 60)}, {}}};
    auto p = build_mm_prompt(std::vector<int32_t>{kImg, 7, kImg}, media, cfg);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->block_ids, (std::vector<int32_t>{-1, 0, 0, -1, -1, -1, 1, 1, 1, -1}));
    EXPECT_EQ(soft_value_at(*p, 6), 60.0f);
    EXPECT_EQ(soft_value_at(*p, 8), 62.0f);
}

TEST(MmPrompt, BadInputsAreClearErrors) {
    Config cfg = tiny_config();
    MediaEmbeds img{MediaKind::image, {rows_tensor(2, 0)}, {}};
    MediaEmbeds aud{MediaKind::audio, {rows_tensor(2, 0)}, {}};
    auto expect_error = [](const Result<MultimodalPrompt> & r, const char * words) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
        EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
    };
    std::vector<int32_t> two_markers = {kImg, kImg};
    expect_error(build_mm_prompt(two_markers, std::span(&img, 1), cfg), "more media markers");
    expect_error(build_mm_prompt(std::vector<int32_t>{1}, std::span(&img, 1), cfg),
                 "0 media markers but 1 media inputs");
    expect_error(build_mm_prompt(std::vector<int32_t>{kAud}, std::span(&img, 1), cfg),
                 "marker 0 is audio but input 0 is image");
    MediaEmbeds wide{MediaKind::image, {rows_tensor(2, 0, 32)}, {}};
    expect_error(build_mm_prompt(std::vector<int32_t>{kImg}, std::span(&wide, 1), cfg),
                 "expected host f32 [n, 64]");
    MediaEmbeds vid{MediaKind::video, {rows_tensor(2, 0)}, {0.0}};
    expect_error(build_mm_prompt(std::vector<int32_t>{kVid}, std::span(&vid, 1), cfg),
                 "need a tokenizer");
    vid.frame_seconds.clear();
    expect_error(build_mm_prompt(std::vector<int32_t>{kVid}, std::span(&vid, 1), cfg, char_ids),
                 "1 frames but 0 timestamps");
    // Already-expanded prompts: the placeholder count must equal the soft-token rows.
    expect_error(attach_mm_embeds(std::vector<int32_t>{kBoa, kAud, kAud, kAud, kEoa},
                                  std::span(&aud, 1), cfg),
                 "3 audio placeholder tokens but the audio inputs give 2");
    Config no_audio = cfg;
    no_audio.boa_token_id = -1;
    expect_error(build_mm_prompt(std::vector<int32_t>{kAud}, std::span(&aud, 1), no_audio),
                 "lacks the special token ids for audio");
}

TEST(MmPrompt, ChunksNeverCutABlockAndSplitSoftTokenRuns) {
    Config cfg = tiny_config();
    std::vector<MediaEmbeds> media = {{MediaKind::image, {rows_tensor(6, 0)}, {}},
                                      {MediaKind::audio, {rows_tensor(7, 100)}, {}}};
    auto p = build_mm_prompt(std::vector<int32_t>{2, 3, kImg, kAud}, media, cfg);
    ASSERT_TRUE(p.ok());
    // ids: 2 3 BOI img×6 (3..8) EOI BOA aud×7 (11..17) EOA -> 19 tokens.
    ASSERT_EQ(p->ids.size(), 19u);
    auto ends = mm_prompt_chunk_ends(*p, 6);
    ASSERT_TRUE(ends.ok()) << ends.error().message;
    EXPECT_EQ(*ends, (std::vector<int>{3, 9, 15, 19}));  // 6 would cut the image: back to 3
    auto too_small = mm_prompt_chunk_ends(*p, 5);
    ASSERT_FALSE(too_small.ok());
    EXPECT_NE(too_small.error().message.find("does not fit in chunks of 5"), std::string::npos);
    // A chunk through the middle of the audio run gets the matching rows, re-based.
    auto c = mm_prompt_chunk(*p, 9, 15);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c->overrides.size(), 1u);
    EXPECT_EQ(c->overrides[0].row, 2);
    EXPECT_EQ(c->overrides[0].embeds.dim(0), 4);
    EXPECT_EQ(c->overrides[0].embeds.ptr<float>()[0], 100.0f);
    EXPECT_EQ(c->block_ids, (std::vector<int32_t>(6, -1)));
    ForwardInput in = c->input(true);
    EXPECT_EQ(in.ids.size(), 6u);
    EXPECT_FALSE(mm_prompt_chunk(*p, 10, 30).ok());
}
