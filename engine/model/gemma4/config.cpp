// Gemma 4 config.json -> Config: reads both HF forms (global_head_dim / per_layer_config),
// both architectures, and resolves per-layer geometry and KV-sharing donors (spec §1.3, §6.6).
// The only place in the model that touches JSON.
#include "model/gemma4/config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gemma::gemma4 {
namespace {

using json = nlohmann::json;

// Reads typed keys of one JSON object; the first problem is kept as an error naming the key.
class Reader {
public:
    Reader(const json & obj, std::string where) : obj_(obj), where_(std::move(where)) {}

    int i(const char * key, int fallback, bool required = false) {
        const json * v = find(key, required);
        if (v == nullptr) return fallback;
        if (!v->is_number_integer()) return fail(key, "an integer"), fallback;
        return v->get<int>();
    }
    float f(const char * key, float fallback) {
        const json * v = find(key, false);
        if (v == nullptr) return fallback;
        if (!v->is_number()) return fail(key, "a number"), fallback;
        return v->get<float>();
    }
    bool b(const char * key, bool fallback) {
        const json * v = find(key, false);
        if (v == nullptr) return fallback;
        if (!v->is_boolean()) return fail(key, "true or false"), fallback;
        return v->get<bool>();
    }
    std::string s(const char * key, const std::string & fallback) {
        const json * v = find(key, false);
        if (v == nullptr) return fallback;
        if (!v->is_string()) return fail(key, "a string"), fallback;
        return v->get<std::string>();
    }
    // An int or a list of ints (eos_token_id).
    std::vector<int> ints(const char * key) {
        const json * v = find(key, false);
        std::vector<int> out;
        if (v == nullptr) return out;
        if (v->is_number_integer()) return {v->get<int>()};
        if (!v->is_array()) return fail(key, "an integer or a list of integers"), out;
        for (const json & e : *v) {
            if (!e.is_number_integer()) return fail(key, "a list of integers"), out;
            out.push_back(e.get<int>());
        }
        return out;
    }
    void fail(const char * key, const char * what) {
        if (error_.empty()) error_ = format("%s: \"%s\" must be %s", where_.c_str(), key, what);
    }
    void fail_msg(const std::string & msg) {
        if (error_.empty()) error_ = where_ + ": " + msg;
    }
    const std::string & error() const { return error_; }

private:
    const json * find(const char * key, bool required) {
        auto it = obj_.find(key);
        if (it == obj_.end() || it->is_null()) {
            if (required && error_.empty())
                error_ = format("%s: required key \"%s\" is missing", where_.c_str(), key);
            return nullptr;
        }
        return &*it;
    }
    const json & obj_;
    std::string where_;
    std::string error_;
};

Error bad_config(const std::string & msg) {
    return make_error(ErrorCode::corrupt_file, msg + "; check config.json against the checkpoint");
}

RopeParams parse_rope(const json & j, const RopeParams & fallback, Reader & parent) {
    if (!j.is_object()) return fallback;
    Reader r(j, "rope_parameters");
    RopeParams p;
    p.type = r.s("rope_type", fallback.type);
    p.theta = r.f("rope_theta", fallback.theta);
    p.partial_rotary_factor = r.f("partial_rotary_factor", 1.0f);
    p.factor = r.f("factor", 1.0f);
    if (!r.error().empty()) parent.fail_msg(r.error());
    if (p.type != "default" && p.type != "proportional")
        parent.fail_msg(
            format("rope_type '%s' is not supported (default, proportional)", p.type.c_str()));
    return p;
}

// layer_types: explicit list, else every 6th layer full with the last forced full (spec §1.3).
Status resolve_layer_types(const json & t, TextConfig & c, const std::string & origin) {
    c.layers.assign(size_t(c.n_layers), LayerConfig{});
    auto it = t.find("layer_types");
    if (it == t.end() || it->is_null()) {
        for (int l = 0; l < c.n_layers; ++l)
            c.layers[size_t(l)].type = ((l + 1) % 6 == 0) ? LayerType::full : LayerType::sliding;
        if (c.n_layers > 0) c.layers.back().type = LayerType::full;
        return Status::success();
    }
    if (!it->is_array() || int(it->size()) != c.n_layers)
        return bad_config(format("%s: layer_types must list %d entries (num_hidden_layers)",
                                 origin.c_str(), c.n_layers));
    for (int l = 0; l < c.n_layers; ++l) {
        const json & v = (*it)[size_t(l)];
        std::string s = v.is_string() ? v.get<std::string>() : "";
        if (s == "sliding_attention")
            c.layers[size_t(l)].type = LayerType::sliding;
        else if (s == "full_attention")
            c.layers[size_t(l)].type = LayerType::full;
        else
            return bad_config(
                format("%s: layer_types[%d] = %s is not sliding_attention or "
                       "full_attention",
                       origin.c_str(), l, v.dump().c_str()));
    }
    return Status::success();
}

// Per-layer head dim / KV heads / MLP width, from global_head_dim or per_layer_config.
Status resolve_geometry(const json & t, TextConfig & c, const std::string & origin) {
    Reader r(t, origin);
    int global_head_dim = r.i("global_head_dim", 0);
    int global_kv = r.i("num_global_key_value_heads", 0);
    if (!r.error().empty()) return bad_config(r.error());
    for (int l = 0; l < c.n_layers; ++l) {
        LayerConfig & lc = c.layers[size_t(l)];
        lc.head_dim = c.head_dim;
        lc.n_kv_heads = c.n_kv_heads;
        lc.intermediate_size = c.intermediate_size;
        if (lc.type == LayerType::full && global_head_dim > 0) lc.head_dim = global_head_dim;
        if (lc.type == LayerType::full && c.attention_k_eq_v && global_kv > 0)
            lc.n_kv_heads = global_kv;
    }
    auto plc = t.find("per_layer_config");
    if (plc != t.end() && plc->is_object()) {
        for (auto it = plc->begin(); it != plc->end(); ++it) {
            char * end = nullptr;
            long l = std::strtol(it.key().c_str(), &end, 10);
            if (it.key().empty() || *end != '\0' || l < 0 || l >= c.n_layers || !it->is_object())
                return bad_config(
                    format("%s: per_layer_config key '%s' is not a layer index below %d",
                           origin.c_str(), it.key().c_str(), c.n_layers));
            Reader lr(*it, format("%s: per_layer_config[%ld]", origin.c_str(), l));
            LayerConfig & lc = c.layers[size_t(l)];
            lc.head_dim = lr.i("head_dim", lc.head_dim);
            lc.n_kv_heads = lr.i("num_key_value_heads", lc.n_kv_heads);
            lc.intermediate_size = lr.i("intermediate_size", lc.intermediate_size);
            if (!lr.error().empty()) return bad_config(lr.error());
        }
    }
    c.global_head_dim = 0;
    for (const LayerConfig & lc : c.layers)
        if (lc.type == LayerType::full) c.global_head_dim = lc.head_dim;
    if (c.global_head_dim == 0)
        c.global_head_dim = global_head_dim > 0 ? global_head_dim : c.head_dim;
    return Status::success();
}

// KV sharing (spec §6.6): donor of a shared layer = last layer before `first` of the same type.
Status resolve_donors(TextConfig & c, const std::string & origin) {
    int first = c.first_shared_layer();
    for (int l = 0; l < c.n_layers; ++l) {
        LayerConfig & lc = c.layers[size_t(l)];
        lc.owns_kv = l < first;
        lc.kv_source = l;
        if (lc.owns_kv) continue;
        if (c.use_double_wide_mlp) lc.intermediate_size *= 2;
        int donor = -1;
        for (int d = 0; d < first; ++d)
            if (c.layers[size_t(d)].type == lc.type) donor = d;
        if (donor < 0)
            return bad_config(
                format("%s: layer %d shares KV but no earlier layer of its type owns a "
                       "cache (num_kv_shared_layers = %d)",
                       origin.c_str(), l, c.n_kv_shared_layers));
        const LayerConfig & dc = c.layers[size_t(donor)];
        if (dc.head_dim != lc.head_dim || dc.n_kv_heads != lc.n_kv_heads)
            return bad_config(format("%s: layer %d and its KV donor %d differ in head_dim/KV heads",
                                     origin.c_str(), l, donor));
        lc.kv_source = donor;
    }
    return Status::success();
}

Status validate_text(const TextConfig & c, const std::string & origin) {
    if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.intermediate_size <= 0 || c.n_layers <= 0 ||
        c.n_heads <= 0 || c.n_kv_heads <= 0 || c.head_dim <= 0 || c.sliding_window <= 0)
        return bad_config(
            format("%s: vocab_size, hidden_size, intermediate_size, num_hidden_layers, "
                   "num_attention_heads, num_key_value_heads, head_dim and "
                   "sliding_window must be positive",
                   origin.c_str()));
    if (c.n_kv_shared_layers < 0 || c.n_kv_shared_layers >= c.n_layers)
        return bad_config(format("%s: num_kv_shared_layers = %d must be in [0, %d)", origin.c_str(),
                                 c.n_kv_shared_layers, c.n_layers));
    if (c.hidden_size_per_layer_input > 0 && c.vocab_size_per_layer_input != c.vocab_size)
        return make_error(ErrorCode::unsupported,
                          format("%s: vocab_size_per_layer_input (%d) != vocab_size (%d) is not "
                                 "supported",
                                 origin.c_str(), c.vocab_size_per_layer_input, c.vocab_size));
    for (int l = 0; l < c.n_layers; ++l) {
        const LayerConfig & lc = c.layers[size_t(l)];
        if (lc.head_dim <= 0 || lc.head_dim % 2 != 0 || lc.n_kv_heads <= 0 ||
            c.n_heads % lc.n_kv_heads != 0 || lc.intermediate_size <= 0)
            return bad_config(
                format("%s: layer %d: head_dim %d must be even and positive, and "
                       "num_attention_heads %d a multiple of its %d KV heads",
                       origin.c_str(), l, lc.head_dim, c.n_heads, lc.n_kv_heads));
    }
    return Status::success();
}

