// Shared helpers for the tokenizer tests: fixture paths, golden JSON loading, id printing.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace gemma::tok::test
