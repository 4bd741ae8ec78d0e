// The tokenizer.model implementation over libsentencepiece. SentencePiece itself matches
// user-defined pieces (<|turn>, <mask>, ...) in text but not control pieces (<bos>, <eos>,
// <pad>) or <unk>; those are split out first, as the HF tokenizer does for its added tokens.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/added_tokens.h"
#include "tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace gemma::tok {

class SpTokenizer final : public Tokenizer {
public:
    // Special (skipped by decode(skip_special)): control pieces, <unk>, and every piece named
    // in `names` (the SentencePiece model cannot tell user-defined control tokens apart).
    static Result<std::unique_ptr<SpTokenizer>> open(const std::string & path,
                                                     const SpecialTokenNames & names);
    ~SpTokenizer() override;

    // parse_special=false fails with unsupported: libsentencepiece always matches user-defined
    // pieces, so special tokens in text cannot be kept as plain text.
    Result<std::vector<TokenId>> encode(std::string_view text,
                                        EncodeOptions options = {}) const override;
    const std::string & source() const override { return source_; }

private:
    SpTokenizer(Vocab vocab, SpecialTokens special);

    std::string source_;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
    AddedTokenMatcher control_;  // control pieces and <unk>
};

}  // namespace gemma::tok
