// ChatEngine with media on tiny-gemma4-chat (real tokenizer and template, vision and audio
// towers, causal like E4B): each rendered <|image|> / <|audio|> marker becomes BOI + N + EOI with
// N from the spec's table (211×317 at the processor's default budget 280 -> 260, at 140 -> 126),
// audio.wav (2.3 s) gives 58 soft tokens, a 35 s clip is split into two ≤ 30 s clips, a second
// turn re-sending the image is served by both caches, and mismatches / corrupt files are errors.
#include <gtest/gtest.h>

#include <cmath>

#include "media_test_util.h"
#include "runtime/engine_chat.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

namespace {

chat::ChatMessage user(const std::string & text, std::vector<std::string> media_types) {
    chat::ChatMessage m;
    m.role = "user";
    m.content.kind = chat::MessageContent::Kind::parts;
    for (const std::string & t : media_types) m.content.parts.push_back({t, ""});
    m.content.parts.push_back({"text", text});
    return m;
}

ChatGenerateRequest ask(chat::ChatMessage m, std::vector<MediaInput> media, int max_tokens = 2) {
    ChatGenerateRequest r;
    r.chat.messages.push_back(std::move(m));
    r.media = std::move(media);
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0.0f;
    return r;
}

struct Reply {
    std::string content;
    StreamEvent last;
};

Reply drain(Result<std::unique_ptr<ResponseStream>> s) {
    Reply r;
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) return r;
    r.last = stream_drain(**s, [&](const StreamEvent & ev) {
        if (ev.kind == StreamEvent::Kind::content) r.content += ev.text;
    });
    return r;
}

// 16-bit mono PCM WAV: a 440 Hz tone with a quiet stretch at 27-28 s (where the splitter cuts).
std::vector<uint8_t> tone_wav(double seconds, int rate) {
    const uint32_t n = uint32_t(seconds * rate), data = n * 2;
    std::vector<uint8_t> b(44 + size_t(data));
    size_t at = 0;
    auto put = [&](uint32_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) b[at++] = uint8_t(v >> (8 * i));
    };
    auto tag = [&](const char * t) {
        for (int i = 0; i < 4; ++i) b[at++] = uint8_t(t[i]);
    };
    tag("RIFF"), put(36 + data, 4), tag("WAVE"), tag("fmt "), put(16, 4), put(1, 2), put(1, 2);
    put(uint32_t(rate), 4), put(uint32_t(rate) * 2, 4), put(2, 2), put(16, 2), tag("data");
    put(data, 4);
    for (uint32_t i = 0; i < n; ++i) {
        const double t = double(i) / rate;
        const double amp = (t >= 27.0 && t < 28.0) ? 0.0 : 0.3;
        put(uint16_t(int16_t(std::lround(amp * 32767.0 * std::sin(2 * M_PI * 440.0 * t)))), 2);
    }
    return b;
}

class MediaChat : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        EngineOptions o;
        o.n_ctx = 2048;
        o.max_seqs = 2;
        auto e = ChatEngine::load(kChat, o);
        ASSERT_TRUE(e.ok()) << e.error().message;
        engine_ = std::move(*e);
    }
    static void TearDownTestSuite() { engine_.reset(); }

    // Tokens of the rendered prompt (each media part is one marker token).
    static size_t rendered_tokens(const ChatGenerateRequest & r) {
        auto text = engine_->render(r.chat);
        EXPECT_TRUE(text.ok()) << text.error().message;
        auto ids = engine_->tokenizer().encode(text.ok() ? *text : "");
        return ids.ok() ? ids->size() : 0;
    }
    static MediaInput image() { return fixture_media(gemma4::MediaKind::image, "image.png"); }
    static MediaInput audio() { return fixture_media(gemma4::MediaKind::audio, "audio.wav"); }

    static inline std::unique_ptr<ChatEngine> engine_;
};

}  // namespace

