// Reading special-token names from tokenizer_config.json and resolving them to ids.
#include "tokenizer/special_tokens.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gemma::tok {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A token value is a string or an AddedToken object {"content": "..."}.
bool token_text(const nlohmann::json & v, std::string & out) {
    if (v.is_string()) {
        out = v.get<std::string>();
        return true;
    }
    if (v.is_object() && v.contains("content") && v["content"].is_string()) {
        out = v["content"].get<std::string>();
        return true;
    }
    return false;
}

}  // namespace

Result<SpecialTokenNames> read_special_token_names(const std::string & config_path) {
    std::ifstream in(config_path, std::ios::binary);
    if (!in) {
        return make_error(ErrorCode::not_found, format("cannot open %s", config_path.c_str()));
    }
    std::stringstream buf;
    buf << in.rdbuf();
    const auto doc = nlohmann::json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) {
        return make_error(ErrorCode::corrupt_file,
                          format("%s is not a JSON object; restore tokenizer_config.json from the "
                                 "model download",
                                 config_path.c_str()));
    }
    SpecialTokenNames names;
    std::string text;
    for (const auto & [key, value] : doc.items()) {
        if (ends_with(key, "_token") && token_text(value, text)) names.emplace_back(key, text);
    }
    if (doc.contains("extra_special_tokens") && doc["extra_special_tokens"].is_object()) {
        for (const auto & [key, value] : doc["extra_special_tokens"].items()) {
            if (token_text(value, text)) names.emplace_back(key, text);
        }
    }
    return names;
}

const SpecialTokenNames & default_special_token_names() {
    static const SpecialTokenNames kDefaults = {
        {"bos_token", "<bos>"}, {"eos_token", "<eos>"},   {"pad_token", "<pad>"},
        {"unk_token", "<unk>"}, {"mask_token", "<mask>"}, {"video_token", "<|video|>"},
    };
    return kDefaults;
}

SpecialTokens SpecialTokens::resolve(const SpecialTokenNames & names, const Vocab & vocab) {
    SpecialTokens st;
    for (const auto & [name, piece] : names) {
        if (st.ids_.count(name) || st.missing_.count(name)) continue;
        if (auto id = vocab.find(piece)) {
            st.ids_.emplace(name, *id);
        } else {
            st.missing_.emplace(name, piece);
        }
    }
    for (const auto & [name, piece] : default_special_token_names()) {
        if (st.ids_.count(name) || st.missing_.count(name)) continue;
        if (auto id = vocab.find(piece)) st.ids_.emplace(name, *id);
    }
    return st;
}

Result<TokenId> SpecialTokens::id(std::string_view name) const {
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    if (auto it = missing_.find(name); it != missing_.end()) {
        return make_error(ErrorCode::not_found,
                          format("tokenizer_config.json names %s = '%s', but the vocabulary has "
                                 "no such piece; the tokenizer and its config do not match",
                                 it->first.c_str(), it->second.c_str()));
    }
    std::string known;
    for (const auto & [n, id] : ids_) known += (known.empty() ? "" : ", ") + n;
    return make_error(ErrorCode::not_found,
                      format("no special token named '%.*s' (known: %s)",
                             static_cast<int>(name.size()), name.data(), known.c_str()));
}

}  // namespace gemma::tok
