// kv_store and attention over a (ring-buffer) KV cache: GQA, causal, optional sliding window and
// bidirectional block overlay, f32 scores and softmax (spec gemma4-text §6.2-6.5, §8). Caches may
// be f32, bf16 or q8_0: rows are written through core/kv_quant.h and widened back to f32 before
// the same f32 loops, so a quantized cache differs from f32 only by its stored values. Also the
// paged form (Op::attention_paged), which only maps key positions to pool rows differently.
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/ref/attend_head.h"
#include "backends/cpu/ref/ref_ops.h"
#include "core/kv_quant.h"

namespace gemma::cpu::ref {
namespace {

// Byte address of element `i` (a block start for q8_0) of a cache.
uint8_t * cache_at(const Tensor & cache, int64_t i) {
    return static_cast<uint8_t *>(cache.data) + dtype_row_bytes(cache.dtype, size_t(i));
}

}  // namespace

void kv_store(const Tensor & k, const Tensor & v, const Tensor & positions, const Tensor & k_cache,
              const Tensor & v_cache) {
    int64_t n = k.dim(0), row = k.dim(1) * k.dim(2), slots = k_cache.dim(0);
    for (int64_t t = 0; t < n; ++t) {
        int64_t slot = int64_t(positions.ptr<int32_t>()[t]) % slots;
        kv_row_store(k_cache.dtype, f32_data(k) + t * row, cache_at(k_cache, slot * row), row);
        kv_row_store(v_cache.dtype, f32_data(v) + t * row, cache_at(v_cache, slot * row), row);
    }
}

namespace {

// Head kvh of slot `slot` as d f32 values: the cache row itself for f32, else widened into buf
// (for q8_0 the whole blocks covering it: with D < 32 a block spans neighbouring heads).
const float * cache_row(const Tensor & cache, int64_t slot, int64_t kvh, int64_t d,
                        std::vector<float> & buf) {
    int64_t i = (slot * cache.dim(1) + kvh) * d;
    if (cache.dtype == DType::f32) return f32_data(cache) + i;
    int64_t b = cache.dtype == DType::q8_0 ? kQ8Block : 1;
    int64_t first = i / b * b, end = (i + d + b - 1) / b * b;
    buf.resize(size_t(end - first));
    kv_row_load(cache.dtype, cache_at(cache, first), buf.data(), end - first);
    return buf.data() + (i - first);
}

// Whether the query at chunk index i (position p) may see key position t.
bool allowed(int64_t i, int64_t p, int64_t t, int64_t pos0, int64_t n, const Tensor & block_ids,
             int window) {
    if (window > 0 && p - t >= window) return false;
    if (t <= p) return true;
    if (block_ids.empty() || t - pos0 >= n) return false;
    int32_t bq = block_ids.ptr<int32_t>()[i];
    return bq >= 0 && block_ids.ptr<int32_t>()[t - pos0] == bq;
}

}  // namespace

void attention(const Tensor & q, const Tensor & k_cache, const Tensor & v_cache,
               const Tensor & positions, const Tensor & block_ids, const AttentionDesc & desc,
               const Tensor & out) {
    int64_t n = q.dim(0), hq = q.dim(1), d = q.dim(2);
    int64_t hkv = k_cache.dim(1), slots = k_cache.dim(0), group = hq / hkv;
    int64_t pos0 = positions.ptr<int32_t>()[0];
    int64_t last = pos0 + n - 1;  // the chunk's keys are stored: logical positions [0, last]
    std::vector<float> scores, kbuf, vbuf;
    for (int64_t i = 0; i < n; ++i) {
        int64_t p = positions.ptr<int32_t>()[i];
        int64_t t_lo = desc.window > 0 ? std::max<int64_t>(0, p - desc.window + 1) : 0;
        t_lo = std::max(t_lo, last - slots + 1);  // older keys were overwritten in the ring
        int64_t t_hi = block_ids.empty() ? p : last;
        for (int64_t h = 0; h < hq; ++h) {
            const int64_t kvh = h / group;
            attend_head(
                f32_data(q) + (i * hq + h) * d, d, desc.scale, t_lo, t_hi,
                [&](int64_t t) { return allowed(i, p, t, pos0, n, block_ids, desc.window); },
                [&](int64_t t) { return cache_row(k_cache, t % slots, kvh, d, kbuf); },
                [&](int64_t t) { return cache_row(v_cache, t % slots, kvh, d, vbuf); }, scores,
                f32_data(out) + (i * hq + h) * d);
        }
    }
}

// Op::attention_paged: each row reads its keys through its sequence's page table.
void attention_paged(const Tensor & q, const Tensor & k_pool, const Tensor & v_pool,
                     const Tensor & positions, const Tensor & row_seq, const Tensor & pages,
                     int page_size, const AttentionDesc & desc, const Tensor & out) {
    const int64_t n = q.dim(0), hq = q.dim(1), d = q.dim(2), hkv = k_pool.dim(1);
    const int64_t group = hq / hkv, n_pages = pages.dim(1), P = page_size;
    std::vector<float> scores, kbuf, vbuf;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t p = positions.ptr<int32_t>()[i];
        const int32_t * pg = pages.ptr<int32_t>() + int64_t(row_seq.ptr<int32_t>()[i]) * n_pages;
        const int64_t t_lo = desc.window > 0 ? std::max<int64_t>(0, p - desc.window + 1) : 0;
        auto slot = [&](int64_t t) { return int64_t(pg[(t / P) % n_pages]) * P + t % P; };
        for (int64_t h = 0; h < hq; ++h) {
            const int64_t kvh = h / group;
            attend_head(
                f32_data(q) + (i * hq + h) * d, d, desc.scale, t_lo, p,
                [](int64_t) { return true; },
                [&](int64_t t) { return cache_row(k_pool, slot(t), kvh, d, kbuf); },
                [&](int64_t t) { return cache_row(v_pool, slot(t), kvh, d, vbuf); }, scores,
                f32_data(out) + (i * hq + h) * d);
        }
    }
}

}  // namespace gemma::cpu::ref
