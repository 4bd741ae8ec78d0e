// Special tokens by name ("sot_token" -> "<|turn>" -> 5), read from tokenizer_config.json so
// that ids are resolved from the vocabulary at load time instead of being hard-coded.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/vocab.h"

namespace gemma::tok {

// name -> token text, e.g. {"sot_token", "<|turn>"}, in file order.
using SpecialTokenNames = std::vector<std::pair<std::string, std::string>>;

// Every "*_token" entry of a tokenizer_config.json whose value is a string or an added-token
// object {"content": ...}, plus entries of an "extra_special_tokens" object. Fails with
// not_found when the file is missing, corrupt_file when it is not a JSON object.
Result<SpecialTokenNames> read_special_token_names(const std::string & config_path);

// Names Gemma tokenizers use that a config may leave out (video_token is added by the Gemma 4
// processor, not the tokenizer config). Used only for names the config does not define.
const SpecialTokenNames & default_special_token_names();

// Immutable; thread-safe for reads.
class SpecialTokens {
public:
    SpecialTokens() = default;
    // `names` from the config first, then defaults for names it lacks (only when the piece
    // exists). Names whose piece is not in the vocabulary are kept to explain lookups.
    static SpecialTokens resolve(const SpecialTokenNames & names, const Vocab & vocab);

    // Fails with not_found, naming the known names or the missing piece.
    Result<TokenId> id(std::string_view name) const;
    const std::map<std::string, TokenId, std::less<>> & all() const { return ids_; }

private:
    std::map<std::string, TokenId, std::less<>> ids_;
    std::map<std::string, std::string, std::less<>> missing_;  // name -> piece not in vocab
};

}  // namespace gemma::tok
