// The attention block of one decoder layer (spec §6.2-6.6): projections, per-head q/k/v norms,
// RoPE, cache write (owner layers only), attention over the layer's own cache or its donor's
// (KV-shared layers), output projection, post-attention norm and the residual add. Projections run
// on every row of the step at once; the cache write and the attention itself per sequence.
#include "model/gemma4/text.h"
#include "model/gemma4/text_scratch.h"

namespace gemma::gemma4 {

// Writes the step's K/V rows: into the KvCache ring/array at their positions (forward), or into
// the pool rows the plan's slot tensors name (forward_batch).
Status TextModel::store_kv(int l, const Tensor & k, const Tensor & v, StepPlan & plan) {
    const int64_t n = k.dim(0);
    if (plan.cache) {
        const LayerKv & cache = plan.cache->layers[size_t(l)];
        return backend_.kv_store(k, v, tensor_rows(s_->pos, 0, n), cache.k, cache.v);
    }
    const bool full = cfg_.text.layers[size_t(l)].type == LayerType::full;
    const LayerKv & pool = plan.pool->layer(l);
    Tensor slots = tensor_rows(full ? s_->slots_full : s_->slots_sliding, 0, n);
    return backend_.kv_store(k, v, slots, pool.k, pool.v);
}

// Attention one sequence at a time: over the KvCache, or over each sequence's contiguous view of
// the pool (bidirectional vision blocks on sliding layers, backends without paged attention).
Status TextModel::attend_per_sequence(int l, const Tensor & q, const Tensor & pos,
                                      const AttentionDesc & desc, const StepPlan & plan,
                                      const Tensor & att) {
    const LayerConfig & lc = cfg_.text.layers[size_t(l)];
    for (const StepPlan::Seq & sq : plan.seqs) {
        LayerKv src;
        if (plan.cache) {
            src = plan.cache->layers[size_t(lc.kv_source)];
        } else {
            auto view = plan.pool->attention_view(lc.kv_source, *sq.seq, sq.pos0 + sq.n);
            if (!view.ok()) return view.error();
            src = std::move(*view);
        }
        Tensor blocks = (sq.overlay && lc.type == LayerType::sliding)
                            ? tensor_rows(s_->blocks, sq.row0, sq.n)
                            : Tensor{};
        GEMMA_TRY(backend_.attention(tensor_rows(q, sq.row0, sq.n), src.k, src.v,
                                     tensor_rows(pos, sq.row0, sq.n), blocks, desc,
                                     tensor_rows(att, sq.row0, sq.n)));
    }
    return Status::success();
}

Status TextModel::attention_block(int l, int n, StepPlan & plan) {
    const TextConfig & c = cfg_.text;
    const LayerConfig & lc = c.layers[size_t(l)];
    const LayerWeights & lw = w_.layers[size_t(l)];
    const int64_t D = lc.head_dim, hq = c.n_heads, hkv = lc.n_kv_heads;
    const float eps = c.rms_norm_eps;
    Tensor h = tensor_rows(s_->h, 0, n), x = tensor_rows(s_->x, 0, n), a = tensor_rows(s_->a, 0, n);
    Tensor pos = tensor_rows(s_->pos, 0, n);
    const Tensor & freqs = s_->freqs[size_t(l)];

    GEMMA_TRY(backend_.rms_norm(h, lw.input_norm, eps, x));
    // The q, k and v projections first, back to back, then the per-head norms and RoPE of q,
    // then those of k and v with the cache write: the two groups are independent, and this order
    // lets a GPU backend run the three projections, and the two norm groups, as one kernel each.
    Tensor q2 = tensor_prefix(s_->q, {n, hq * D}), k2, v2;
    GEMMA_TRY(backend_.matmul(x, lw.q_proj, q2));
    if (lc.owns_kv) {  // KV-shared layers have no k/v projections: they read the donor's cache
        k2 = tensor_prefix(s_->k, {n, hkv * D});
        v2 = tensor_prefix(s_->v, {n, hkv * D});
        GEMMA_TRY(backend_.matmul(x, lw.k_proj, k2));
        GEMMA_TRY(backend_.matmul(x, lw.v_proj, v2));
    }
    // Scratch the layer is done with is discarded (Backend::discard) right after its last
    // reader: a GPU backend may then skip storing values only its fused readers needed. Never
    // h, which the residual stream and the debug taps read.
    GEMMA_TRY(backend_.discard(x));
    Tensor q_heads = tensor_reshape(q2, {n * hq, D});
    GEMMA_TRY(backend_.rms_norm(q_heads, lw.q_norm, eps, q_heads));  // one weight for all heads
    Tensor q = tensor_reshape(q2, {n, hq, D});
    GEMMA_TRY(backend_.rope(q, pos, freqs, q));

    if (lc.owns_kv) {
        Tensor k_heads = tensor_reshape(k2, {n * hkv, D}),
               v_heads = tensor_reshape(v2, {n * hkv, D});
        GEMMA_TRY(backend_.rms_norm(k_heads, lw.k_norm, eps, k_heads));
        GEMMA_TRY(backend_.rms_norm(v_heads, Tensor{}, eps, v_heads));  // v_norm has no weight
        Tensor k = tensor_reshape(k2, {n, hkv, D}), v = tensor_reshape(v2, {n, hkv, D});
        GEMMA_TRY(backend_.rope(k, pos, freqs, k));  // no RoPE on values
        GEMMA_TRY(store_kv(l, k, v, plan));
        GEMMA_TRY(backend_.discard(k2));  // in the cache now
        GEMMA_TRY(backend_.discard(v2));
    }

    // Shared layers read the donor's cache, which the donor filled earlier in this same step.
    AttentionDesc desc;
    desc.scale = 1.0f;  // Gemma 4: no 1/sqrt(D); q/k norms bound the scores (spec §6.2, pitfall 2)
    desc.window = lc.type == LayerType::sliding ? c.sliding_window : 0;
    Tensor att = tensor_prefix(s_->att, {n, hq, D});
    const bool full = lc.type == LayerType::full;
    if (plan.paged && (full || !plan.any_overlay)) {  // all sequences at once
        const LayerKv & src = plan.pool->layer(lc.kv_source);
        GEMMA_TRY(backend_.attention_paged(
            q, src.k, src.v, pos, tensor_rows(s_->row_seq, 0, n),
            full ? plan.pool->pages_full() : plan.pool->pages_sliding(),
            full ? plan.pool->options().block_size : plan.pool->ring_slots(), desc, att));
    } else {
        GEMMA_TRY(attend_per_sequence(l, q, pos, desc, plan, att));
    }
    GEMMA_TRY(backend_.discard(q2));
    GEMMA_TRY(backend_.matmul(tensor_reshape(att, {n, hq * D}), lw.o_proj, a));
    GEMMA_TRY(backend_.discard(att));
    GEMMA_TRY(backend_.rms_norm(a, lw.post_attn_norm, eps, a));
    GEMMA_TRY(backend_.add(h, a, h));
    return backend_.discard(a);  // read by the add only
}

}  // namespace gemma::gemma4
