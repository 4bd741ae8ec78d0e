// KV cache of one sequence for the Gemma 4 text decoder. Only owner layers store K/V (shared
// layers read their donor's, spec §6.6). Sliding layers use a ring buffer of
// window + max_chunk - 1 slots (enough for a chunk of queries to see their whole window);
// full layers keep n_ctx slots. Validity is decided from logical positions by the attention op.
#pragma once

#include <vector>

#include "core/backend.h"
#include "model/gemma4/config.h"

namespace gemma::gemma4 {

struct LayerKv {
    Tensor k, v;  // [slots, n_kv_heads, head_dim] f32; empty for shared layers
};

struct KvCache {
    int n_ctx = 0;      // most positions this cache can hold
    int max_chunk = 0;  // most tokens per forward call
    int n_past = 0;     // positions already stored (next token's position)
    std::vector<LayerKv> layers;

    void clear() { n_past = 0; }
};

// Allocates a cache on `backend`. invalid_argument for non-positive sizes.
Result<KvCache> make_kv_cache(const TextConfig & cfg, Backend & backend, int n_ctx, int max_chunk);

}  // namespace gemma::gemma4
