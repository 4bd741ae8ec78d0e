// kv_store (row copies into the ring-buffer cache) and attention: one task per (query row, head),
// f32 scores with SIMD dots, softmax with SIMD exp, output as SIMD axpy over the visible values.
// Masking follows core/ops.h exactly (causal, sliding window, ring wrap, bidirectional blocks).
// bf16 / q8_0 caches: each key / value row is widened to f32 (exactly, as core/kv_quant.h) by a
// SIMD kernel into a per-thread buffer before the same SIMD dot / axpy.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/fast/simd.h"
#include "backends/cpu/fast/simd_kv.h"
#include "core/kv_quant.h"

namespace gemma::cpu::fast {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// What one query row may see (see Op::attention).
struct QueryView {
    int64_t i, p;            // chunk index and absolute position of the query
    int64_t pos0, n;         // the chunk: positions [pos0, pos0 + n)
    int64_t t_lo, t_hi;      // candidate key positions [t_lo, t_hi]
    const int32_t * blocks;  // block ids of the chunk, or null
    int window;
};

bool allowed(const QueryView & qv, int64_t t) {
    if (qv.window > 0 && qv.p - t >= qv.window) return false;
    if (t <= qv.p) return true;
    if (qv.blocks == nullptr || t - qv.pos0 >= qv.n) return false;
    int32_t bq = qv.blocks[qv.i];
    return bq >= 0 && qv.blocks[t - qv.pos0] == bq;
}

// One KV head of a cache: element (slot s, this head, j) is flat element s·row + off + j.
struct CacheHead {
    const uint8_t * base;  // the cache's first byte
    int64_t row, off;      // h_kv·D, kvh·D
    DType type;

    // Slot s as d f32 values: in place for f32 caches, else widened into buf (d + 32 floats;
    // q8_0 widens the whole blocks covering the head, which may span neighbouring heads).
    const float * at(int64_t s, int64_t d, float * buf) const {
        int64_t i = s * row + off;
        if (type == DType::f32) return reinterpret_cast<const float *>(base) + i;
        if (type == DType::bf16) {
            simd::bf16_to_f32(reinterpret_cast<const uint16_t *>(base) + i, d, 1.0f, buf);
            return buf;
        }
        int64_t first = i / kQ8Block, end = (i + d + kQ8Block - 1) / kQ8Block;  // blocks
        simd::q8_0_to_f32(base + size_t(first) * kQ8BlockBytes, end - first, buf);
        return buf + (i - first * kQ8Block);
    }
};

CacheHead cache_head(const Tensor & cache, int64_t kvh) {
    int64_t hkv = cache.dim(1), d = cache.dim(2);
    return {static_cast<const uint8_t *>(cache.data), hkv * d, kvh * d, cache.dtype};
}

struct HeadArgs {
    const float * q;  // [D] query head
    CacheHead kc, vc;
    int64_t slots, d;
    float scale;
    float * out;  // [D]
    // Paged form (Op::attention_paged): key t is in row pages[(t / page) mod n_pages]·page +
    // t mod page; otherwise in slot t mod slots (a ring).
    const int32_t * pages = nullptr;
    int64_t page = 0, n_pages = 0;

    int64_t slot(int64_t t) const {
        if (!pages) return t % slots;
        return int64_t(pages[(t / page) % n_pages]) * page + t % page;
    }
};

// Per-thread scratch of one (query, head) task.
struct HeadScratch {
    std::vector<float> scores, row;
};

void attend_head(const QueryView & qv, const HeadArgs & a, HeadScratch & hs) {
    std::vector<float> & scores = hs.scores;
    hs.row.resize(size_t(a.d + kQ8Block));
    int64_t len = qv.t_hi - qv.t_lo + 1;
    scores.assign(size_t(std::max<int64_t>(len, 0)), kNegInf);
    std::fill_n(a.out, a.d, 0.0f);
    if (len <= 0) return;
    bool all_visible = qv.blocks == nullptr;  // [t_lo, p] is exactly the causal/window range
    for (int64_t t = qv.t_lo; t <= qv.t_hi; ++t) {
        if (!all_visible && !allowed(qv, t)) continue;
        scores[size_t(t - qv.t_lo)] =
            a.scale * simd::dot(a.q, a.kc.at(a.slot(t), a.d, hs.row.data()), a.d);
    }
    float mx = simd::max_value(scores.data(), len);
    if (mx == kNegInf) return;  // nothing visible
    float inv_sum = 1.0f / simd::exp_sub_sum(scores.data(), len, mx);
    for (int64_t t = qv.t_lo; t <= qv.t_hi; ++t) {
        float w = scores[size_t(t - qv.t_lo)];
        if (w == 0.0f) continue;
        simd::axpy(w * inv_sum, a.vc.at(a.slot(t), a.d, hs.row.data()), a.out, a.d);
    }
}

}  // namespace

