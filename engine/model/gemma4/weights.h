// Gemma 4 text decoder weights: every tensor bound by its Hugging Face name, its shape checked
// against the config before use, then upload()ed to the backend once (CPU: zero-copy views of the
// mapped checkpoint). Optionally quantizes the matrices to q8_0 / q4_0 while loading
// (core/quant.h). Also builds synthetic random weights of the same shapes (no file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"
#include "io/tensor_source.h"
#include "model/gemma4/config.h"

namespace gemma::gemma4 {

// How the text decoder's matrices are kept after loading. Quantized modes cover the linear
// weights (q/k/v/o, gate/up/down, per-layer input gate/projection, per_layer_model_projection),
// the tied embedding / LM head and the PLE table; norms and layer scalars stay as stored.
// q4_0 keeps the embedding / LM head in q8_0: every logit goes through it (measured on the
// fixture, tests/model/text_quant_test.cpp; llama.cpp recipes likewise keep the output ≥ 6 bits).
// A matrix whose rows are not a multiple of 32 values stays as stored (only tiny test models
// have such rows; E4B has none).
enum class WeightType : uint8_t { stored = 0, q8_0 = 1, q4_0 = 2 };

const char * weight_type_name(WeightType t);  // "bf16" (as stored), "q8_0", "q4_0"
// Parses "bf16" / "stored" / "q8_0" / "q4_0"; invalid_argument listing the choices otherwise.
Result<WeightType> parse_weight_type(const std::string & s);

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

// Binds and uploads every tensor, quantizing the matrices first for q8_0 / q4_0 (on all cores;
// the quantized copy lives in host memory on CPU backends, the bf16 file stays mapped but is no
// longer read). Errors: not_found (missing tensor: name + file), corrupt_file (shape mismatch:
// name, expected, actual), unsupported (dtype the backend lacks).
// With ple_on_host, a device backend does not copy the per-layer embedding table
// (embed_tokens_per_layer, 262144 × 10752 for E4B: 1.5 GiB in q4_0, 5.4 GiB in bf16): it stays in
// host memory and get_rows gathers the step's rows from it.
Result<TextWeights> load_text_weights(const io::TensorSource & src, const Config & cfg,
                                      Backend & backend, WeightType weights = WeightType::stored,
                                      bool ple_on_host = false);

// The dtype a tensor gets under `weights` (its stored dtype, or q8_0 / q4_0), by name and shape.
DType weight_dtype_for(const WeightSpec & spec, const TextConfig & cfg, DType stored,
                       WeightType weights);

// Bytes of every distinct weight tensor (the tied LM head counted once).
size_t text_weight_bytes(const TextWeights & w);

// Random weights of the right shapes in `dtype` (bf16 default), deterministic in `seed`: norm
// weights 1 ± 0.2, matrices uniform with scale 1/sqrt(fan_in), layer scalars in [0.6, 1.4] (as
// the fixtures were made). Memory: the whole model in host memory, then uploaded. With q8_0 /
// q4_0 `weights`, the matrices are generated row by row straight into quantized blocks on all
// cores (no full-precision copy; other random values than the bf16 model's).
Result<TextWeights> make_synthetic_text_weights(const Config & cfg, Backend & backend,
                                                uint64_t seed, DType dtype = DType::bf16,
                                                WeightType weights = WeightType::stored,
                                                bool ple_on_host = false);

}  // namespace gemma::gemma4
