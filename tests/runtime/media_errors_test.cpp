// Bad media never crashes and never stalls the engine (tiny-gemma4): undecodable or truncated
// image / audio / video files come back as the request's error event naming the item; inputs that
// do not match the prompt's markers, a model without the tower, and bad budgets are refused at
// once; a prompt that outgrows the context after expansion ends with context_full; cancelling while
// the worker holds the request ends it as cancelled; requests around a failing one are served
// normally.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "media_test_util.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

namespace {

std::vector<uint8_t> fixture_bytes(const std::string & file) {
    std::ifstream f(kTiny + "/" + file, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)),
                                std::istreambuf_iterator<char>());
}

MediaRequest with_media(const gemma4::Config & cfg, std::vector<MediaInput> media,
                        int max_tokens = 2) {
    MediaRequest r;
    std::vector<int32_t> prompt = {2, 10, 11};
    for (const MediaInput & m : media)
        prompt.push_back(m.kind == gemma4::MediaKind::audio ? cfg.audio_token_id
                                                            : cfg.image_token_id);
    prompt.push_back(12);
    r.tokens = greedy_request(std::move(prompt), max_tokens);
    r.media = std::move(media);
    return r;
}

std::vector<uint8_t> text_bytes(const std::string & s) { return {s.begin(), s.end()}; }

}  // namespace

// Through the ResponseStream, as the app and the server read it.
TEST(MediaErrors, CorruptImageIsAnErrorEvent) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    std::vector<uint8_t> png = fixture_bytes("image.png");
    ASSERT_GT(png.size(), 300u);
    struct Case {
        std::vector<uint8_t> bytes;
        const char * name;
        std::vector<ErrorCode> codes;
    };
    const Case cases[] = {
        {text_bytes("this is not an image at all"),
         "notes.txt",
         {ErrorCode::unsupported, ErrorCode::corrupt_file}},
        {std::vector<uint8_t>(png.begin(), png.begin() + 300),
         "cut.png",
         {ErrorCode::corrupt_file}},
    };
    for (const Case & c : cases) {
        auto stream =
            e->generate(with_media(cfg, {media_input(gemma4::MediaKind::image, c.bytes, c.name)}));
        ASSERT_TRUE(stream.ok()) << stream.error().message;
        StreamEvent last = stream_drain(**stream, nullptr);
        ASSERT_EQ(last.kind, StreamEvent::Kind::error) << c.name;
        EXPECT_NE(std::find(c.codes.begin(), c.codes.end(), last.error.code), c.codes.end())
            << c.name << ": " << error_code_name(last.error.code) << " " << last.error.message;
        EXPECT_NE(last.error.message.find(c.name), std::string::npos) << last.error.message;
    }
    // The engine keeps serving: the real image works afterwards.
    auto ok =
        run_media(*e, with_media(cfg, {fixture_media(gemma4::MediaKind::image, "image.png")}));
    EXPECT_EQ(ok->reason, FinishReason::length) << ok->error.message;
}

TEST(MediaErrors, CorruptAudioIsAnErrorEvent) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    std::vector<uint8_t> wav = fixture_bytes("audio.wav");
    ASSERT_GT(wav.size(), 100u);
    for (auto bytes : {text_bytes("RIFF....WAVEfmt garbage"),
                       std::vector<uint8_t>(wav.begin(), wav.begin() + 30)}) {
        auto sink = run_media(*e, with_media(cfg, {media_input(gemma4::MediaKind::audio, bytes)}));
        EXPECT_EQ(sink->reason, FinishReason::error);
        EXPECT_NE(sink->error.message.find("audio 1"), std::string::npos) << sink->error.message;
        EXPECT_TRUE(sink->tokens.empty());
    }
}

TEST(MediaErrors, MismatchedInputsAreRefusedAtOnce) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    MediaInput image = fixture_media(gemma4::MediaKind::image, "image.png");
    MediaInput audio = fixture_media(gemma4::MediaKind::audio, "audio.wav");

    MediaRequest extra = with_media(cfg, {image});
    extra.media.push_back(image);  // two inputs, one marker
    MediaRequest missing = with_media(cfg, {image});
    missing.media.clear();  // a marker, no input
    MediaRequest swapped = with_media(cfg, {image, audio});
    std::swap(swapped.media[0], swapped.media[1]);
    MediaRequest empty = with_media(cfg, {media_input(gemma4::MediaKind::image, {})});
    for (MediaRequest * r : {&extra, &missing, &swapped, &empty}) {
        auto sink = std::make_shared<MediaSink>();
        auto id = e->generate(std::move(*r), sink);
        ASSERT_FALSE(id.ok());
        EXPECT_EQ(id.error().code, ErrorCode::invalid_argument) << id.error().message;
        EXPECT_FALSE(sink->done) << "refused requests report nothing later";
    }
}

