// KV cache allocation: ring-buffered sliding layers, full-length full layers, nothing for
// KV-shared layers.
#include "model/gemma4/kv_cache.h"

#include <algorithm>

namespace gemma::gemma4 {

Result<KvCache> make_kv_cache(const TextConfig & cfg, Backend & backend, int n_ctx, int max_chunk) {
    if (n_ctx <= 0 || max_chunk <= 0)
        return make_error(
            ErrorCode::invalid_argument,
            format("KV cache needs positive n_ctx and max_chunk (got %d, %d)", n_ctx, max_chunk));
    KvCache kv;
    kv.n_ctx = n_ctx;
    kv.max_chunk = std::min(max_chunk, n_ctx);
    kv.layers.resize(size_t(cfg.n_layers));
    for (int l = 0; l < cfg.n_layers; ++l) {
        const LayerConfig & lc = cfg.layers[size_t(l)];
        if (!lc.owns_kv) continue;
        int slots = n_ctx;
        if (lc.type == LayerType::sliding)
            slots = std::min(n_ctx, cfg.sliding_window + kv.max_chunk - 1);
        Shape shape{slots, lc.n_kv_heads, lc.head_dim};
        auto k = backend.alloc(DType::f32, shape);
        if (!k.ok()) return k.error();
        auto v = backend.alloc(DType::f32, shape);
        if (!v.ok()) return v.error();
        kv.layers[size_t(l)] = {std::move(*k), std::move(*v)};
    }
    return kv;
}

}  // namespace gemma::gemma4
