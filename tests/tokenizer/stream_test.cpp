// Round trips and incremental detokenization: emoji and CJK split across byte-fallback tokens
// must come out whole, never as a partial UTF-8 character, with both implementations.
#include "test_util.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/utf8.h"

using namespace gemma::tok;
using namespace gemma::tok::test;

class Stream : public ::testing::TestWithParam<const char *> {
protected:
    void SetUp() override {
        tok_ = must_load(chat_tokenizer_path(GetParam()));
        ASSERT_NE(tok_, nullptr);
    }
    // Streams `ids` one by one; every piece must be valid UTF-8. Returns the concatenation.
    std::string stream(const std::vector<TokenId> & ids, DecodeOptions options = {}) {
        StreamDecoder dec(*tok_, options);
        std::string all;
        for (TokenId id : ids) {
            auto piece = dec.push(id);
            EXPECT_TRUE(piece.ok());
            if (!piece.ok()) break;
            EXPECT_EQ(utf8_first_invalid(*piece), piece->size()) << "partial UTF-8 emitted";
            all += *piece;
        }
        all += dec.flush();
        return all;
    }
    std::unique_ptr<Tokenizer> tok_;
};

TEST_P(Stream, RoundTrips) {
    for (const char * s :
         {"Hello world", "  two leading, three trailing   ", "tab\there\nnew\n\nline",
          "naïve café résumé", "日本語のテキスト", "Привет, мир", "emoji 🙂🚀👍🏽",
          "<bos><|turn>user\nhi<turn|>\n<|turn>model\n", "a<|\"|>b<|\"|>c", ""}) {
        const auto ids = must_encode(*tok_, s);
        EXPECT_EQ(must_decode(*tok_, ids), s);
        EXPECT_EQ(stream(ids), s);
    }
}

TEST_P(Stream, EmojiHeldUntilComplete) {
    const std::string smile = "🙂";  // F0 9F 99 82: four byte-fallback tokens in this vocab
    const auto ids = must_encode(*tok_, "x" + smile + "y");
    ASSERT_EQ(ids.size(), 6u);
    StreamDecoder dec(*tok_);
    EXPECT_EQ(*dec.push(ids[0]), "x");
    for (int i = 1; i <= 3; ++i) {
        EXPECT_EQ(*dec.push(ids[i]), "") << "byte " << i;
        EXPECT_EQ(dec.n_pending(), static_cast<size_t>(i));
    }
    EXPECT_EQ(*dec.push(ids[4]), smile);
    EXPECT_EQ(*dec.push(ids[5]), "y");
    EXPECT_EQ(dec.flush(), "");
}

TEST_P(Stream, CjkAndSkinToneAcrossTokens) {
    for (const char * s : {"日本語のテキスト", "👍🏽 ok", "mixed 日本 and 🚀 text"}) {
        const auto ids = must_encode(*tok_, s);
        EXPECT_EQ(stream(ids), s);
    }
}

TEST_P(Stream, SkipsSpecialTokens) {
    const auto ids = must_encode(*tok_, "<|turn>model\nHi 🙂<turn|>");
    EXPECT_EQ(stream(ids, DecodeOptions{.skip_special = true}), "model\nHi 🙂");
}

TEST_P(Stream, InvalidBytesBecomeReplacementChars) {
    const TokenId f0 = *tok_->piece_to_id("<0xF0>"), e6 = *tok_->piece_to_id("<0xE6>");
    const TokenId a = must_encode(*tok_, "a").at(0);
    StreamDecoder dec(*tok_);
    EXPECT_EQ(*dec.push(f0), "");
    EXPECT_EQ(*dec.push(a), std::string(kReplacementChar) + "a");  // F0 cannot be followed by 'a'
    EXPECT_EQ(*dec.push(e6), "");
    EXPECT_EQ(dec.flush(), kReplacementChar);  // stream ended mid-character
    // decode() agrees for these runs (one U+FFFD per byte of an invalid run).
    EXPECT_EQ(must_decode(*tok_, {f0, a, e6}),
              std::string(kReplacementChar) + "a" + std::string(kReplacementChar));
}

TEST_P(Stream, BadIdIsAnErrorAndKeepsState) {
    const auto ids = must_encode(*tok_, "🙂");
    StreamDecoder dec(*tok_);
    EXPECT_EQ(*dec.push(ids[0]), "");
    auto bad = dec.push(tok_->vocab_size() + 7);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, gemma::ErrorCode::invalid_argument);
    EXPECT_EQ(dec.n_pending(), 1u);
    std::string rest;
    for (size_t i = 1; i < ids.size(); ++i) rest += *dec.push(ids[i]);
    EXPECT_EQ(rest, "🙂");
}

TEST_P(Stream, MatchesDecodeOnEveryGoldenString) {
    const auto golden = chat_golden();
    for (const char * section : {"tokenize", "render"}) {
        for (const auto & c : golden[section]) {
            if (!c.contains("ids") || c["ids"].is_null()) continue;
            const auto ids = c["ids"].get<std::vector<TokenId>>();
            EXPECT_EQ(stream(ids), must_decode(*tok_, ids));
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Impl, Stream, ::testing::Values("tokenizer.json", "tokenizer.model"),
                         [](const auto & info) {
                             return std::string(info.param) == "tokenizer.json" ? "Json"
                                                                                : "SentencePiece";
                         });

TEST(EncodeOptions, SpecialParsingOffKeepsControlTokensAsText) {
    auto tok = must_load(chat_tokenizer_path("tokenizer.json"));
    ASSERT_NE(tok, nullptr);
    const std::string text = "say <|turn>model\n<bos> please";
    auto ids = tok->encode(text, EncodeOptions{.parse_special = false});
    ASSERT_TRUE(ids.ok()) << ids.error().message;
    for (TokenId id : *ids) EXPECT_FALSE(tok->is_special(id)) << "id " << id;
    EXPECT_EQ(must_decode(*tok, *ids), text);
    EXPECT_NE(*ids, must_encode(*tok, text));

    auto sp = must_load(chat_tokenizer_path("tokenizer.model"));
    ASSERT_NE(sp, nullptr);
    auto refused = sp->encode(text, EncodeOptions{.parse_special = false});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, gemma::ErrorCode::unsupported);
}

TEST(EncodeOptions, InvalidUtf8IsRejectedWithOffset) {
    for (const char * file : {"tokenizer.json", "tokenizer.model"}) {
        auto tok = must_load(chat_tokenizer_path(file));
        ASSERT_NE(tok, nullptr);
        auto r = tok->encode("ok \xC3\x28 bad");
        ASSERT_FALSE(r.ok()) << file;
        EXPECT_EQ(r.error().code, gemma::ErrorCode::invalid_argument);
        EXPECT_NE(r.error().message.find("byte 3"), std::string::npos) << r.error().message;
    }
}
