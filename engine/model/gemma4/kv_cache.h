// KV cache of one sequence for the Gemma 4 text decoder. Only owner layers store K/V (shared
// layers read their donor's, spec §6.6). Sliding layers use a ring buffer of
// window + max_chunk - 1 slots (enough for a chunk of queries to see their whole window);
// full layers keep n_ctx slots. Validity is decided from logical positions by the attention op.
// Caches hold f32 (default), bf16 or q8_0 values (core/kv_quant.h); q and scores stay f32.
#pragma once

#include <vector>

#include "core/backend.h"
#include "model/gemma4/config.h"

namespace gemma::gemma4 {

struct LayerKv {
    Tensor k, v;  // [slots, n_kv_heads, head_dim] of the cache type; empty for shared layers
};

struct KvCache {
    int n_ctx = 0;      // most positions this cache can hold
    int max_chunk = 0;  // most tokens per forward call
    int n_past = 0;     // positions already stored (next token's position)
    DType type = DType::f32;
    std::vector<LayerKv> layers;

    void clear() { n_past = 0; }
    // Device / host memory of every layer's K and V.
    size_t bytes() const;
};

// Whether `backend` can keep this model's KV caches as `type`: invalid_argument for a type that
// is not a KV cache type or layer rows (n_kv_heads · head_dim) q8_0 cannot split into blocks of
// 32, unsupported when the backend's kv_store / attention do not take it. The message names the
// type and the choices.
Status kv_cache_type_check(const TextConfig & cfg, const Backend & backend, DType type);

// Allocates a cache on `backend`. invalid_argument for non-positive sizes; the type as above.
Result<KvCache> make_kv_cache(const TextConfig & cfg, Backend & backend, int n_ctx, int max_chunk,
                              DType type = DType::f32);

}  // namespace gemma::gemma4
