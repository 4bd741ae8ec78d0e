// Named configs for synthetic models (benchmarks, tests without files): E4B as published
// (spec gemma4-text §1.1, Google's global_head_dim form) and the tiny fixture's text geometry.
#include "model/gemma4/config.h"

namespace gemma::gemma4 {
namespace {

// google/gemma-4-E4B-it text_config (spec §1.1); layer_types left to the default rule, which
// yields (5 sliding + 1 full) x 7 as in the release.
constexpr const char * kE4bJson = R"({
  "architectures": ["Gemma4ForConditionalGeneration"],
  "eos_token_id": [1, 106],
  "image_token_id": 258880, "audio_token_id": 258881, "video_token_id": 258884,
  "boi_token_id": 255999, "eoi_token_id": 258882, "boa_token_id": 256000, "eoa_token_id": 258883,
  "text_config": {
    "vocab_size": 262144, "hidden_size": 2560, "intermediate_size": 10240,
    "num_hidden_layers": 42, "num_attention_heads": 8, "num_key_value_heads": 2,
    "head_dim": 256, "global_head_dim": 512, "num_global_key_value_heads": null,
    "attention_k_eq_v": false, "hidden_activation": "gelu_pytorch_tanh",
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-6,
    "pad_token_id": 0, "eos_token_id": 1, "bos_token_id": 2, "tie_word_embeddings": true,
    "rope_parameters": {
      "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
      "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25,
                         "rope_theta": 1000000.0}
    },
    "sliding_window": 512, "final_logit_softcapping": 30.0,
    "use_bidirectional_attention": null,
    "vocab_size_per_layer_input": 262144, "hidden_size_per_layer_input": 256,
    "num_kv_shared_layers": 18, "enable_moe_block": false, "use_double_wide_mlp": false
  }
})";

// The text part of tests/data/tiny-gemma4 (fixtures README), in the per_layer_config form.
constexpr const char * kTinyJson = R"({
  "architectures": ["Gemma4ForConditionalGeneration"],
  "text_config": {
    "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "layer_types": ["sliding_attention", "sliding_attention", "full_attention",
                    "sliding_attention", "sliding_attention", "full_attention"],
    "per_layer_config": {"2": {"head_dim": 32}, "5": {"head_dim": 32}},
    "sliding_window": 8, "final_logit_softcapping": 30.0, "rms_norm_eps": 1e-6,
    "vocab_size_per_layer_input": 512, "hidden_size_per_layer_input": 8,
    "num_kv_shared_layers": 2, "eos_token_id": 1
  }
})";

}  // namespace

Result<Config> preset_config(const std::string & name) {
    if (name == "e4b") return parse_config(kE4bJson, "preset e4b");
    if (name == "tiny") return parse_config(kTinyJson, "preset tiny");
    return make_error(ErrorCode::not_found,
                      format("unknown model preset '%s' (known: e4b, tiny)", name.c_str()));
}

}  // namespace gemma::gemma4