void kv_store(const Tensor & k, const Tensor & v, const Tensor & positions, const Tensor & k_cache,
              const Tensor & v_cache) {
    int64_t n = k.dim(0), row = k.dim(1) * k.dim(2), slots = k_cache.dim(0);
    size_t row_bytes = dtype_row_bytes(k_cache.dtype, size_t(row));
    for (int64_t t = 0; t < n; ++t) {
        int64_t slot = int64_t(positions.ptr<int32_t>()[t]) % slots;
        kv_row_store(k_cache.dtype, f32_data(k) + t * row,
                     static_cast<uint8_t *>(k_cache.data) + size_t(slot) * row_bytes, row);
        kv_row_store(v_cache.dtype, f32_data(v) + t * row,
                     static_cast<uint8_t *>(v_cache.data) + size_t(slot) * row_bytes, row);
    }
}

void attention(ThreadPool & pool, const Tensor & q, const Tensor & k_cache, const Tensor & v_cache,
               const Tensor & positions, const Tensor & block_ids, const AttentionDesc & desc,
               const Tensor & out) {
    int64_t n = q.dim(0), hq = q.dim(1), d = q.dim(2);
    int64_t hkv = k_cache.dim(1), slots = k_cache.dim(0), group = hq / hkv;
    const int32_t * pos = positions.ptr<int32_t>();
    int64_t pos0 = pos[0], last = pos0 + n - 1;  // the chunk's keys are stored: [0, last]
    const int32_t * blocks = block_ids.empty() ? nullptr : block_ids.ptr<int32_t>();
    pool.parallel_for(n * hq, 1, [&](int64_t j0, int64_t j1) {
        thread_local HeadScratch scratch;
        for (int64_t j = j0; j < j1; ++j) {
            int64_t i = j / hq, h = j % hq, p = pos[i];
            QueryView qv{i, p, pos0, n, 0, 0, blocks, desc.window};
            qv.t_lo = desc.window > 0 ? std::max<int64_t>(0, p - desc.window + 1) : 0;
            qv.t_lo =
                std::max(qv.t_lo, last - slots + 1);  // older keys were overwritten in the ring
            qv.t_hi = blocks == nullptr ? p : last;
            int64_t kvh = h / group;
            HeadArgs a{f32_data(q) + (i * hq + h) * d,
                       cache_head(k_cache, kvh),
                       cache_head(v_cache, kvh),
                       slots,
                       d,
                       desc.scale,
                       f32_data(out) + (i * hq + h) * d};
            attend_head(qv, a, scratch);
        }
    });
}

void attention_paged(ThreadPool & pool, const Tensor & q, const Tensor & k_pool,
                     const Tensor & v_pool, const Tensor & positions, const Tensor & row_seq,
                     const Tensor & pages, int page_size, const AttentionDesc & desc,
                     const Tensor & out) {
    const int64_t n = q.dim(0), hq = q.dim(1), d = q.dim(2), group = hq / k_pool.dim(1);
    const int32_t * pos = positions.ptr<int32_t>();
    const int64_t n_pages = pages.dim(1);
    pool.parallel_for(n * hq, 1, [&](int64_t j0, int64_t j1) {
        thread_local HeadScratch scratch;
        for (int64_t j = j0; j < j1; ++j) {
            const int64_t i = j / hq, h = j % hq, p = pos[i], kvh = h / group;
            QueryView qv{i, p, p, 1, 0, p, nullptr, desc.window};
            qv.t_lo = desc.window > 0 ? std::max<int64_t>(0, p - desc.window + 1) : 0;
            HeadArgs a{f32_data(q) + (i * hq + h) * d,
                       cache_head(k_pool, kvh),
                       cache_head(v_pool, kvh),
                       k_pool.dim(0),
                       d,
                       desc.scale,
                       f32_data(out) + (i * hq + h) * d,
                       pages.ptr<int32_t>() + int64_t(row_seq.ptr<int32_t>()[i]) * n_pages,
                       page_size,
                       n_pages};
            attend_head(qv, a, scratch);
        }
    });
}

}  // namespace gemma::cpu::fast
