// Gemma 4 audio tower (model.audio_tower, a USM-style Conformer) and its embedder
// (model.embed_audio), plain fp32 CPU reference code: subsampling convs, macaron FFNs, chunked
// local self-attention with relative positions and a logit cap, light conv, clipped linears,
// output projection. Mirrors transformers 5.17 Gemma4AudioModel; spec gemma4-multimodal §5.
// Thread-safe after load (forward passes only read the weights).
#pragma once

#include <functional>
#include <vector>

#include "core/tensor.h"
#include "io/tensor_source.h"
#include "media/audio.h"
#include "media/audio_features.h"
#include "model/gemma4/audio_config.h"
#include "model/gemma4/embedder.h"

namespace gemma::gemma4 {

// Half-step feed-forward: x + w · post(ffw_layer_2(silu(ffw_layer_1(pre(x))))).
struct AudioFfn {
    std::vector<float> pre_norm, post_norm;  // [A]
    mm::Linear up, down;                     // ffw_layer_1 [4A, A], ffw_layer_2 [A, 4A]
};

// Which keys the chunked attention lets a query see.
enum class AudioMaskMode {
    // The model as trained: itself and the previous n_keys_visible() − 1 frames (spec §5.4).
    sliding,
    // transformers' eager-attention path: its float additive mask (0 = keep, −huge = drop) goes
    // through `attention_mask.logical_not()` in Gemma4AudioAttention, which expects a boolean
    // mask, so inside each block's context window exactly the complement is kept (and a row with
    // nothing kept averages all context values). The tiny-gemma4 fixtures were made this way;
    // use it only to reproduce them.
    hf_eager,
};

struct AudioEncoderOptions {
    AudioMaskMode mask_mode = AudioMaskMode::sliding;
    bool reference = false;  // plain fp32 loops for the linears (the fast path is tested on them)
};

struct AudioLayer {
    AudioFfn ff1, ff2;
    std::vector<float> norm_pre_attn, norm_post_attn, norm_out;  // [A]
    mm::Linear q, k, v, post;                                    // clipped
    mm::Linear relative_k;                                       // relative_k_proj: not clipped
    std::vector<float> per_dim_scale;  // [head_dim], raw (softplus applied at use)
    std::vector<float> lconv_pre_norm, lconv_conv_norm;  // [A]
    mm::Linear lconv_start, lconv_end;                   // [2A, A], [A, A]
    std::vector<float> dw_conv;                          // depthwise_conv1d [A, 1, K]
};

class AudioEncoder {
public:
    // Binds every model.audio_tower.* and model.embed_audio.* tensor, checking shapes against the
    // config's audio_config (weights are upcast to fp32 copies). Errors: not_found (no
    // audio_config, missing tensor), corrupt_file (shape mismatch), invalid_argument (config).
    static Result<AudioEncoder> load(const Config & config, const io::TensorSource & weights,
                                     const AudioEncoderOptions & options = {});

    const AudioConfig & config() const { return cfg_; }
    const AudioEncoderOptions & options() const { return opt_; }

    // Tower output after output_proj for the valid frames: [N_aud, output_proj_dims] with
    // N_aud = ceil(ceil(T/2)/2), T = valid frames. Invalid frames must form a suffix (as the
    // feature extractor produces). Errors: invalid_argument (wrong feature width, holes in the
    // mask, more than 30 s of frames).
    Result<Tensor> encode_hidden(const media::AudioFeatures & features) const;
    // embed_audio of encode_hidden's output: [N_aud, text_hidden].
    Tensor embed(const Tensor & hidden) const;
    // encode_hidden then embed (golden audio.soft_tokens): the rows replacing N_aud placeholders.
    Result<Tensor> encode(const media::AudioFeatures & features) const;

private:
    AudioConfig cfg_;
    AudioEncoderOptions opt_;
    std::vector<float> conv0_, norm0_, conv1_, norm1_;  // SSCP convs [C, Cin, 3, 3], LayerNorm [C]
    mm::Linear input_proj_;                             // [A, F2·C1], not clipped
    std::vector<AudioLayer> layers_;
    mm::Linear output_proj_;  // [out_dims, A] with bias
    MultimodalEmbedder embed_;

    std::vector<float> subsample(const std::vector<float> & feats, int t) const;  // -> [T', A]
    std::vector<float> layer_forward(const AudioLayer & l, std::vector<float> x) const;
    std::vector<float> ffn(const AudioFfn & f, std::vector<float> x) const;
    std::vector<float> attention(const AudioLayer & l, const std::vector<float> & x) const;
    std::vector<float> light_conv(const AudioLayer & l, std::vector<float> x) const;
    friend Result<AudioLayer> load_audio_layer(const mm::WeightReader &, const AudioConfig &, int);
};

// Binds layer i's tensors (model.audio_tower.layers.{i}.*).
Result<AudioLayer> load_audio_layer(const mm::WeightReader & r, const AudioConfig & c, int i);

// Soft tokens for any length of 16 kHz mono audio: clips over 30 s are split at the quietest
// point near each 30 s mark (media::audio_split) and encoded separately, one tensor per chunk,
// each [N_aud, text_hidden] for its own BOA … EOA span. Errors as encode().
Result<std::vector<Tensor>> encode_audio_clips(const AudioEncoder & encoder,
                                               const media::Audio & audio16k);
// The same with any encoder of log-mel features (e.g. AudioBackendEncoder::encode).
using AudioFeatureEncoder = std::function<Result<Tensor>(const media::AudioFeatures &)>;
Result<std::vector<Tensor>> encode_audio_clips(const AudioFeatureEncoder & encode,
                                               const media::Audio & audio16k);

// The checks every audio tower path makes on its input: the number of valid frames T (a prefix:
// the feature extractor pads only at the end). Errors: invalid_argument naming a wrong feature
// width, a hole in the mask, or more than 30 s (3000 frames).
Result<int> audio_valid_frames(const AudioConfig & config, const media::AudioFeatures & features);

// The attention's sinusoidal relative position table PE[p] = [sin(p·τ_i), cos(p·τ_i)], τ_i =
// exp(−i·ln(1e4)/(A/2 − 1)) (fp32 timescales as HF), rows p = 0 .. n − 1 (distance), width a.
std::vector<float> audio_relative_pe(int n, int a);

}  // namespace gemma::gemma4
