// The native tokenizer.json implementation: added tokens split out first (leftmost-longest on
// the raw text), then normalizer, pre-tokenizer and BPE on the text between them, in the order
// the Hugging Face tokenizers library applies them.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/hf_spec.h"
#include "tokenizer/tokenizer.h"

namespace gemma::tok {

class HfTokenizer final : public Tokenizer {
public:
    // Reads and parses `path`. `names` (from tokenizer_config.json) name the special tokens.
    static Result<std::unique_ptr<HfTokenizer>> open(const std::string & path,
                                                     const SpecialTokenNames & names);
    // Builds from an already parsed spec; `source` names it in messages.
    static Result<std::unique_ptr<HfTokenizer>> build(HfSpec spec, const SpecialTokenNames & names,
                                                      std::string source);

    Result<std::vector<TokenId>> encode(std::string_view text,
                                        EncodeOptions options = {}) const override;
    const std::string & source() const override { return source_; }

private:
    HfTokenizer(Vocab vocab, SpecialTokens special)
        : Tokenizer(std::move(vocab), std::move(special)) {}
    // Normalizer steps applied to `text`, written to `out`.
    void normalize(std::string_view text, std::string & out) const;
    // Normalized text -> normalized added tokens, pre-tokenizer, BPE.
    void encode_normalized(std::string_view text, const AddedTokenMatcher & matcher,
                           std::vector<TokenId> & out) const;
    void pre_tokenize_and_bpe(std::string_view text, size_t step, std::vector<TokenId> & out) const;

    std::string source_;
    std::unique_ptr<Bpe> bpe_;
    std::vector<HfNormStep> normalizer_;
    std::vector<HfSplitStep> pre_tokenizer_;
    // [0] all added tokens, [1] non-special only (parse_special=false). raw_: normalized=false.
    AddedTokenMatcher raw_[2], normalized_[2];
};

}  // namespace gemma::tok
