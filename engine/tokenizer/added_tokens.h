// Finds added tokens (<bos>, <|turn>, "\n\n", ...) written literally in text, before BPE runs,
// with the leftmost-longest rule of the Hugging Face tokenizers library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace gemma::tok {

// One piece of the split: either an added token (id >= 0) or plain text (id == -1).
struct TextPart {
    std::string_view text;
    TokenId id = -1;
};

// Immutable after construction; thread-safe for concurrent reads.
class AddedTokenMatcher {
public:
    AddedTokenMatcher() = default;
    void add(std::string_view content, TokenId id);
    bool empty() const { return n_tokens_ == 0; }

    // Splits `text` into plain runs and added tokens: scanning left to right, at the first
    // position where any token matches, the longest one wins. Views point into `text`.
    void split(std::string_view text, std::vector<TextPart> & out) const;

private:
    struct Node {
        std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node index
        TokenId id = -1;                                    // token ending here, if any
    };
    int32_t child(int32_t node, uint8_t b) const;
    // Length of the longest token starting at text[pos], 0 if none; its id in *id.
    size_t longest_at(std::string_view text, size_t pos, TokenId * id) const;

    std::vector<Node> nodes_{Node{}};
    bool first_byte_[256] = {};
    int n_tokens_ = 0;
};

}  // namespace gemma::tok
