// Vocab: piece storage, lookup and the Gemma decoder (Replace "▁"->" ", ByteFallback, Fuse).
#include "tokenizer/vocab.h"

#include "tokenizer/utf8.h"

namespace gemma::tok {

int parse_byte_piece(std::string_view piece) {
    if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
    auto hex = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    const int hi = hex(piece[3]), lo = hex(piece[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

Result<Vocab> Vocab::build(std::vector<std::string> pieces, std::vector<TokenKind> kinds) {
    GEMMA_ASSERT(pieces.size() == kinds.size(), "pieces and kinds differ in length");
    Vocab v;
    size_t total = 0;
    for (const auto & p : pieces) total += p.size();
    v.arena_.reserve(total);
    v.offsets_.reserve(pieces.size() + 1);
    v.offsets_.push_back(0);
    for (const auto & p : pieces) {
        v.arena_.insert(v.arena_.end(), p.begin(), p.end());
        v.offsets_.push_back(static_cast<uint32_t>(v.arena_.size()));
    }
    v.kinds_ = std::move(kinds);
    v.byte_values_.assign(v.kinds_.size(), -1);
    v.by_piece_.reserve(pieces.size());
    for (TokenId id = 0; id < v.size(); ++id) {
        const std::string_view p = v.piece(id);
        if (v.kinds_[id] == TokenKind::byte) {
            const int b = parse_byte_piece(p);
            if (b < 0) {
                return make_error(ErrorCode::corrupt_file,
                                  format("token %d '%.*s' is marked as a byte token but is not "
                                         "spelled <0xXX>",
                                         id, static_cast<int>(p.size()), p.data()));
            }
            v.byte_values_[id] = static_cast<int16_t>(b);
        }
        if (p.empty()) continue;
        if (!v.by_piece_.emplace(p, id).second) {
            return make_error(ErrorCode::corrupt_file,
                              format("piece '%.*s' appears twice in the vocabulary (ids %d and %d)",
                                     static_cast<int>(p.size()), p.data(), v.by_piece_[p], id));
        }
    }
    return v;
}

std::optional<TokenId> Vocab::find(std::string_view piece) const {
    auto it = by_piece_.find(piece);
    if (it == by_piece_.end()) return std::nullopt;
    return it->second;
}

void Vocab::append_token_bytes(TokenId id, std::string & out) const {
    if (byte_values_[id] >= 0) {
        out.push_back(static_cast<char>(byte_values_[id]));
        return;
    }
    std::string_view p = piece(id);
    for (size_t pos = p.find(kSpaceMarker); pos != std::string_view::npos;
         pos = p.find(kSpaceMarker)) {
        out.append(p.substr(0, pos));
        out.push_back(' ');
        p.remove_prefix(pos + kSpaceMarker.size());
    }
    out.append(p);
}

namespace {

// ByteFallback: a run of byte tokens becomes its text when valid UTF-8, else U+FFFD per byte.
void flush_bytes(std::string & bytes, std::string & out) {
    if (bytes.empty()) return;
    if (utf8_first_invalid(bytes) == bytes.size()) {
        out.append(bytes);
    } else {
        for (size_t i = 0; i < bytes.size(); ++i) out.append(kReplacementChar);
    }
    bytes.clear();
}

}  // namespace

Result<std::string> Vocab::decode(std::span<const TokenId> ids, DecodeOptions options) const {
    std::string out, bytes;
    out.reserve(ids.size() * 4);
    for (size_t i = 0; i < ids.size(); ++i) {
        const TokenId id = ids[i];
        if (!contains(id)) {
            return make_error(ErrorCode::invalid_argument,
                              format("cannot decode token id %d at position %zu: the vocabulary "
                                     "has ids 0..%d",
                                     id, i, size() - 1));
        }
        if (options.skip_special && kinds_[id] == TokenKind::special) continue;
        if (byte_values_[id] >= 0) {
            bytes.push_back(static_cast<char>(byte_values_[id]));
            continue;
        }
        flush_bytes(bytes, out);
        append_token_bytes(id, out);
    }
    flush_bytes(bytes, out);
    return out;
}

}  // namespace gemma::tok
