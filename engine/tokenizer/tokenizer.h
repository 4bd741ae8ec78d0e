// The tokenizer interface the engine and app use (text <-> ids, special tokens by name), and
// the loaders that pick an implementation from a model directory or a file.
//
// Two implementations: tokenizer.json (native Hugging Face BPE, see hf_tokenizer.h) and
// tokenizer.model (libsentencepiece, see sp_tokenizer.h). Both follow the HF library's rules:
// control tokens written literally in text ("<bos>", "<|turn>") become those tokens, no BOS is
// added (the chat template writes "<bos>"), and decoding uses the HF Gemma decoder.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/vocab.h"

namespace gemma::tok {

struct EncodeOptions {
    // true: special tokens written in the text become their ids (HF default). false: they are
    // tokenized as ordinary text (HF split_special_tokens=True), for untrusted user text.
    bool parse_special = true;
};

// Thread-safe: every const method may be called concurrently.
class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Text -> ids, no BOS. Fails with invalid_argument when `text` is not valid UTF-8.
    virtual Result<std::vector<TokenId>> encode(std::string_view text,
                                                EncodeOptions options = {}) const = 0;
    // Which file this tokenizer was loaded from, for messages.
    virtual const std::string & source() const = 0;

    // ids -> text. Fails with invalid_argument on an id outside the vocabulary.
    Result<std::string> decode(std::span<const TokenId> ids, DecodeOptions options = {}) const {
        return vocab_.decode(ids, options);
    }
    int32_t vocab_size() const { return vocab_.size(); }
    std::optional<TokenId> piece_to_id(std::string_view piece) const { return vocab_.find(piece); }
    // Fails with invalid_argument on an id outside the vocabulary.
    Result<std::string> id_to_piece(TokenId id) const;
    bool is_special(TokenId id) const {
        return vocab_.contains(id) && vocab_.kind(id) == TokenKind::special;
    }
    // By tokenizer_config.json name: "bos_token", "sot_token", "image_token", ...
    Result<TokenId> special_id(std::string_view name) const { return special_.id(name); }
    const SpecialTokens & special_tokens() const { return special_; }
    const Vocab & vocab() const { return vocab_; }

protected:
    Tokenizer(Vocab vocab, SpecialTokens special)
        : vocab_(std::move(vocab)), special_(std::move(special)) {}

    Vocab vocab_;
    SpecialTokens special_;
};

// Loads the tokenizer of a Hugging Face model directory: tokenizer.json when present, else
// tokenizer.model (also when tokenizer.json uses components the native implementation does not
// have: logged as a warning); names of special tokens from tokenizer_config.json when present.
// Fails with not_found when the directory has neither file, corrupt_file when the file cannot
// be parsed.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string & model_dir);

// Loads one file: a tokenizer.json (JSON) or a tokenizer.model (SentencePiece protobuf), told
// apart by content. tokenizer_config.json next to it, if any, names the special tokens.
Result<std::unique_ptr<Tokenizer>> load_tokenizer_file(const std::string & path);

}  // namespace gemma::tok
