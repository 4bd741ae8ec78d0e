// Gemma 4 configuration, resolved from a Hugging Face config.json (Gemma4ForConditionalGeneration
// with text_config/vision_config/audio_config, or a text-only Gemma4ForCausalLM), into plain
// per-layer values. Mirrors configuration_gemma4.py (transformers 5.17); see spec gemma4-text §1.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace gemma::gemma4 {

enum class LayerType { sliding, full };

struct RopeParams {
    std::string type = "default";  // "default" | "proportional"
    float theta = 10000.0f;
    float partial_rotary_factor = 1.0f;
    float factor = 1.0f;
};

struct LayerConfig {
    LayerType type = LayerType::sliding;
    int head_dim = 0;
    int n_kv_heads = 0;
    int kv_source = 0;    // layer whose K/V this layer attends over (itself for owners)
    bool owns_kv = true;  // false for KV-shared layers
    int intermediate_size = 0;
};

struct TextConfig {
    int vocab_size = 0;
    int hidden_size = 0;
    int intermediate_size = 0;
    int n_layers = 0;
    int n_heads = 0;
    int n_kv_heads = 0;
    int head_dim = 0;         // sliding layers' head dim (base value)
    int global_head_dim = 0;  // full layers' head dim after resolution
    int sliding_window = 0;   // counts the query itself
    int max_position_embeddings = 0;
    int n_kv_shared_layers = 0;
    int vocab_size_per_layer_input = 0;
    int hidden_size_per_layer_input = 0;  // P; 0 = no PLE
    float rms_norm_eps = 1e-6f;
    float final_logit_softcapping = 0.0f;  // 0 = none
    bool tie_word_embeddings = true;
    bool attention_k_eq_v = false;
    std::string use_bidirectional_attention;  // "", "vision", "all"
    RopeParams rope_sliding;
    RopeParams rope_full;
    int pad_token_id = 0, bos_token_id = 2;
    std::vector<int> eos_token_ids;
    bool use_double_wide_mlp = false;  // shared layers get 2x intermediate_size (E2B)
    std::vector<LayerConfig> layers;   // resolved per layer

    int first_shared_layer() const { return n_layers - n_kv_shared_layers; }
    int max_head_dim() const;
};

struct Config {
    std::string architecture;   // "Gemma4ForConditionalGeneration" | "Gemma4ForCausalLM"
    std::string weight_prefix;  // "model.language_model." or "model."
    TextConfig text;
    bool has_vision = false, has_audio = false;
    int image_token_id = -1, audio_token_id = -1, video_token_id = -1;
    int boi_token_id = -1, eoi_token_id = -1, boa_token_id = -1, eoa_token_id = -1;
    std::vector<int> eos_token_ids;  // top-level (IT checkpoints: [1, 106])
    std::string raw_json;            // the whole config.json, for the vision/audio parsers
};

// Reads and resolves DIR/config.json (or a file path). Errors name the key and the file.
Result<Config> load_config(const std::string & path);
// Same, from JSON text (for tests and in-memory synthetic configs).
Result<Config> parse_config(const std::string & json_text, const std::string & origin);

// Named presets for synthetic (random-weight) models: "e4b" (spec gemma4-text §1.1 values,
// text-only) and "tiny" (the tiny-gemma4 fixture's text geometry). not_found for other names.
Result<Config> preset_config(const std::string & name);

}  // namespace gemma::gemma4
