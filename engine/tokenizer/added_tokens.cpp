// AddedTokenMatcher: a byte trie with a first-byte filter, so text without any candidate start
// byte costs one table lookup per byte.
#include "tokenizer/added_tokens.h"

namespace gemma::tok {

int32_t AddedTokenMatcher::child(int32_t node, uint8_t b) const {
    for (const auto & [byte, next] : nodes_[node].children) {
        if (byte == b) return next;
    }
    return -1;
}

void AddedTokenMatcher::add(std::string_view content, TokenId id) {
    if (content.empty()) return;
    int32_t node = 0;
    for (char c : content) {
        const auto b = static_cast<uint8_t>(c);
        int32_t next = child(node, b);
        if (next < 0) {
            next = static_cast<int32_t>(nodes_.size());
            nodes_[node].children.emplace_back(b, next);
            nodes_.emplace_back();
        }
        node = next;
    }
    if (nodes_[node].id < 0) ++n_tokens_;
    nodes_[node].id = id;
    first_byte_[static_cast<uint8_t>(content[0])] = true;
}

size_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, TokenId * id) const {
    size_t best = 0;
    int32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
        node = child(node, static_cast<uint8_t>(text[i]));
        if (node < 0) break;
        if (nodes_[node].id >= 0) {
            best = i + 1 - pos;
            *id = nodes_[node].id;
        }
    }
    return best;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextPart> & out) const {
    size_t plain_start = 0;
    for (size_t i = 0; i < text.size();) {
        if (!first_byte_[static_cast<uint8_t>(text[i])]) {
            ++i;
            continue;
        }
        TokenId id = -1;
        const size_t len = longest_at(text, i, &id);
        if (len == 0) {
            ++i;
            continue;
        }
        if (i > plain_start) out.push_back({text.substr(plain_start, i - plain_start), -1});
        out.push_back({text.substr(i, len), id});
        i += len;
        plain_start = i;
    }
    if (plain_start < text.size()) out.push_back({text.substr(plain_start), -1});
}

}  // namespace gemma::tok
