// Parsing tokenizer.json (nlohmann::json) into HfSpec; JSON exceptions stop here.
#include "tokenizer/hf_spec.h"

#include <nlohmann/json.hpp>

namespace gemma::tok {

namespace {

using json = nlohmann::json;

Error unsupported(const std::string & path, const std::string & what) {
    return make_error(ErrorCode::unsupported,
                      format("%s: %s is not supported by the native tokenizer (it implements "
                             "Gemma's BPE pipeline); use the model's tokenizer.model instead",
                             path.c_str(), what.c_str()));
}

std::string type_of(const json & j) {
    return j.is_object() && j.contains("type") && j["type"].is_string()
               ? j["type"].get<std::string>()
               : std::string("(no type)");
}

// {"String": "x"} -> "x"; false for Regex patterns.
bool string_pattern(const json & pattern, std::string & out) {
    if (!pattern.is_object() || !pattern.contains("String")) return false;
    out = pattern["String"].get<std::string>();
    return true;
}

Status parse_normalizer(const json & j, const std::string & path, std::vector<HfNormStep> & out) {
    if (j.is_null()) return {};
    const std::string type = type_of(j);
    if (type == "Sequence") {
        for (const auto & step : j.at("normalizers")) GEMMA_TRY(parse_normalizer(step, path, out));
        return {};
    }
    HfNormStep step;
    if (type == "Replace") {
        step.kind = HfNormStep::Kind::replace;
        if (!string_pattern(j.at("pattern"), step.pattern)) {
            return unsupported(path, "a Replace normalizer with a Regex pattern");
        }
        step.content = j.at("content").get<std::string>();
        if (step.pattern.empty())
            return unsupported(path, "a Replace normalizer with an empty pattern");
    } else if (type == "Prepend") {
        step.kind = HfNormStep::Kind::prepend;
        step.content = j.at("prepend").get<std::string>();
    } else {
        return unsupported(path, "normalizer type '" + type + "'");
    }
    out.push_back(std::move(step));
    return {};
}

Status parse_pre_tokenizer(const json & j, const std::string & path,
                           std::vector<HfSplitStep> & out) {
    if (j.is_null()) return {};
    const std::string type = type_of(j);
    if (type == "Sequence") {
        for (const auto & s : j.at("pretokenizers")) GEMMA_TRY(parse_pre_tokenizer(s, path, out));
        return {};
    }
    if (type != "Split") return unsupported(path, "pre_tokenizer type '" + type + "'");
    HfSplitStep step;
    if (!string_pattern(j.at("pattern"), step.pattern) || step.pattern.empty()) {
        return unsupported(path, "a Split pre_tokenizer with a Regex or empty pattern");
    }
    if (j.value("invert", false))
        return unsupported(path, "a Split pre_tokenizer with invert=true");
    const std::string behavior = j.at("behavior").get<std::string>();
    if (behavior == "Removed") {
        step.behavior = SplitBehavior::removed;
    } else if (behavior == "Isolated") {
        step.behavior = SplitBehavior::isolated;
    } else if (behavior == "MergedWithPrevious") {
        step.behavior = SplitBehavior::merged_with_previous;
    } else if (behavior == "MergedWithNext") {
        step.behavior = SplitBehavior::merged_with_next;
    } else {
        return unsupported(path, "Split behavior '" + behavior + "'");
    }
    out.push_back(std::move(step));
    return {};
}

// The decoder is not configurable in Vocab::decode, so it must be exactly Gemma's.
Status check_decoder(const json & j, const std::string & path) {
    const std::string type = type_of(j);
    if (type != "Sequence") return unsupported(path, "decoder type '" + type + "'");
    bool replace = false, byte_fallback = false;
    for (const auto & d : j.at("decoders")) {
        const std::string t = type_of(d);
        std::string pattern;
        if (t == "Replace" && string_pattern(d.at("pattern"), pattern) && pattern == kSpaceMarker &&
            d.at("content") == " ") {
            replace = true;
        } else if (t == "ByteFallback") {
            byte_fallback = true;
        } else if (t != "Fuse") {
            return unsupported(path, "decoder step '" + t + "'");
        }
    }
    if (!replace || !byte_fallback) {
        return unsupported(path, "a decoder without Replace(\"▁\" -> \" \") and ByteFallback");
    }
    return {};
}

Status parse_model(const json & m, const std::string & path, HfSpec & spec) {
    if (type_of(m) != "BPE") return unsupported(path, "model type '" + type_of(m) + "'");
    if (!m.value("dropout", json()).is_null()) return unsupported(path, "BPE dropout");
    if (m.value("ignore_merges", false)) return unsupported(path, "BPE ignore_merges=true");
    for (const char * key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        const json v = m.value(key, json());
        if (!v.is_null() && v != "") return unsupported(path, std::string("BPE ") + key);
    }
    for (const auto & [piece, id] : m.at("vocab").items()) {
        spec.vocab.emplace_back(piece, id.get<TokenId>());
    }
    for (const auto & merge : m.at("merges")) {
        if (merge.is_array() && merge.size() == 2) {
            spec.bpe.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
            continue;
        }
        const std::string s = merge.get<std::string>();  // legacy "a b" form
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
            return make_error(ErrorCode::corrupt_file,
                              format("%s: merge '%s' is not two pieces separated by one space",
                                     path.c_str(), s.c_str()));
        }
        spec.bpe.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    }
    spec.bpe.byte_fallback = m.value("byte_fallback", false);
    spec.bpe.fuse_unk = m.value("fuse_unk", false);
    const json unk = m.value("unk_token", json());
    if (unk.is_string()) {
        auto it = m.at("vocab").find(unk.get<std::string>());
        if (it != m.at("vocab").end()) spec.bpe.unk_id = it->get<TokenId>();
    }
    return {};
}

Status parse_added(const json & list, const std::string & path, HfSpec & spec) {
    for (const auto & a : list) {
        if (a.value("lstrip", false) || a.value("rstrip", false) || a.value("single_word", false)) {
            return unsupported(path, "added token '" + a.at("content").get<std::string>() +
                                         "' with lstrip/rstrip/single_word");
        }
        spec.added.push_back(HfAddedToken{a.at("id").get<TokenId>(),
                                          a.at("content").get<std::string>(),
                                          a.value("special", false), a.value("normalized", false)});
    }
    return {};
}

}  // namespace

Result<HfSpec> parse_hf_tokenizer_json(std::string_view json_text, const std::string & path) {
    const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) {
        return make_error(ErrorCode::corrupt_file,
                          format("%s is not valid JSON (truncated or damaged download?); fetch "
                                 "tokenizer.json again",
                                 path.c_str()));
    }
    HfSpec spec;
    try {
        GEMMA_TRY(parse_model(doc.at("model"), path, spec));
        if (doc.contains("added_tokens")) GEMMA_TRY(parse_added(doc["added_tokens"], path, spec));
        GEMMA_TRY(parse_normalizer(doc.value("normalizer", json()), path, spec.normalizer));
        GEMMA_TRY(
            parse_pre_tokenizer(doc.value("pre_tokenizer", json()), path, spec.pre_tokenizer));
        GEMMA_TRY(check_decoder(doc.value("decoder", json()), path));
    } catch (const json::exception & e) {
        return make_error(
            ErrorCode::corrupt_file,
            format("%s does not have the layout of a tokenizer.json (%s)", path.c_str(), e.what()));
    }
    return spec;
}

}  // namespace gemma::tok
