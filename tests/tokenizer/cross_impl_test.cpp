// The tokenizer.json (native BPE) and tokenizer.model (libsentencepiece) implementations of the
// chat fixture agree id for id on random strings built from the fixture's vocabulary domain:
// vocabulary pieces, ASCII, whitespace runs, accented/CJK/emoji text and control tokens. And
// the fast BPE path agrees with the plain HF algorithm (reference mode).
#include "test_util.h"

using namespace gemma::tok;
using namespace gemma::tok::test;

TEST(CrossImpl, JsonAndSentencePieceAgreeOnRandomStrings) {
    auto json = must_load(chat_tokenizer_path("tokenizer.json"));
    auto sp = must_load(chat_tokenizer_path("tokenizer.model"));
    ASSERT_TRUE(json && sp);
    std::mt19937 rng(1234);
    int n_mismatch = 0;
    size_t n_ids = 0;
    for (int i = 0; i < 400; ++i) {
        const std::string text = random_text(rng, *json);
        const auto a = must_encode(*json, text), b = must_encode(*sp, text);
        n_ids += a.size();
        if (a != b && ++n_mismatch <= 5) {
            ADD_FAILURE() << "mismatch on '" << text << "'\n json: " << ::testing::PrintToString(a)
                          << "\n sp:   " << ::testing::PrintToString(b);
        }
        // "▁" in the input decodes as " " (Gemma's decoder), so only such texts cannot round trip.
        if (text.find("▁") == std::string::npos) {
            EXPECT_EQ(must_decode(*json, a), text);
        }
    }
    EXPECT_EQ(n_mismatch, 0);
    EXPECT_GT(n_ids, 4000u) << "the random strings should exercise many merges";
}

TEST(CrossImpl, FastBpeMatchesReferenceModeOnChatVocab) {
    auto fast = must_load(chat_tokenizer_path("tokenizer.json"));
    auto ref = load_reference_mode(chat_tokenizer_path("tokenizer.json"));
    ASSERT_TRUE(fast && ref);
    EXPECT_EQ(count_fast_vs_reference_mismatches(*fast, *ref, 400), 0);
}
