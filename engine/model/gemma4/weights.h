// Gemma 4 text decoder weights: every tensor bound by its Hugging Face name, its shape checked
// against the config before use, then upload()ed to the backend once (CPU: zero-copy views of the
// mapped checkpoint). Also builds synthetic random weights of the same shapes (no file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"
#include "io/tensor_source.h"
#include "model/gemma4/config.h"

namespace gemma::gemma4 {

struct LayerWeights {
    Tensor input_norm, q_proj, q_norm, k_proj, k_norm, v_proj, o_proj, post_attn_norm;
    Tensor pre_ffw_norm, gate_proj, up_proj, down_proj, post_ffw_norm;
    Tensor ple_gate, ple_proj, post_ple_norm;  // empty without PLE
    Tensor layer_scalar;                       // [1]
};

struct TextWeights {
    Tensor embed;           // [V, H]; also the (tied) LM head
    Tensor lm_head;         // = embed unless the checkpoint is untied
    Tensor ple_embed;       // [V, L*P]  (empty without PLE)
    Tensor ple_model_proj;  // [L*P, H]
    Tensor ple_norm;        // [P]
    Tensor final_norm;      // [H]
    std::vector<LayerWeights> layers;
};

// One expected tensor: its full name, shape, and where it goes.
struct WeightSpec {
    std::string name;
    Shape shape;
    Tensor * slot;
};

// The tensors the text decoder needs for `cfg`, with their names under `prefix`. Shared layers
// list no k/v/k_norm (redundant copies in a file are ignored).
std::vector<WeightSpec> text_weight_specs(const TextConfig & cfg, const std::string & prefix,
                                          TextWeights & w);

// Binds and uploads every tensor. Errors: not_found (missing tensor: name + file),
// corrupt_file (shape mismatch: name, expected, actual), unsupported (dtype the backend lacks).
Result<TextWeights> load_text_weights(const io::TensorSource & src, const Config & cfg,
                                      Backend & backend);

// Random weights of the right shapes in `dtype` (bf16 default), deterministic in `seed`: norm
// weights 1 ± 0.2, matrices uniform with scale 1/sqrt(fan_in), layer scalars in [0.6, 1.4] (as
// the fixtures were made). Memory: the whole model in host memory, then uploaded.
Result<TextWeights> make_synthetic_text_weights(const Config & cfg, Backend & backend,
                                                uint64_t seed, DType dtype = DType::bf16);

}  // namespace gemma::gemma4
