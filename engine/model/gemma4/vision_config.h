// Gemma 4 vision tower configuration (config.json "vision_config"), read from Config::raw_json.
// Defaults are the E4B values of spec gemma4-multimodal §8, used when a key is absent.
#pragma once

#include "core/status.h"
#include "model/gemma4/config.h"

namespace gemma::gemma4 {

struct VisionConfig {
    int hidden_size = 768;
    int n_layers = 16;
    int n_heads = 12;
    int n_kv_heads = 12;
    int head_dim = 64;
    int intermediate_size = 3072;
    int patch_size = 16;
    int pooling_kernel_size = 3;
    int position_embedding_size = 10240;  // rows of each axis of the 2-D position table
    float rms_norm_eps = 1e-6f;
    float rope_theta = 100.0f;
    bool use_clipped_linears = false;
    bool standardize = false;
    int text_hidden_size = 0;  // embed_vision output width (text_config.hidden_size)
};

// Errors: not_found when the config has no vision_config; invalid_argument naming a bad key or
// an unsupported geometry (head_dim not a multiple of 4, heads·head_dim != hidden, patch != 16,
// pooling != 3, an activation other than gelu_pytorch_tanh).
Result<VisionConfig> parse_vision_config(const Config & config);

}  // namespace gemma::gemma4
