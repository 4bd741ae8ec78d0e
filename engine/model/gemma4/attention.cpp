// The attention block of one decoder layer (spec §6.2-6.6): projections, per-head q/k/v norms,
// RoPE, cache write (owner layers only), attention over the layer's own cache or its donor's
// (KV-shared layers), output projection, post-attention norm and the residual add.
#include "model/gemma4/text.h"
#include "model/gemma4/text_scratch.h"

namespace gemma::gemma4 {

Status TextModel::attention_block(int l, int n, KvCache & kv, bool overlay) {
    const TextConfig & c = cfg_.text;
    const LayerConfig & lc = c.layers[size_t(l)];
    const LayerWeights & lw = w_.layers[size_t(l)];
    const int64_t D = lc.head_dim, hq = c.n_heads, hkv = lc.n_kv_heads;
    const float eps = c.rms_norm_eps;
    Tensor h = tensor_rows(s_->h, 0, n), x = tensor_rows(s_->x, 0, n), a = tensor_rows(s_->a, 0, n);
    Tensor pos = tensor_rows(s_->pos, 0, n);
    const Tensor & freqs = s_->freqs[size_t(l)];

    GEMMA_TRY(backend_.rms_norm(h, lw.input_norm, eps, x));
    Tensor q2 = tensor_prefix(s_->q, {n, hq * D});
    GEMMA_TRY(backend_.matmul(x, lw.q_proj, q2));
    Tensor q_heads = tensor_reshape(q2, {n * hq, D});
    GEMMA_TRY(backend_.rms_norm(q_heads, lw.q_norm, eps, q_heads));  // one weight for all heads
    Tensor q = tensor_reshape(q2, {n, hq, D});
    GEMMA_TRY(backend_.rope(q, pos, freqs, q));

    if (lc.owns_kv) {
        Tensor k2 = tensor_prefix(s_->k, {n, hkv * D}), v2 = tensor_prefix(s_->v, {n, hkv * D});
        GEMMA_TRY(backend_.matmul(x, lw.k_proj, k2));
        GEMMA_TRY(backend_.matmul(x, lw.v_proj, v2));
        Tensor k_heads = tensor_reshape(k2, {n * hkv, D}),
               v_heads = tensor_reshape(v2, {n * hkv, D});
        GEMMA_TRY(backend_.rms_norm(k_heads, lw.k_norm, eps, k_heads));
        GEMMA_TRY(backend_.rms_norm(v_heads, Tensor{}, eps, v_heads));  // v_norm has no weight
        Tensor k = tensor_reshape(k2, {n, hkv, D}), v = tensor_reshape(v2, {n, hkv, D});
        GEMMA_TRY(backend_.rope(k, pos, freqs, k));  // no RoPE on values
        const LayerKv & cache = kv.layers[size_t(l)];
        GEMMA_TRY(backend_.kv_store(k, v, pos, cache.k, cache.v));
    }

    // Shared layers read the donor's cache, which the donor filled earlier in this same step.
    const LayerKv & src = kv.layers[size_t(lc.kv_source)];
    AttentionDesc desc;
    desc.scale = 1.0f;  // Gemma 4: no 1/sqrt(D); q/k norms bound the scores (spec §6.2, pitfall 2)
    desc.window = lc.type == LayerType::sliding ? c.sliding_window : 0;
    Tensor blocks =
        (overlay && lc.type == LayerType::sliding) ? tensor_rows(s_->blocks, 0, n) : Tensor{};
    Tensor att = tensor_prefix(s_->att, {n, hq, D});
    GEMMA_TRY(backend_.attention(q, src.k, src.v, pos, blocks, desc, att));
    GEMMA_TRY(backend_.matmul(tensor_reshape(att, {n, hq * D}), lw.o_proj, a));
    GEMMA_TRY(backend_.rms_norm(a, lw.post_attn_norm, eps, a));
    return backend_.add(h, a, h);
}

}  // namespace gemma::gemma4
