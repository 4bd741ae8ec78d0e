// Both tokenizer implementations against the HF reference ids of the tiny Gemma 4 chat fixture
// (golden_chat.json: `tokenize` strings, rendered prompts of `render`, `special_ids`).
#include "test_util.h"

using namespace gemma::tok;
using namespace gemma::tok::test;

class ChatGolden : public ::testing::TestWithParam<const char *> {
protected:
    void SetUp() override {
        tok_ = must_load(chat_tokenizer_path(GetParam()));
        ASSERT_NE(tok_, nullptr);
        golden_ = chat_golden();
    }
    std::unique_ptr<Tokenizer> tok_;
    nlohmann::json golden_;
};

TEST_P(ChatGolden, TokenizeCasesExact) {
    ASSERT_GE(golden_["tokenize"].size(), 10u);
    for (const auto & c : golden_["tokenize"]) {
        const std::string text = c["text"];
        EXPECT_EQ(must_encode(*tok_, text), c["ids"].get<std::vector<TokenId>>()) << text;
    }
}

TEST_P(ChatGolden, TokenizeCasesDecodeToReference) {
    for (const auto & c : golden_["tokenize"]) {
        EXPECT_EQ(must_decode(*tok_, c["ids"].get<std::vector<TokenId>>()),
                  c["decoded"].get<std::string>());
    }
}

TEST_P(ChatGolden, RenderedPromptsExact) {
    int n_checked = 0;
    for (const auto & c : golden_["render"]) {
        if (c["text"].is_null()) continue;  // a template error case: nothing to tokenize
        const std::string text = c["text"];
        EXPECT_EQ(must_encode(*tok_, text), c["ids"].get<std::vector<TokenId>>()) << c["name"];
        EXPECT_EQ(must_decode(*tok_, c["ids"].get<std::vector<TokenId>>()), text) << c["name"];
        ++n_checked;
    }
    EXPECT_GE(n_checked, 10);
}

TEST_P(ChatGolden, SpecialIdsByName) {
    for (const auto & [name, id] : golden_["special_ids"].items()) {
        auto got = tok_->special_id(name);
        ASSERT_TRUE(got.ok()) << name << ": " << got.error().message;
        EXPECT_EQ(*got, id.get<TokenId>()) << name;
        EXPECT_TRUE(tok_->is_special(*got)) << name;
    }
    auto missing = tok_->special_id("no_such_token");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("sot_token"), std::string::npos)
        << "the error should list the known names: " << missing.error().message;
}

TEST_P(ChatGolden, VocabularyAndPieces) {
    EXPECT_EQ(tok_->vocab_size(), golden_["vocab_size"].get<int>());
    EXPECT_EQ(*tok_->id_to_piece(5), "<|turn>");
    EXPECT_EQ(tok_->piece_to_id("<turn|>"), std::optional<TokenId>(6));
    EXPECT_EQ(*tok_->id_to_piece(34), "<0x0A>");
    EXPECT_EQ(tok_->piece_to_id("no such piece"), std::nullopt);
    EXPECT_FALSE(tok_->id_to_piece(tok_->vocab_size()).ok());
    EXPECT_FALSE(tok_->id_to_piece(-1).ok());
}

TEST_P(ChatGolden, DecodeSkipsSpecialTokensOnRequest) {
    const auto ids = must_encode(*tok_, "<bos><|turn>user\nHi<turn|>\n");
    EXPECT_EQ(must_decode(*tok_, ids), "<bos><|turn>user\nHi<turn|>\n");
    EXPECT_EQ(must_decode(*tok_, ids, DecodeOptions{.skip_special = true}), "user\nHi\n");
}

INSTANTIATE_TEST_SUITE_P(Impl, ChatGolden, ::testing::Values("tokenizer.json", "tokenizer.model"),
                         [](const auto & info) {
                             return std::string(info.param) == "tokenizer.json" ? "Json"
                                                                                : "SentencePiece";
                         });

TEST(TokenizerLoader, PrefersTokenizerJson) {
    auto tok = load_tokenizer(kChatDir);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    EXPECT_NE((*tok)->source().find("tokenizer.json"), std::string::npos) << (*tok)->source();
}
