// Gemma 4 vision tower (model.vision_tower) and its embedder (model.embed_vision), fp32 on the CPU
// (linears and attention on OpenBLAS sgemm, elementwise work threaded; `reference` keeps the plain
// loops it was checked against): patch embedding with a 2-D position table, 2-D axial RoPE,
// bidirectional attention, sandwich norms, clipped linears, 3×3 pooling by position, √D scale.
// Mirrors transformers 5.17 Gemma4VisionModel; spec gemma4-multimodal §3. Thread-safe after load
// (forward passes only read the weights).
#pragma once

#include <vector>

#include "core/tensor.h"
#include "io/tensor_source.h"
#include "media/image_processor.h"
#include "model/gemma4/embedder.h"
#include "model/gemma4/vision_config.h"

namespace gemma::gemma4 {

struct VisionLayer {
    std::vector<float> input_norm, post_attn_norm, pre_ff_norm, post_ff_norm;  // [D]
    std::vector<float> q_norm, k_norm;                                         // [head_dim]
    mm::Linear q, k, v, o, gate, up, down;
};

// The valid (non-padding) rows of a processor output, shared by both forward paths (vision.cpp,
// vision_backend.cpp): pixel rows, (x, y) positions and the patch grid (HF: pw = max(x) + 1).
struct ValidPatches {
    std::vector<float> pixels;  // [n, 768]
    std::vector<int32_t> pos;   // [n, 2]
    int n = 0, grid_x = 0, grid_y = 0;
};
// Errors: invalid_argument when the sizes disagree, the patches do not form a full grid of
// multiples of 3, or a position exceeds the position table (`table_size` rows per axis).
Result<ValidPatches> valid_patches(const media::ImagePatches & p, int table_size);

struct VisionEncoderOptions {
    bool reference = false;  // plain fp32 loops (slow; the fast path is tested against them)
};

class VisionEncoder {
public:
    // Binds every model.vision_tower.* and model.embed_vision.* tensor, checking shapes against
    // the config's vision_config (weights are upcast to fp32 copies). Errors: not_found (no
    // vision_config, missing tensor), corrupt_file (shape mismatch), invalid_argument (config).
    static Result<VisionEncoder> load(const Config & config, const io::TensorSource & weights,
                                      const VisionEncoderOptions & options = {});

    const VisionConfig & config() const { return cfg_; }

    // Tower output after pooling, the √D scale and (when configured) standardisation:
    // [N_img, D] with N_img = patches/9 in pooled row-major order (golden
    // image.vision_last_hidden). Padding rows (position (−1, −1)) are ignored. Errors:
    // invalid_argument when the patches do not form a full grid of multiples of 3, or a position
    // exceeds the position table.
    Result<Tensor> encode_hidden(const media::ImagePatches & patches) const;
    // embed_vision of encode_hidden's output: [N_img, text_hidden] (golden image.soft_tokens).
    Tensor embed(const Tensor & hidden) const;
    // encode_hidden then embed: the rows that replace an image's N_img placeholder tokens.
    Result<Tensor> encode(const media::ImagePatches & patches) const;

private:
    VisionConfig cfg_;
    VisionEncoderOptions opt_;
    mm::Linear patch_proj_;         // input_proj [D, 768], applied to 2·v − 1
    std::vector<float> pos_table_;  // [2, position_embedding_size, D]: table 0 = x, 1 = y
    std::vector<VisionLayer> layers_;
    std::vector<float> std_bias_, std_scale_;  // [D] when standardize
    MultimodalEmbedder embed_;

    std::vector<float> layer_forward(const VisionLayer & l, std::vector<float> x,
                                     const std::vector<int32_t> & pos) const;
    std::vector<float> attention(const VisionLayer & l, const std::vector<float> & xn,
                                 const std::vector<int32_t> & pos) const;
    void rope(std::vector<float> & q, std::vector<float> & k,
              const std::vector<int32_t> & pos) const;
};

// Decode, preprocess at `max_soft_tokens` and encode one image file: its soft tokens.
Result<Tensor> encode_image_file(const VisionEncoder & encoder, const std::string & path,
                                 int max_soft_tokens);

}  // namespace gemma::gemma4
