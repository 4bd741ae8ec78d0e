// KV cache allocation: ring-buffered sliding layers, full-length full layers, nothing for
// KV-shared layers; the cache type check shared with KvPool.
#include "model/gemma4/kv_cache.h"

#include <algorithm>

#include "core/kv_quant.h"

namespace gemma::gemma4 {

size_t KvCache::bytes() const {
    size_t n = 0;
    for (const LayerKv & l : layers)
        if (!l.k.empty()) n += l.k.nbytes() + l.v.nbytes();  // shared layers hold nothing
    return n;
}

Status kv_cache_type_check(const TextConfig & cfg, const Backend & backend, DType type) {
    if (!kv_cache_dtype_ok(type))
        return make_error(ErrorCode::invalid_argument, kv_cache_dtype_check(type, 0, 0));
    for (const LayerConfig & lc : cfg.layers) {
        if (!lc.owns_kv) continue;
        std::string why = kv_cache_dtype_check(type, lc.n_kv_heads, lc.head_dim);
        if (!why.empty()) return make_error(ErrorCode::invalid_argument, why);
    }
    for (Op op : {Op::kv_store, Op::attention})
        if (!backend.supports({op, DType::f32, type}))
            return make_error(ErrorCode::unsupported,
                              format("backend %s cannot keep a %s KV cache (no %s for it); "
                                     "choose an f32 KV cache",
                                     backend.info().name.c_str(), dtype_name(type), op_name(op)));
    return Status::success();
}

Result<KvCache> make_kv_cache(const TextConfig & cfg, Backend & backend, int n_ctx, int max_chunk,
                              DType type) {
    if (n_ctx <= 0 || max_chunk <= 0)
        return make_error(
            ErrorCode::invalid_argument,
            format("KV cache needs positive n_ctx and max_chunk (got %d, %d)", n_ctx, max_chunk));
    GEMMA_TRY(kv_cache_type_check(cfg, backend, type));
    KvCache kv;
    kv.n_ctx = n_ctx;
    kv.max_chunk = std::min(max_chunk, n_ctx);
    kv.type = type;
    kv.layers.resize(size_t(cfg.n_layers));
    for (int l = 0; l < cfg.n_layers; ++l) {
        const LayerConfig & lc = cfg.layers[size_t(l)];
        if (!lc.owns_kv) continue;
        int slots = n_ctx;
        if (lc.type == LayerType::sliding)
            slots = std::min(n_ctx, cfg.sliding_window + kv.max_chunk - 1);
        Shape shape{slots, lc.n_kv_heads, lc.head_dim};
        auto k = backend.alloc(type, shape);
        if (!k.ok()) return k.error();
        auto v = backend.alloc(type, shape);
        if (!v.ok()) return v.error();
        kv.layers[size_t(l)] = {std::move(*k), std::move(*v)};
    }
    return kv;
}

}  // namespace gemma::gemma4