Status check_supported(Reader & r, const std::string & origin) {
    std::string act = r.s("hidden_activation", "gelu_pytorch_tanh");
    if (act != "gelu_pytorch_tanh" && act != "gelu_tanh")
        return make_error(ErrorCode::unsupported,
                          format("%s: hidden_activation '%s' is not supported "
                                 "(gelu_pytorch_tanh)",
                                 origin.c_str(), act.c_str()));
    if (r.b("enable_moe_block", false))
        return make_error(ErrorCode::unsupported, format("%s: MoE Gemma 4 checkpoints "
                                                         "(enable_moe_block) are not supported yet",
                                                         origin.c_str()));
    if (r.b("attention_bias", false))
        return make_error(ErrorCode::unsupported,
                          format("%s: attention_bias is not supported", origin.c_str()));
    return Status::success();
}

Result<TextConfig> parse_text(const json & t, const std::string & origin) {
    Reader r(t, origin);
    TextConfig c;
    c.vocab_size = r.i("vocab_size", 0, true);
    c.hidden_size = r.i("hidden_size", 0, true);
    c.intermediate_size = r.i("intermediate_size", 0, true);
    c.n_layers = r.i("num_hidden_layers", 0, true);
    c.n_heads = r.i("num_attention_heads", 0, true);
    c.n_kv_heads = r.i("num_key_value_heads", 0, true);
    c.head_dim = r.i("head_dim", 0, true);
    c.sliding_window = r.i("sliding_window", 0, true);
    c.max_position_embeddings = r.i("max_position_embeddings", 131072);
    c.n_kv_shared_layers = r.i("num_kv_shared_layers", 0);
    c.vocab_size_per_layer_input = r.i("vocab_size_per_layer_input", c.vocab_size);
    c.hidden_size_per_layer_input = r.i("hidden_size_per_layer_input", 0);
    c.rms_norm_eps = r.f("rms_norm_eps", 1e-6f);
    c.final_logit_softcapping = r.f("final_logit_softcapping", 0.0f);
    c.tie_word_embeddings = r.b("tie_word_embeddings", true);
    c.attention_k_eq_v = r.b("attention_k_eq_v", false);
    c.use_double_wide_mlp = r.b("use_double_wide_mlp", false);
    c.use_bidirectional_attention = r.s("use_bidirectional_attention", "");
    c.pad_token_id = r.i("pad_token_id", 0);
    c.bos_token_id = r.i("bos_token_id", 2);
    c.eos_token_ids = r.ints("eos_token_id");
    GEMMA_TRY(check_supported(r, origin));
    if (!r.error().empty()) return bad_config(r.error());
    if (c.use_bidirectional_attention == "all")
        return make_error(ErrorCode::unsupported, format("%s: use_bidirectional_attention \"all\" "
                                                         "(encoder-style) is not supported",
                                                         origin.c_str()));
    if (c.attention_k_eq_v)
        return make_error(ErrorCode::unsupported, format("%s: attention_k_eq_v checkpoints are not "
                                                         "supported yet",
                                                         origin.c_str()));
    RopeParams sliding_default{"default", 10000.0f, 1.0f, 1.0f};
    RopeParams full_default{"proportional", 1000000.0f, 0.25f, 1.0f};
    auto rp = t.find("rope_parameters");
    json rope = (rp != t.end() && rp->is_object()) ? *rp : json::object();
    c.rope_sliding = parse_rope(rope.value("sliding_attention", json()), sliding_default, r);
    c.rope_full = parse_rope(rope.value("full_attention", json()), full_default, r);
    if (!r.error().empty()) return bad_config(r.error());
    if (c.n_layers <= 0 || c.n_layers > 4096)
        return bad_config(origin + ": num_hidden_layers out of range");
    GEMMA_TRY(resolve_layer_types(t, c, origin));
    GEMMA_TRY(resolve_geometry(t, c, origin));
    GEMMA_TRY(validate_text(c, origin));
    GEMMA_TRY(resolve_donors(c, origin));
    return c;
}

}  // namespace

