// Gemma 4 vision tower and embed_vision written once against core/backend.h ops, so the tower
// runs on any backend (cpu-ref, cpu, cuda): the second forward path of the same model as
// vision.h's fp32 OpenBLAS one (spec gemma4-multimodal §3), with the same input checks.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/backend.h"
#include "io/tensor_source.h"
#include "media/image_processor.h"
#include "model/gemma4/vision.h"

namespace gemma::gemma4 {

// A (clipped) linear on the backend: y = clamp(clamp(x, in) · wᵀ, out); a bound pair is applied
// only when one of its ends is finite (spec §3.6).
struct VisionBackendLinear {
    Tensor w;  // [out, in] as stored (f32/f16/bf16), or f32 when the backend takes no other
    float in_min = 0, in_max = 0, out_min = 0, out_max = 0;
    bool clip_in = false, clip_out = false;
};

struct VisionBackendLayer {
    Tensor input_norm, post_attn_norm, pre_ff_norm, post_ff_norm;  // [D], used as stored
    Tensor q_norm, k_norm;                                         // [head_dim]; v_norm: none
    VisionBackendLinear q, k, v, o, gate, up, down;
};

// Thread-safe: encode calls are serialized by an internal mutex. The backend is driven only
// from inside those calls, but it must not be driven by any other thread meanwhile: give the
// encoder its own backend instance (load() with a unique_ptr) when another thread uses one.
class VisionBackendEncoder {
public:
    // Uploads every model.vision_tower.* and model.embed_vision.* weight to `backend` once (as
    // stored when the backend takes that dtype, else as f32). `backend` must outlive the
    // encoder. Errors: as VisionEncoder::load (not_found, corrupt_file, invalid_argument,
    // unsupported for quantized tower weights), corrupt_file for clip bounds with min > max,
    // and the backend's upload errors (out_of_memory, device_error).
    static Result<std::unique_ptr<VisionBackendEncoder>> load(const Config & config,
                                                              const io::TensorSource & weights,
                                                              Backend & backend);
    // Same, owning its backend (e.g. a media worker's own instance).
    static Result<std::unique_ptr<VisionBackendEncoder>> load(const Config & config,
                                                              const io::TensorSource & weights,
                                                              std::unique_ptr<Backend> backend);

    const VisionConfig & config() const { return cfg_; }
    Backend & backend() const { return *backend_; }

    // As VisionEncoder::encode_hidden: [N_img, D] host f32 (golden image.vision_last_hidden).
    Result<Tensor> encode_hidden(const media::ImagePatches & patches) const;
    // As VisionEncoder::encode: the soft tokens [N_img, text_hidden], host f32.
    Result<Tensor> encode(const media::ImagePatches & patches) const;
    // The soft tokens as a new f32 tensor on the backend (no read-back), for a caller that runs
    // the text model on this same backend from the same thread.
    Result<Tensor> encode_on_backend(const media::ImagePatches & patches) const;

private:
    // Activations for up to `cap` patches, allocated on first use and grown when needed; the
    // i32 inputs attn_pos (0, 1, ...) and blocks (all 0) are filled once per allocation.
    struct Scratch {
        int64_t cap = 0;
        Tensor x, t, q, k, v, att, a, c, g, u;             // f32, flat
        Tensor ids, rope_pos, attn_pos, blocks, pool_ids;  // i32
    };

    VisionBackendEncoder() = default;
    static Result<std::unique_ptr<VisionBackendEncoder>> load_into(
        std::unique_ptr<VisionBackendEncoder> e, const Config & config,
        const io::TensorSource & weights);

    Status reserve(int64_t n) const;
    Status embed_patches(const ValidPatches & vp) const;
    Status layer(const VisionBackendLayer & l, int64_t n) const;
    Status attention(const VisionBackendLayer & l, int64_t n) const;
    Status linear(const VisionBackendLinear & l, const Tensor & x, const Tensor & y) const;
    Status pool(const ValidPatches & vp, const Tensor & hidden) const;
    // The tower up to the pooled, scaled hidden state: a view [N_img, D] of the scratch.
    Result<Tensor> run_tower(const media::ImagePatches & patches) const;

    VisionConfig cfg_;
    std::unique_ptr<Backend> owned_;
    Backend * backend_ = nullptr;
    Tensor patch_proj_;  // [D, 768], not clipped
    Tensor pos_table_;   // [2·P, D]: rows [0, P) index x, [P, 2P) index y
    Tensor rope_freqs_;  // [head_dim/4] f32: theta^(−2i/(head_dim/2))
    std::vector<VisionBackendLayer> layers_;
    Tensor std_neg_bias_, std_scale_;  // [D] f32 when standardize
    Tensor embed_proj_;                // [text_hidden, D]

    mutable std::mutex mu_;
    mutable Scratch s_;
};

// Which forward path encodes images for a text model on `text_backend`: "host" (kHostVisionPath,
// the fp32 CPU path of vision.h) or a registry name (the backend path on a backend of that name).
// `requested` "" or "auto" picks the text backend's name when it is a device backend (cuda*, its
// tensors live in device memory) and "host" otherwise (the CPU path is faster on the CPU); any
// other value is returned as is.
inline constexpr const char * kHostVisionPath = "host";
std::string vision_path_resolve(const std::string & requested, const BackendInfo & text_backend);

}  // namespace gemma::gemma4