TEST(MediaErrors, ModelWithoutEncodersRefusesMedia) {
    EngineOptions o = media_engine_options();
    o.load_encoders = false;
    auto e = load_engine(kTiny, o);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->media(), nullptr);
    EXPECT_FALSE(e->info().has_vision);
    const auto & cfg = e->text_model().config();
    auto id = e->generate(with_media(cfg, {fixture_media(gemma4::MediaKind::image, "image.png")}),
                          std::make_shared<MediaSink>());
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().code, ErrorCode::unsupported);
    EXPECT_NE(id.error().message.find("load_encoders"), std::string::npos) << id.error().message;
}

// 3 text tokens + boi + 60 + eoi + 1 = 66 positions do not fit a 64-token context.
TEST(MediaErrors, ExpandedPromptOverTheContextIsContextFull) {
    EngineOptions o = media_engine_options();
    o.n_ctx = 64;
    o.max_step_tokens = 64;
    o.prefill_chunk = 64;
    auto e = load_engine(kTiny, o);
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    auto sink =
        run_media(*e, with_media(cfg, {fixture_media(gemma4::MediaKind::image, "image.png")}));
    EXPECT_EQ(sink->reason, FinishReason::error);
    EXPECT_EQ(sink->error.code, ErrorCode::context_full) << sink->error.message;
}

// Cancelled right after submission: whether the worker still holds it or the scheduler already
// runs it, it ends as cancelled (the reply would otherwise run to the context end).
TEST(MediaErrors, CancelWhileEncodingEndsCancelled) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    for (int i = 0; i < 3; ++i) {
        auto stream = e->generate(with_media(cfg,
                                             {fixture_media(gemma4::MediaKind::image, "image.png"),
                                              fixture_media(gemma4::MediaKind::audio, "audio.wav")},
                                             /*max_tokens=*/-1));
        ASSERT_TRUE(stream.ok()) << stream.error().message;
        (*stream)->cancel();
        StreamEvent last = stream_drain(**stream, nullptr);
        ASSERT_EQ(last.kind, StreamEvent::Kind::finish);
        EXPECT_EQ(last.finish, FinishReason::cancelled);
    }
}

// Video needs a tokenizer for its frame timestamps (refused at once without one); undecodable
// video bytes are the request's error event.
TEST(MediaErrors, CorruptVideoIsAnErrorEvent) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    MediaRequest r;
    r.tokens = greedy_request({2, 10, cfg.video_token_id, 11}, 2);
    r.media = {media_input(gemma4::MediaKind::video, text_bytes("not a video container"))};
    auto refused = e->generate(r, std::make_shared<MediaSink>());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument) << refused.error().message;
    r.tokenize = [](const std::string & s) -> Result<std::vector<int32_t>> {
        return std::vector<int32_t>(s.begin(), s.end());  // tiny vocab: bytes < 512
    };
    auto sink = run_media(*e, std::move(r));
    EXPECT_EQ(sink->reason, FinishReason::error);
    EXPECT_NE(sink->error.message.find("video 1"), std::string::npos) << sink->error.message;
}

TEST(MediaErrors, BadDecodedPixelsAreRefusedAtOnce) {
    auto e = load_engine(kTiny, media_engine_options());
    ASSERT_NE(e, nullptr);
    const auto & cfg = e->text_model().config();
    media::Image short_rows{4, 3, std::vector<uint8_t>(4 * 3 * 3 - 1, 0)};  // one byte missing
    media::Image empty{0, 5, {}};
    media::Image huge{20000, 20000, {}};  // over kMaxImagePixels: refused before any pixel is read
    MediaInput as_audio = media_input_pixels(media::Image{2, 2, std::vector<uint8_t>(12, 0)});
    as_audio.kind = gemma4::MediaKind::audio;
    struct Case {
        MediaInput input;
        const char * says;
    } cases[] = {{media_input_pixels(short_rows, "frame 7"), "expected 36"},
                 {media_input_pixels(empty), "is empty"},
                 {media_input_pixels(huge), "scale it down"},
                 {as_audio, "for images only"}};
    for (Case & c : cases) {
        auto sink = std::make_shared<MediaSink>();
        auto id = e->generate(with_media(cfg, {c.input}), sink);
        ASSERT_FALSE(id.ok()) << c.says;
        EXPECT_EQ(id.error().code, ErrorCode::invalid_argument) << id.error().message;
        EXPECT_NE(id.error().message.find(c.says), std::string::npos) << id.error().message;
        EXPECT_FALSE(sink->done) << "refused requests report nothing later";
    }
    EXPECT_NE(cases[0].input.name, "");
    // A good request still runs after the refusals.
    auto ok = run_media(*e, with_media(cfg, {media_input_pixels(media::Image{
                                                 8, 8, std::vector<uint8_t>(8 * 8 * 3, 128)})}));
    EXPECT_EQ(ok->reason, FinishReason::length) << ok->error.message;
}