int TextConfig::max_head_dim() const {
    int m = head_dim;
    for (const LayerConfig & l : layers) m = std::max(m, l.head_dim);
    return m;
}

Result<Config> parse_config(const std::string & json_text, const std::string & origin) {
    json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        return bad_config(format("%s is not a valid JSON object", origin.c_str()));
    Config cfg;
    cfg.raw_json = json_text;
    auto arch = j.find("architectures");
    if (arch != j.end() && arch->is_array() && !arch->empty() && (*arch)[0].is_string())
        cfg.architecture = (*arch)[0].get<std::string>();
    bool nested = j.contains("text_config") && j["text_config"].is_object();
    if (cfg.architecture.empty())
        cfg.architecture = nested ? "Gemma4ForConditionalGeneration" : "Gemma4ForCausalLM";
    if (cfg.architecture != "Gemma4ForConditionalGeneration" &&
        cfg.architecture != "Gemma4ForCausalLM")
        return make_error(ErrorCode::unsupported,
                          format("%s: architecture '%s' is not a Gemma 4 model (expected "
                                 "Gemma4ForConditionalGeneration or Gemma4ForCausalLM)",
                                 origin.c_str(), cfg.architecture.c_str()));
    cfg.weight_prefix = nested ? "model.language_model." : "model.";
    auto text = parse_text(nested ? j["text_config"] : j, origin + (nested ? " text_config" : ""));
    if (!text.ok()) return text.error();
    cfg.text = std::move(*text);
    Reader r(j, origin);
    cfg.has_vision = j.contains("vision_config") && j["vision_config"].is_object();
    cfg.has_audio = j.contains("audio_config") && j["audio_config"].is_object();
    cfg.image_token_id = r.i("image_token_id", -1);
    cfg.audio_token_id = r.i("audio_token_id", -1);
    cfg.video_token_id = r.i("video_token_id", -1);
    cfg.boi_token_id = r.i("boi_token_id", -1);
    cfg.eoi_token_id = r.i("eoi_token_id", -1);
    cfg.boa_token_id = r.i("boa_token_id", -1);
    cfg.eoa_token_id = r.i("eoa_token_id", r.i("eoa_token_index", -1));
    cfg.eos_token_ids = nested ? r.ints("eos_token_id") : cfg.text.eos_token_ids;
    if (cfg.eos_token_ids.empty()) cfg.eos_token_ids = cfg.text.eos_token_ids;
    if (!r.error().empty()) return bad_config(r.error());
    return cfg;
}

Result<Config> load_config(const std::string & path) {
    std::string file = path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        file = (std::filesystem::path(path) / "config.json").string();
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return make_error(ErrorCode::not_found,
                          format("cannot read '%s'; --model must be a checkpoint "
                                 "directory with config.json",
                                 file.c_str()));
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), file);
}

}  // namespace gemma::gemma4
