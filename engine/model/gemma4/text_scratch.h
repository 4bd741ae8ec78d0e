// Private to the text decoder: the scratch tensors one forward call works in, allocated once on
// the backend for options().max_batch tokens and viewed per call (no allocation per step).
#pragma once

#include <vector>

#include "model/gemma4/text.h"

namespace gemma::gemma4 {

struct TextModel::Scratch {
    Tensor ids, pos, blocks;              // i32 [N]
    Tensor h, x, a, hf;                   // f32 [N, H]: residual, normed input, block output, final
    Tensor q, att, k, v;                  // f32 flat: [N * heads * max head_dim]
    Tensor gate, up;                      // f32 flat: [N * max intermediate]
    Tensor ple_c, ple_t, ple_all, ple_g;  // f32 flat: PLE context/token parts, [L, N, P], gate
    Tensor logits;                        // f32 [max_logit_rows, V]
    std::vector<Tensor> freqs;            // per layer: f32 [head_dim / 2]
    float embed_scale = 1.0f;             // sqrt(H), rounded to compute_dtype (spec §4)
    float ple_scale = 1.0f;               // sqrt(P), same rule (spec §5.2)
};

}  // namespace gemma::gemma4
