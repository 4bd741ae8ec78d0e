// Gemma 4 audio tower configuration (config.json "audio_config"), read from Config::raw_json.
// Defaults are the E4B values of spec gemma4-multimodal §5, used when a key is absent.
#pragma once

#include "core/status.h"
#include "model/gemma4/config.h"

namespace gemma::gemma4 {

struct AudioConfig {
    int hidden_size = 1024;
    int n_layers = 12;
    int n_heads = 8;
    int conv_kernel_size = 5;
    int sscp_channels[2] = {128, 32};  // subsampling_conv_channels
    int n_mel = 128;                   // input feature width (feature extractor)
    float residual_weight = 0.5f;
    int attention_chunk_size = 12;
    int attention_context_left = 13;
    int attention_context_right = 0;
    float attention_logit_cap = 50.0f;
    float attention_invalid_logits_value = -1e9f;
    float gradient_clipping = 1e10f;
    int output_proj_dims = 1536;
    float rms_norm_eps = 1e-6f;
    bool use_clipped_linears = true;
    int text_hidden_size = 0;  // embed_audio output width (text_config.hidden_size)

    int head_dim() const { return hidden_size / n_heads; }
    // Keys a query sees: distances 0 .. n_keys_visible() − 1, i.e. itself and context_left − 2
    // past frames (HF sliding_window_mask_function((context_left − 1, 0)); spec §5.4: 12 for E4B).
    int n_keys_visible() const { return attention_context_left - 1; }
};

// Errors: not_found when the config has no audio_config; invalid_argument naming a bad key or an
// unsupported setting (hidden not divisible by heads, chunk != context_left − 1 (the relative
// table then lines up with distances), right context != 0, activation != silu).
Result<AudioConfig> parse_audio_config(const Config & config);

}  // namespace gemma::gemma4
