// Private to the text decoder: the scratch tensors one forward call works in, allocated once on
// the backend for options().max_batch tokens and viewed per call (no allocation per step).
#pragma once

#include <vector>

#include "model/gemma4/text.h"

namespace gemma::gemma4 {

struct TextModel::Scratch {
    Tensor ids, pos, blocks;              // i32 [N]
    Tensor slots_full, slots_sliding;     // i32 [N]: pool rows kv_store writes (forward_batch)
    Tensor row_seq;                       // i32 [N]: each row's page-table row (its ring)
    Tensor h, x, a, hf;                   // f32 [N, H]: residual, normed input, block output, final
    Tensor q, att, k, v;                  // f32 flat: [N * heads * max head_dim]
    Tensor gate, up;                      // f32 flat: [N * max intermediate]
    Tensor ple_c, ple_t, ple_all, ple_g;  // f32 flat: PLE context/token parts, [L, N, P], gate
    Tensor logits;                        // f32 [max_logit_rows, V]
    std::vector<Tensor> freqs;            // per layer: f32 [head_dim / 2]
    float embed_scale = 1.0f;             // sqrt(H), rounded to compute_dtype (spec §4)
    float ple_scale = 1.0f;               // sqrt(P), same rule (spec §5.2)
};

// What one step runs on: one sequence on a KvCache (forward) or chunks of several sequences on a
// KvPool (forward_batch). Rows [row0, row0 + n) of the step belong to seqs[i].
struct TextModel::StepPlan {
    struct Seq {
        int row0 = 0, n = 0, pos0 = 0;
        const KvSeq * seq = nullptr;  // pool only
        bool overlay = false;         // bidirectional vision blocks in sliding layers
    };
    std::vector<Seq> seqs;
    KvCache * cache = nullptr;
    KvPool * pool = nullptr;
    bool paged = false;                    // pool step on a backend with Op::attention_paged
    bool any_overlay = false;              // some chunk has bidirectional vision blocks
    std::vector<EmbedOverride> overrides;  // rows relative to the step
};

}  // namespace gemma::gemma4