TEST_F(MediaChat, ImageAndAudioPartsExpandToTheirSoftTokens) {
    ASSERT_NE(engine_, nullptr);
    EXPECT_TRUE(engine_->info().has_vision);
    EXPECT_TRUE(engine_->info().has_audio);
    ASSERT_NE(engine_->engine().media(), nullptr);
    EXPECT_EQ(engine_->engine().media()->default_image_budget(), 280);
    struct Case {
        std::vector<std::string> types;
        std::vector<MediaInput> media;
        int budget;
        int soft;  // soft tokens + begin/end markers, minus the rendered marker
    };
    const Case cases[] = {
        {{"image"}, {image()}, 0, 260 + 2 - 1},
        {{"image_url"}, {image()}, 140, 126 + 2 - 1},
        {{"input_audio"}, {audio()}, 0, 58 + 2 - 1},
        {{"image", "audio"}, {image(), audio()}, 0, 260 + 58 + 4 - 2},
    };
    for (const Case & c : cases) {
        ChatGenerateRequest r = ask(user("What is this?", c.types), c.media);
        r.image_budget = c.budget;
        Reply rep = drain(engine_->generate(r));
        ASSERT_EQ(rep.last.kind, StreamEvent::Kind::finish) << rep.last.error.message;
        EXPECT_EQ(rep.last.finish, FinishReason::length);
        EXPECT_EQ(size_t(rep.last.usage.prompt_tokens), rendered_tokens(r) + size_t(c.soft))
            << c.types[0] << " budget " << c.budget;
    }
}

TEST_F(MediaChat, SecondTurnHitsBothCaches) {
    ASSERT_NE(engine_, nullptr);
    // A distinct question, so no earlier test's prefix matches past the first turn's start.
    ChatGenerateRequest t1 = ask(user("Turn one: describe it.", {"image"}), {image()}, 6);
    Reply r1 = drain(engine_->generate(t1));
    ASSERT_EQ(r1.last.kind, StreamEvent::Kind::finish) << r1.last.error.message;
    const auto before = engine_->engine().media()->cache_stats();
    EXPECT_GE(before.entries, 1);
    chat::ChatMessage reply;
    reply.role = "assistant";
    reply.content.kind = chat::MessageContent::Kind::text;
    reply.content.text = r1.content;
    ChatGenerateRequest t2 = t1;
    t2.chat.messages.push_back(reply);
    chat::ChatMessage next;
    next.role = "user";
    next.content.kind = chat::MessageContent::Kind::text;
    next.content.text = "And now?";
    t2.chat.messages.push_back(next);
    Reply r2 = drain(engine_->generate(t2));
    ASSERT_EQ(r2.last.kind, StreamEvent::Kind::finish) << r2.last.error.message;
    const auto after = engine_->engine().media()->cache_stats();
    EXPECT_EQ(after.hits - before.hits, 1) << "turn two re-sends the image";
    EXPECT_EQ(after.misses, before.misses) << "and it is not encoded again";
    // The first turn's prompt, its 260 image tokens included, is reused.
    EXPECT_GE(r2.last.usage.cached_tokens, r1.last.usage.prompt_tokens);
}

TEST_F(MediaChat, LongAudioIsSplitIntoClips) {
    ASSERT_NE(engine_, nullptr);
    const auto & cfg = engine_->engine().text_model().config();
    MediaRequest r;
    r.tokens.prompt = {2, cfg.audio_token_id};
    r.tokens.max_tokens = 1;
    r.media = {media_input(gemma4::MediaKind::audio, tone_wav(35.0, 16000), "tone.wav")};
    auto t = engine_->engine().media()->prepare(std::move(r));
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_EQ(t->media.size(), 2u) << "35 s -> two clips of at most 30 s";
    EXPECT_EQ(std::count(t->prompt.begin(), t->prompt.end(), cfg.boa_token_id), 2);
    int64_t total = 0;
    for (const MediaRun & m : t->media) {
        EXPECT_LE(m.embeds.dim(0), 750) << "30 s of audio is 750 soft tokens at most";
        total += m.embeds.dim(0);
    }
    // 25 soft tokens a second (40 ms each), give or take the rounding of each clip's frames.
    EXPECT_NEAR(double(total), 35.0 * 25.0, 4.0);
}

TEST_F(MediaChat, MismatchAndCorruptMediaAreErrors) {
    ASSERT_NE(engine_, nullptr);
    // An image part without its bytes, and bytes without a part: refused at once.
    auto missing = engine_->generate(ask(user("x", {"image"}), {}));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::invalid_argument);
    auto extra = engine_->generate(ask(user("x", {}), {image()}));
    ASSERT_FALSE(extra.ok());
    EXPECT_EQ(extra.error().code, ErrorCode::invalid_argument);
    // Undecodable bytes: the stream's error event, naming the item.
    std::vector<uint8_t> junk(64, 0x5a);
    Reply r = drain(engine_->generate(
        ask(user("x", {"image"}), {media_input(gemma4::MediaKind::image, junk, "junk.png")})));
    ASSERT_EQ(r.last.kind, StreamEvent::Kind::error);
    EXPECT_NE(r.last.error.message.find("junk.png"), std::string::npos) << r.last.error.message;
}
