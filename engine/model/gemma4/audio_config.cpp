// Parses config.json "audio_config" into AudioConfig.
#include "model/gemma4/audio_config.h"

#include <nlohmann/json.hpp>
#include "io/json_read.h"

namespace gemma::gemma4 {
namespace {

using json = nlohmann::json;

}  // namespace

Result<AudioConfig> parse_audio_config(const Config & config) {
    json j = json::parse(config.raw_json, nullptr, false);
    if (j.is_discarded() || !j.contains("audio_config") || !j["audio_config"].is_object()) {
        return make_error(ErrorCode::not_found,
                          "config.json has no audio_config: this checkpoint cannot take audio");
    }
    const json & a = j["audio_config"];
    AudioConfig c;
    std::string err;
    io::json_read_key(a, "hidden_size", c.hidden_size, err, "audio_config.");
    io::json_read_key(a, "num_hidden_layers", c.n_layers, err, "audio_config.");
    io::json_read_key(a, "num_attention_heads", c.n_heads, err, "audio_config.");
    io::json_read_key(a, "conv_kernel_size", c.conv_kernel_size, err, "audio_config.");
    io::json_read_key(a, "residual_weight", c.residual_weight, err, "audio_config.");
    io::json_read_key(a, "attention_chunk_size", c.attention_chunk_size, err, "audio_config.");
    io::json_read_key(a, "attention_context_left", c.attention_context_left, err, "audio_config.");
    io::json_read_key(a, "attention_context_right", c.attention_context_right, err, "audio_config.");
    io::json_read_key(a, "attention_logit_cap", c.attention_logit_cap, err, "audio_config.");
    io::json_read_key(a, "attention_invalid_logits_value", c.attention_invalid_logits_value, err, "audio_config.");
    io::json_read_key(a, "gradient_clipping", c.gradient_clipping, err, "audio_config.");
    io::json_read_key(a, "output_proj_dims", c.output_proj_dims, err, "audio_config.");
    io::json_read_key(a, "rms_norm_eps", c.rms_norm_eps, err, "audio_config.");
    io::json_read_key(a, "use_clipped_linears", c.use_clipped_linears, err, "audio_config.");
    if (auto it = a.find("subsampling_conv_channels"); it != a.end() && !it->is_null()) {
        if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_integer() ||
            !(*it)[1].is_number_integer()) {
            err = "audio_config.subsampling_conv_channels must be a list of two integers";
        } else {
            c.sscp_channels[0] = (*it)[0].get<int>();
            c.sscp_channels[1] = (*it)[1].get<int>();
        }
    }
    if (!err.empty()) return make_error(ErrorCode::invalid_argument, err);
    std::string act = a.value("hidden_act", std::string("silu"));
    c.text_hidden_size = config.text.hidden_size;
    if (c.n_heads <= 0 || c.hidden_size % c.n_heads != 0 || c.n_layers <= 0 ||
        c.conv_kernel_size <= 0 || c.attention_context_right != 0 || c.attention_context_left < 2 ||
        c.attention_chunk_size != c.attention_context_left - 1 || c.sscp_channels[0] <= 0 ||
        c.sscp_channels[1] <= 0 || c.output_proj_dims <= 0 || act != "silu" ||
        c.text_hidden_size <= 0) {
        return make_error(
            ErrorCode::invalid_argument,
            format("unsupported audio_config: hidden %d / %d heads, chunk %d, context "
                   "left %d right %d, conv kernel %d, activation %s; expected hidden "
                   "divisible by heads, chunk = left - 1, right context 0, silu",
                   c.hidden_size, c.n_heads, c.attention_chunk_size, c.attention_context_left,
                   c.attention_context_right, c.conv_kernel_size, act.c_str()));
    }
    return c;
}

}  // namespace gemma::gemma4
