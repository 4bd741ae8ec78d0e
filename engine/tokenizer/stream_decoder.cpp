// StreamDecoder: append each token's bytes, emit every complete character, hold a trailing
// incomplete one.
#include "tokenizer/stream_decoder.h"

#include "tokenizer/utf8.h"

namespace gemma::tok {

namespace {

// True when s[i..] (shorter than its lead byte announces) can still become a valid character.
bool utf8_prefix_ok(std::string_view s, size_t i) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    for (size_t k = i + 1; k < s.size(); ++k) {
        const auto b = static_cast<uint8_t>(s[k]);
        if ((b & 0xC0) != 0x80) return false;
        if (k == i + 1) {
            if (b0 == 0xE0 && b < 0xA0) return false;  // overlong
            if (b0 == 0xED && b > 0x9F) return false;  // surrogate
            if (b0 == 0xF0 && b < 0x90) return false;  // overlong
            if (b0 == 0xF4 && b > 0x8F) return false;  // > U+10FFFF
        }
    }
    return true;
}

}  // namespace

Result<std::string> StreamDecoder::push(TokenId id) {
    const Vocab & vocab = tokenizer_.vocab();
    if (!vocab.contains(id)) {
        return make_error(ErrorCode::invalid_argument,
                          format("cannot decode token id %d: the vocabulary has ids 0..%d", id,
                                 vocab.size() - 1));
    }
    if (options_.skip_special && vocab.kind(id) == TokenKind::special) return std::string();
    vocab.append_token_bytes(id, pending_);
    std::string out;
    size_t i = 0;
    while (i < pending_.size()) {
        const auto b = static_cast<uint8_t>(pending_[i]);
        if (b < 0x80) {
            out.push_back(static_cast<char>(b));
            ++i;
            continue;
        }
        const int len = utf8_seq_len(b);
        if (len > 0 && i + len > pending_.size() && utf8_prefix_ok(pending_, i)) break;  // wait
        const int valid = len > 0 ? utf8_valid_char_len(pending_, i) : 0;
        if (valid > 0) {
            out.append(pending_, i, valid);
            i += valid;
        } else {
            out.append(kReplacementChar);
            ++i;
        }
    }
    pending_.erase(0, i);
    return out;
}

std::string StreamDecoder::flush() {
    std::string out;
    for (size_t i = 0; i < pending_.size(); ++i) out.append(kReplacementChar);
    pending_.clear();
    return out;
}

}  // namespace gemma::tok
