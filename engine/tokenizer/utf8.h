// Small UTF-8 helpers shared by the tokenizers: validation, character length, code points.
// Header-only because they sit on the per-byte hot path of encode().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gemma::tok {

// Length of the UTF-8 sequence announced by lead byte `b`: 1..4, or 0 for a continuation or
// invalid lead byte.
inline int utf8_seq_len(uint8_t b) {
    if (b < 0x80) return 1;
    if (b < 0xC2) return 0;  // continuation byte, or overlong 2-byte lead
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 3;
    if (b < 0xF5) return 4;
    return 0;
}

// Number of bytes of a valid, complete character at s[i..], or 0 when s[i..] is not one.
// Rejects overlongs, surrogates and code points above U+10FFFF, like Rust's str and Python.
inline int utf8_valid_char_len(std::string_view s, size_t i) {
    auto at = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    const uint8_t b0 = at(i);
    const int n = utf8_seq_len(b0);
    if (n <= 1 || i + n > s.size()) return n == 1 ? 1 : 0;
    const uint8_t b1 = at(i + 1);
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // <= U+10FFFF
    if (b1 < lo || b1 > hi) return 0;
    for (int k = 2; k < n; ++k) {
        if ((at(i + k) & 0xC0) != 0x80) return 0;
    }
    return n;
}

// Byte offset of the first invalid UTF-8 byte, or s.size() when all of s is valid.
inline size_t utf8_first_invalid(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        if (static_cast<uint8_t>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const int n = utf8_valid_char_len(s, i);
        if (n == 0) return i;
        i += n;
    }
    return s.size();
}

// Code point of the valid character of `n` bytes at s[i..].
inline uint32_t utf8_decode(std::string_view s, size_t i, int n) {
    auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[k])); };
    switch (n) {
        case 1:
            return at(i);
        case 2:
            return ((at(i) & 0x1F) << 6) | (at(i + 1) & 0x3F);
        case 3:
            return ((at(i) & 0x0F) << 12) | ((at(i + 1) & 0x3F) << 6) | (at(i + 2) & 0x3F);
        default:
            return ((at(i) & 0x07) << 18) | ((at(i + 1) & 0x3F) << 12) | ((at(i + 2) & 0x3F) << 6) |
                   (at(i + 3) & 0x3F);
    }
}

// The replacement character U+FFFD in UTF-8, used wherever bytes do not form valid text.
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

}  // namespace gemma::tok
