// The Gemma 4 audio tower and embed_audio written against core/backend.h ops, so the encoder of
// audio.h (fp32 CPU code, the path the goldens were matched on first) also runs on cpu-ref, cpu
// and cuda: the same math op by op (subsampling convs as im2col + matmul + layer_norm + relu,
// conformer layers, chunk_attention, output projection, embedder). Spec gemma4-multimodal §5.
#pragma once

#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "core/backend.h"
#include "model/gemma4/audio.h"

namespace gemma::gemma4 {

// y = clamp(clamp(x, in_min, in_max) · Wᵀ + bias, out_min, out_max) on a backend; the bounds are
// ±inf (no clamp op is run) unless the layer is a clipped linear.
struct BackendLinear {
    Tensor w;     // [out, in] as stored (f32/f16/bf16)
    Tensor bias;  // [out] or empty
    float in_min = -std::numeric_limits<float>::infinity();
    float in_max = std::numeric_limits<float>::infinity();
    float out_min = -std::numeric_limits<float>::infinity();
    float out_max = std::numeric_limits<float>::infinity();
};

struct AudioBackendFfn {
    Tensor pre_norm, post_norm;  // [A]
    BackendLinear up, down;      // [4A, A], [A, 4A]
};

// One conformer layer's weights on the backend (names as AudioLayer in audio.h).
struct AudioBackendLayer {
    AudioBackendFfn ff1, ff2;
    Tensor norm_pre_attn, norm_post_attn, norm_out;  // [A]
    BackendLinear q, k, v, post;
    Tensor q_scale;  // [head_dim] f32: d^−½ / ln 2 · softplus(per_dim_scale), made at load
    Tensor rel;      // [P + 1, A] f32: relative_k_proj(PE) for distances 0..P, made at load
    Tensor lconv_pre_norm, lconv_conv_norm;  // [A]
    BackendLinear lconv_start, lconv_end;    // [2A, A], [A, A]
    Tensor dw_conv;                          // [A, K] (the [A, 1, K] weight)
};

// Thread-safe: encodes are serialized on the backend (one thread drives a Backend at a time).
// The backend must outlive the encoder and be used by no other thread while it encodes; give it
// a backend instance of its own (the CUDA backend is not safe to share between threads).
class AudioBackendEncoder {
public:
    // Uploads every model.audio_tower.* and model.embed_audio.* tensor (as stored) to `backend`,
    // checking shapes against the config's audio_config. options.reference is not used (the
    // backend decides how its ops run). Errors: as AudioEncoder::load, plus the backend's
    // (out_of_memory, device_error).
    static Result<std::unique_ptr<AudioBackendEncoder>> load(
        const Config & config, const io::TensorSource & weights, Backend & backend,
        const AudioEncoderOptions & options = {});

    const AudioConfig & config() const { return cfg_; }
    const AudioEncoderOptions & options() const { return opt_; }
    Backend & backend() const { return backend_; }

    // As AudioEncoder::encode_hidden / encode: host f32 tensors [N_aud, output_proj_dims] and
    // [N_aud, text_hidden]. Errors: those of audio_valid_frames, and the backend's.
    Result<Tensor> encode_hidden(const media::AudioFeatures & features) const;
    Result<Tensor> encode(const media::AudioFeatures & features) const;

private:
    // One encode's activations on the backend, n = T' rows each: x the residual stream, t a
    // normed copy, u a sub-block's output, q/k/v/o attention, c clamped inputs and the GLU,
    // z the light conv, wide [n, 4A] the FFN hidden and the light conv's [n, 2A] gate input.
    struct Scratch {
        Tensor x, t, u, q, k, v, o, c, z, wide;
    };

    explicit AudioBackendEncoder(Backend & backend) : backend_(backend) {}
    // Runs the tower on the valid frames: the output_proj result on the backend, [n, out_dims].
    Result<Tensor> tower(const media::AudioFeatures & features, int frames) const;
    Result<Tensor> subsample(const Tensor & feats, int frames) const;  // -> [T', A]
    Status layer_forward(const AudioBackendLayer & l, Scratch & s) const;
    Status ffn(const AudioBackendFfn & f, Scratch & s) const;
    Status attention(const AudioBackendLayer & l, Scratch & s) const;
    Status light_conv(const AudioBackendLayer & l, Scratch & s) const;
    // y = l(x) with x's input clamp written to tmp (tmp may be x when x is not needed after).
    Status linear(const BackendLinear & l, const Tensor & x, const Tensor & y,
                  const Tensor & tmp) const;

    Backend & backend_;
    AudioConfig cfg_;
    AudioEncoderOptions opt_;
    Tensor conv0_, norm0_, conv1_, norm1_;  // SSCP: [C0, 9], [C0], [C1, C0·9], [C1]
    BackendLinear input_proj_;              // [A, F2·C1]
    std::vector<AudioBackendLayer> layers_;
    BackendLinear output_proj_;  // [out_dims, A] with bias
    Tensor embed_proj_;          // embed_audio.embedding_projection [text_hidden, out_dims]
    mutable std::mutex mu_;      // one encode at a time on backend_
};

// Soft tokens for any length of 16 kHz mono audio on the backend path (as the AudioEncoder
// overload in audio.h: split into ≤ 30 s clips, one tensor per clip).
Result<std::vector<Tensor>> encode_audio_clips(const AudioBackendEncoder & encoder,
                                               const media::Audio & audio16k);

}  // namespace gemma::gemma4
