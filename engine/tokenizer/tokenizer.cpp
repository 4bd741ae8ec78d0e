// Loaders: choose tokenizer.json or tokenizer.model, read tokenizer_config.json names.
#include "tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/sp_tokenizer.h"

namespace gemma::tok {

namespace fs = std::filesystem;

Result<std::string> Tokenizer::id_to_piece(TokenId id) const {
    if (!vocab_.contains(id)) {
        return make_error(
            ErrorCode::invalid_argument,
            format("token id %d is outside the vocabulary (0..%d)", id, vocab_.size() - 1));
    }
    return std::string(vocab_.piece(id));
}

namespace {

// Names from tokenizer_config.json in `dir`; none when the file does not exist.
Result<SpecialTokenNames> names_in_dir(const fs::path & dir) {
    const fs::path config = dir / "tokenizer_config.json";
    std::error_code ec;
    if (!fs::exists(config, ec)) return SpecialTokenNames{};
    return read_special_token_names(config.string());
}

// A tokenizer.json starts with '{'; a SentencePiece protobuf never does (field 1, wire type 2
// starts with byte 0x0A).
bool looks_like_json(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    char c = 0;
    while (in.get(c)) {
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c == '{';
    }
    return false;
}

Result<std::unique_ptr<Tokenizer>> open_file(const std::string & path, bool json,
                                             const SpecialTokenNames & names) {
    if (json) {
        auto t = HfTokenizer::open(path, names);
        if (!t) return t.error();
        return std::unique_ptr<Tokenizer>(std::move(*t));
    }
    auto t = SpTokenizer::open(path, names);
    if (!t) return t.error();
    return std::unique_ptr<Tokenizer>(std::move(*t));
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string & model_dir) {
    std::error_code ec;
    if (!fs::is_directory(model_dir, ec)) {
        return make_error(ErrorCode::not_found,
                          format("model directory %s does not exist", model_dir.c_str()));
    }
    const fs::path dir(model_dir);
    const fs::path json = dir / "tokenizer.json", model = dir / "tokenizer.model";
    const bool has_json = fs::exists(json, ec), has_model = fs::exists(model, ec);
    if (!has_json && !has_model) {
        return make_error(ErrorCode::not_found,
                          format("%s has neither tokenizer.json nor tokenizer.model; pass the "
                                 "Hugging Face model directory (the one with config.json)",
                                 model_dir.c_str()));
    }
    auto names = names_in_dir(dir);
    if (!names) return names.error();
    if (!has_json) return open_file(model.string(), false, *names);
    auto tok = open_file(json.string(), true, *names);
    // A tokenizer.json using components the native tokenizer lacks: use tokenizer.model.
    if (!tok && tok.error().code == ErrorCode::unsupported && has_model) {
        GEMMA_LOG_WARN("%s; using tokenizer.model", tok.error().message.c_str());
        return open_file(model.string(), false, *names);
    }
    return tok;
}

Result<std::unique_ptr<Tokenizer>> load_tokenizer_file(const std::string & path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
        return make_error(ErrorCode::not_found,
                          format("tokenizer file %s does not exist", path.c_str()));
    }
    auto names = names_in_dir(fs::path(path).parent_path());
    if (!names) return names.error();
    return open_file(path, looks_like_json(path), *names);
}

}  // namespace gemma::tok
