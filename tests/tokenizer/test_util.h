// Shared helpers for the tokenizer tests: fixture paths, golden JSON loading, id printing.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace gemma::tok::test {

inline const std::string kChatDir = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4-chat";

inline nlohmann::json read_json(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    return nlohmann::json::parse(buf.str());
}

inline nlohmann::json chat_golden() { return read_json(kChatDir + "/golden_chat.json"); }

// Loads a tokenizer file or fails the calling test with the loader's message.
inline std::unique_ptr<Tokenizer> must_load(const std::string & path) {
    auto t = load_tokenizer_file(path);
    EXPECT_TRUE(t.ok()) << path << ": " << (t.ok() ? "" : t.error().message);
    return t.ok() ? std::move(*t) : nullptr;
}

inline std::vector<TokenId> must_encode(const Tokenizer & tok, std::string_view text) {
    auto ids = tok.encode(text);
    EXPECT_TRUE(ids.ok()) << (ids.ok() ? "" : ids.error().message);
    return ids.ok() ? *ids : std::vector<TokenId>{};
}

inline std::string must_decode(const Tokenizer & tok, const std::vector<TokenId> & ids,
                               DecodeOptions options = {}) {
    auto text = tok.decode(ids, options);
    EXPECT_TRUE(text.ok()) << (text.ok() ? "" : text.error().message);
    return text.ok() ? *text : std::string();
}

// Both implementations of the chat fixture's tokenizer, for parameterized tests.
inline std::string chat_tokenizer_path(const std::string & file) { return kChatDir + "/" + file; }

// A random string of 1..24 fragments from the vocabulary's domain: pieces (as the text they
// decode to), printable ASCII, whitespace runs, accented/CJK/emoji text and control tokens.
inline std::string random_text(std::mt19937 & rng, const Tokenizer & tok) {
    static const char * kExtra[] = {" ",      "  ",    "   ",     "\n",      "\n\n",   "\t",
                                    "é",      "naïve", "日本",    "語の",    "🙂",   "👍🏽",
                                    "Привет", "<bos>", "<|turn>", "<turn|>", "<|\"|>", "<|image|>",
                                    "<0x41>", "▁",     "<",       "|>",      "{",      "}"};
    std::uniform_int_distribution<int> n_frag(1, 24), kind(0, 9), ascii(0x20, 0x7E);
    std::uniform_int_distribution<TokenId> any_id(0, tok.vocab_size() - 1);
    std::uniform_int_distribution<size_t> extra(0, std::size(kExtra) - 1);
    std::string s;
    for (int i = n_frag(rng); i > 0; --i) {
        const int k = kind(rng);
        if (k < 5) {
            const TokenId id = any_id(rng);
            if (tok.vocab().kind(id) == TokenKind::normal) tok.vocab().append_token_bytes(id, s);
        } else if (k < 7) {
            s.push_back(static_cast<char>(ascii(rng)));
        } else {
            s += kExtra[extra(rng)];
        }
    }
    return s;
}

// The text files of tests/data (JSON, Markdown, Jinja), concatenated: a real-world corpus.
inline std::string fixture_text_corpus() {
    std::string all;
    for (const auto & e : std::filesystem::recursive_directory_iterator(GEMMA_TEST_DATA_DIR)) {
        const auto ext = e.path().extension();
        if (ext != ".json" && ext != ".md" && ext != ".jinja") continue;
        std::ifstream in(e.path(), std::ios::binary);
        all.append(std::istreambuf_iterator<char>(in), {});
    }
    return all;
}

// The tokenizer.json at `path` with BPE in reference mode (plain HF algorithm, no fast path).
inline std::unique_ptr<Tokenizer> load_reference_mode(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    const std::string text(std::istreambuf_iterator<char>(in), {});
    auto spec = parse_hf_tokenizer_json(text, path);
    EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().message);
    if (!spec.ok()) return nullptr;
    spec->bpe.reference_mode = true;
    auto tok = HfTokenizer::build(std::move(*spec), {}, path);
    EXPECT_TRUE(tok.ok()) << (tok.ok() ? "" : tok.error().message);
    return tok.ok() ? std::move(*tok) : nullptr;
}

// Fast path vs reference mode on the corpus (line by line and whole) and on random strings;
// returns the number of mismatching inputs (the first few are reported as failures).
inline int count_fast_vs_reference_mismatches(const Tokenizer & fast, const Tokenizer & ref,
                                              int n_random) {
    std::vector<std::string> inputs;
    const std::string corpus = fixture_text_corpus();
    EXPECT_GT(corpus.size(), 20000u);
    inputs.push_back(corpus);
    std::istringstream lines(corpus);
    for (std::string line; std::getline(lines, line);) inputs.push_back(line);
    std::mt19937 rng(99);
    for (int i = 0; i < n_random; ++i) inputs.push_back(random_text(rng, fast));
    int n_bad = 0;
    for (const auto & s : inputs) {
        const auto a = must_encode(fast, s), b = must_encode(ref, s);
        if (a != b && ++n_bad <= 3) ADD_FAILURE() << "fast path differs from reference on: " << s;
    }
    return n_bad;
}

}  // namespace gemma::tok::test
