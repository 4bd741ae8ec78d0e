// The id <-> piece table shared by both tokenizer implementations, plus decoding with the
// Hugging Face Gemma decoder semantics (Replace "▁"->" ", ByteFallback, Fuse).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace gemma::tok {

using TokenId = int32_t;

// What a vocabulary entry is. `special` tokens are the control tokens (<bos>, <|turn>, ...) that
// decode(skip_special) drops; `added` are non-special added tokens (e.g. "\n\n", "<table>") that
// are matched before BPE like special ones but always decoded; `byte` are <0xXX> fallbacks.
enum class TokenKind : uint8_t { normal, byte, special, added };

struct DecodeOptions {
    bool skip_special = false;  // drop `special` tokens, as HF decode(skip_special_tokens=True)
};

// Immutable after build(). Thread-safe for concurrent reads.
class Vocab {
public:
    // pieces[i] is the text of id i (empty for holes); kinds[i] its kind. Byte pieces must be
    // spelled "<0xXX>" (upper-case hex). Fails on duplicate non-empty pieces.
    static Result<Vocab> build(std::vector<std::string> pieces, std::vector<TokenKind> kinds);

    int32_t size() const { return static_cast<int32_t>(kinds_.size()); }
    bool contains(TokenId id) const { return id >= 0 && id < size(); }
    // Requires contains(id).
    std::string_view piece(TokenId id) const {
        return std::string_view(arena_.data() + offsets_[id], offsets_[id + 1] - offsets_[id]);
    }
    TokenKind kind(TokenId id) const { return kinds_[id]; }
    // 0..255 for byte tokens, -1 otherwise. Requires contains(id).
    int byte_value(TokenId id) const { return byte_values_[id]; }
    std::optional<TokenId> find(std::string_view piece) const;

    // The bytes token `id` contributes to decoded text: the byte of a <0xXX> token, else the
    // piece with "▁" replaced by " ". Requires contains(id).
    void append_token_bytes(TokenId id, std::string & out) const;

    // ids -> text. A run of byte tokens that is not valid UTF-8 becomes one U+FFFD per byte, as
    // in the HF ByteFallback decoder. Fails with invalid_argument on an id outside the vocab.
    Result<std::string> decode(std::span<const TokenId> ids, DecodeOptions options = {}) const;

private:
    std::vector<char> arena_;        // all pieces back to back (a vector: moves keep views valid)
    std::vector<uint32_t> offsets_;  // size()+1 offsets into arena_
    std::vector<TokenKind> kinds_;
    std::vector<int16_t> byte_values_;
    std::unordered_map<std::string_view, TokenId> by_piece_;  // views into arena_
};

// "<0xC3>" -> 0xC3; -1 when `piece` is not a byte-fallback piece.
int parse_byte_piece(std::string_view piece);

// The SentencePiece whitespace marker U+2581 "▁".
inline constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";

}  // namespace gemma::tok
