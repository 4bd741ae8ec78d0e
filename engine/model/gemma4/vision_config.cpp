// Parses config.json "vision_config" into VisionConfig.
#include "model/gemma4/vision_config.h"

#include <nlohmann/json.hpp>
#include "io/json_read.h"

namespace gemma::gemma4 {
namespace {

using json = nlohmann::json;

}  // namespace

Result<VisionConfig> parse_vision_config(const Config & config) {
    json j = json::parse(config.raw_json, nullptr, false);
    if (j.is_discarded() || !j.contains("vision_config") || !j["vision_config"].is_object()) {
        return make_error(ErrorCode::not_found,
                          "config.json has no vision_config: this checkpoint cannot take images");
    }
    const json & v = j["vision_config"];
    VisionConfig c;
    std::string err;
    io::json_read_key(v, "hidden_size", c.hidden_size, err, "vision_config.");
    io::json_read_key(v, "num_hidden_layers", c.n_layers, err, "vision_config.");
    io::json_read_key(v, "num_attention_heads", c.n_heads, err, "vision_config.");
    io::json_read_key(v, "num_key_value_heads", c.n_kv_heads, err, "vision_config.");
    io::json_read_key(v, "head_dim", c.head_dim, err, "vision_config.");
    io::json_read_key(v, "intermediate_size", c.intermediate_size, err, "vision_config.");
    io::json_read_key(v, "patch_size", c.patch_size, err, "vision_config.");
    io::json_read_key(v, "pooling_kernel_size", c.pooling_kernel_size, err, "vision_config.");
    io::json_read_key(v, "position_embedding_size", c.position_embedding_size, err, "vision_config.");
    io::json_read_key(v, "rms_norm_eps", c.rms_norm_eps, err, "vision_config.");
    io::json_read_key(v, "use_clipped_linears", c.use_clipped_linears, err, "vision_config.");
    io::json_read_key(v, "standardize", c.standardize, err, "vision_config.");
    if (v.contains("rope_parameters") && v["rope_parameters"].is_object()) {
        const json & r = v["rope_parameters"];
        if (r.contains("rope_theta") && r["rope_theta"].is_number())
            c.rope_theta = r["rope_theta"].get<float>();
    }
    if (!err.empty()) return make_error(ErrorCode::invalid_argument, err);
    std::string act = v.value("hidden_activation", std::string("gelu_pytorch_tanh"));
    c.text_hidden_size = config.text.hidden_size;
    if (c.n_heads <= 0 || c.head_dim <= 0 || c.head_dim % 4 != 0 ||
        c.n_heads * c.head_dim != c.hidden_size || c.n_kv_heads != c.n_heads ||
        c.patch_size != 16 || c.pooling_kernel_size != 3 || c.n_layers <= 0 ||
        c.intermediate_size <= 0 || c.position_embedding_size <= 0 || act != "gelu_pytorch_tanh" ||
        c.text_hidden_size <= 0) {
        return make_error(
            ErrorCode::invalid_argument,
            format("unsupported vision_config: hidden %d, %d heads (kv %d) x head_dim "
                   "%d, patch %d, pooling %d, activation %s; expected heads x head_dim "
                   "= hidden, head_dim divisible by 4, patch 16, pooling 3, "
                   "gelu_pytorch_tanh",
                   c.hidden_size, c.n_heads, c.n_kv_heads, c.head_dim, c.patch_size,
                   c.pooling_kernel_size, act.c_str()));
    }
    return c;
}

}  // namespace gemma::gemma4
