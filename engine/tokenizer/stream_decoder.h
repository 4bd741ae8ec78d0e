// Incremental detokenization for streaming: feed generated ids one at a time and get back only
// complete UTF-8 text. Byte-fallback tokens of one character (an emoji is four <0xXX> tokens)
// are held until the character is complete, across calls.
#pragma once

#include <string>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace gemma::tok {

// One per stream; not thread-safe. `tokenizer` must outlive it. The concatenation of all
// push() results and flush() equals tokenizer.decode(all ids) for text whose byte runs are
// valid UTF-8. Invalid bytes become U+FFFD as soon as they are known to be invalid (one per
// byte, where decode() would replace a whole invalid byte run).
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer & tokenizer, DecodeOptions options = {})
        : tokenizer_(tokenizer), options_(options) {}

    // Text completed by `id` (often empty while a character is incomplete). Fails with
    // invalid_argument on an id outside the vocabulary; the stream state is then unchanged.
    Result<std::string> push(TokenId id);
    // Ends the stream: any held incomplete character becomes U+FFFD per byte.
    std::string flush();
    // Bytes held back waiting for the rest of a character.
    size_t n_pending() const { return pending_.size(); }

private:
    const Tokenizer & tokenizer_;
    DecodeOptions options_;
    std::string pending_;  // bytes of an incomplete character
};

}  // namespace gemma::tok
