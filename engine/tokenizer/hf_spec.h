// The parts of a Hugging Face tokenizer.json the native tokenizer implements, as plain structs:
// BPE model, added tokens, normalizer and pre-tokenizer steps. Anything else is refused with
// `unsupported` at load time rather than tokenized differently from the reference.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/bpe.h"
#include "tokenizer/vocab.h"

namespace gemma::tok {

struct HfAddedToken {
    TokenId id = -1;
    std::string content;
    bool special = false;
    bool normalized = false;  // matched after normalization instead of on the raw text
};

struct HfNormStep {
    enum class Kind { replace, prepend };
    Kind kind = Kind::replace;
    std::string pattern;  // replace: the literal string to replace
    std::string content;  // replace: replacement; prepend: the prefix
};

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next };

struct HfSplitStep {  // "Split" with a literal String pattern, invert=false
    std::string pattern;
    SplitBehavior behavior = SplitBehavior::isolated;
};

struct HfSpec {
    std::vector<std::pair<std::string, TokenId>> vocab;  // model.vocab
    std::vector<HfAddedToken> added;
    BpeConfig bpe;
    std::vector<HfNormStep> normalizer;
    std::vector<HfSplitStep> pre_tokenizer;
};

// `path` only names the file in messages. Fails with corrupt_file on malformed JSON or missing
// fields, unsupported on components other than the Gemma ones (BPE, Replace/Prepend, Split,
// Replace/ByteFallback/Fuse decoder).
Result<HfSpec> parse_hf_tokenizer_json(std::string_view json_text, const std::string & path);

}  // namespace gemma::tok
