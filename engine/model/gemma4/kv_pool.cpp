// KvPool: block and ring bookkeeping (refcounts, copy-on-write, contiguous-first allocation) and
// the contiguous K/V views the attention op reads.
#include "model/gemma4/kv_pool.h"

#include <algorithm>

namespace gemma::gemma4 {

KvPool::KvPool(const TextConfig & cfg, Backend & backend, KvPoolOptions opts)
    : cfg_(cfg), backend_(backend), opts_(opts) {}

Result<std::unique_ptr<KvPool>> KvPool::create(const TextConfig & cfg, Backend & backend,
                                               KvPoolOptions opts) {
    if (opts.n_ctx <= 0 || opts.max_chunk <= 0 || opts.block_size <= 0 || opts.n_rings <= 0 ||
        opts.n_blocks < 0)
        return make_error(
            ErrorCode::invalid_argument,
            format("KV pool needs positive sizes (n_ctx %d, max_chunk %d, block %d, "
                   "rings %d, blocks %d)",
                   opts.n_ctx, opts.max_chunk, opts.block_size, opts.n_rings, opts.n_blocks));
    if (cfg.max_position_embeddings > 0 && opts.n_ctx > cfg.max_position_embeddings)
        return make_error(ErrorCode::invalid_argument,
                          format("context length %d exceeds the model's %d tokens; choose a "
                                 "smaller context",
                                 opts.n_ctx, cfg.max_position_embeddings));
    GEMMA_TRY(kv_cache_type_check(cfg, backend, opts.kv_type));
    opts.max_chunk = std::min(opts.max_chunk, opts.n_ctx);
    const int blocks_per_ctx = (opts.n_ctx + opts.block_size - 1) / opts.block_size;
    if (opts.n_blocks == 0) opts.n_blocks = blocks_per_ctx * std::max(1, opts.n_rings / 2);
    std::unique_ptr<KvPool> p(new KvPool(cfg, backend, opts));
    GEMMA_TRY(p->init());
    return p;
}

Status KvPool::init() {
    ring_slots_ = std::min(opts_.n_ctx, cfg_.sliding_window + opts_.max_chunk - 1);
    block_refs_.assign(size_t(opts_.n_blocks), 0);
    ring_used_.assign(size_t(opts_.n_rings), false);
    layers_.resize(size_t(cfg_.n_layers));
    for (int l = 0; l < cfg_.n_layers; ++l) {
        const LayerConfig & lc = cfg_.layers[size_t(l)];
        if (!lc.owns_kv) continue;
        int64_t rows = lc.type == LayerType::sliding ? int64_t(ring_slots_) * opts_.n_rings
                                                     : int64_t(opts_.n_blocks) * opts_.block_size;
        Shape shape{rows, lc.n_kv_heads, lc.head_dim};
        auto k = backend_.alloc(opts_.kv_type, shape);
        if (!k.ok()) return k.error();
        auto v = backend_.alloc(opts_.kv_type, shape);
        if (!v.ok()) return v.error();
        layers_[size_t(l)] = {std::move(*k), std::move(*v)};
    }
    return init_pages();
}

Status KvPool::init_pages() {
    if (!opts_.paged_attention ||
        !backend_.supports({Op::attention_paged, DType::f32, opts_.kv_type}))
        return Status::success();
    const int max_blocks = (opts_.n_ctx + opts_.block_size - 1) / opts_.block_size;
    auto full = backend_.alloc(DType::i32, {opts_.n_rings, max_blocks});
    if (!full.ok()) return full.error();
    auto sliding = backend_.alloc(DType::i32, {opts_.n_rings, 1});
    if (!sliding.ok()) return sliding.error();
    std::vector<int32_t> rings(size_t(opts_.n_rings));
    for (size_t r = 0; r < rings.size(); ++r) rings[r] = int32_t(r);
    GEMMA_TRY(backend_.write(*sliding, rings.data(), rings.size() * 4));
    pages_full_ = std::move(*full);
    pages_sliding_ = std::move(*sliding);
    uploaded_.assign(size_t(opts_.n_rings), {});
    return Status::success();
}

Status KvPool::sync_pages(const std::vector<const KvSeq *> & seqs) {
    for (const KvSeq * s : seqs) {
        if (s->ring < 0 || s->blocks.empty()) continue;
        std::vector<int32_t> & up = uploaded_[size_t(s->ring)];
        if (up == s->blocks) continue;
        GEMMA_TRY(backend_.write(tensor_rows(pages_full_, s->ring, 1), s->blocks.data(),
                                 s->blocks.size() * sizeof(int32_t)));
        up = s->blocks;
    }
    return Status::success();
}

int KvPool::n_free_blocks() const {
    return int(std::count(block_refs_.begin(), block_refs_.end(), 0));
}

int KvPool::n_free_rings() const {
    return int(std::count(ring_used_.begin(), ring_used_.end(), false));
}

double KvPool::usage() const {
    return opts_.n_blocks == 0 ? 0.0 : 1.0 - double(n_free_blocks()) / double(opts_.n_blocks);
}

size_t KvPool::bytes() const {
    size_t n = 0;
    for (const Tensor * t : {&gather_.k, &gather_.v})
        if (!t->empty()) n += t->nbytes();
    for (const LayerKv & l : layers_)
        if (!l.k.empty()) n += l.k.nbytes() + l.v.nbytes();  // shared layers hold nothing
    return n;
}

Result<KvSeq> KvPool::seq_new() {
    for (size_t r = 0; r < ring_used_.size(); ++r) {
        if (ring_used_[r]) continue;
        ring_used_[r] = true;
        KvSeq s;
        s.ring = int(r);
        return s;
    }
    return make_error(ErrorCode::out_of_memory,
                      format("KV pool: all %d sequence slots are in use; wait for a request to "
                             "finish or raise the number of parallel sequences",
                             opts_.n_rings));
}

void KvPool::seq_release(KvSeq & seq) {
    if (seq.ring >= 0) ring_used_[size_t(seq.ring)] = false;
    for (int32_t b : seq.blocks) unref_block(b);
    seq = KvSeq{};
}

// Prefers `prefer` (the physical successor of the sequence's last block) so that a sequence's
// blocks stay contiguous and attention reads them in place; else the first free block that
// starts the longest free run.
Result<int32_t> KvPool::alloc_block(int32_t prefer) {
    const int32_t n = int32_t(block_refs_.size());
    if (prefer >= 0 && prefer < n && block_refs_[size_t(prefer)] == 0) {
        block_refs_[size_t(prefer)] = 1;
        return prefer;
    }
    int32_t best = -1, best_len = 0;
    for (int32_t b = 0; b < n;) {
        if (block_refs_[size_t(b)] != 0) {
            ++b;
            continue;
        }
        int32_t e = b;
        while (e < n && block_refs_[size_t(e)] == 0) ++e;
        if (e - b > best_len) best = b, best_len = e - b;
        b = e;
    }
    if (best < 0)
        return make_error(ErrorCode::out_of_memory,
                          format("KV pool: all %d blocks of %d positions are in use; shorten the "
                                 "conversations or give the KV cache more memory",
                                 n, opts_.block_size));
    block_refs_[size_t(best)] = 1;
    return best;
}

void KvPool::unref_block(int32_t b) {
    GEMMA_ASSERT(block_refs_[size_t(b)] > 0, "KV pool: block %d released twice", b);
    --block_refs_[size_t(b)];
}

Status KvPool::copy_rows(int l, int64_t src_row, int64_t dst_row, int64_t n) {
    const LayerKv & kv = layers_[size_t(l)];
    GEMMA_TRY(backend_.copy(tensor_rows(kv.k, src_row, n), tensor_rows(kv.k, dst_row, n)));
    return backend_.copy(tensor_rows(kv.v, src_row, n), tensor_rows(kv.v, dst_row, n));
}

Status KvPool::seq_reserve(KvSeq & seq, int n) {
    const int B = opts_.block_size;
    if (seq.n_past + n > opts_.n_ctx)
        return make_error(ErrorCode::context_full,
                          format("context full: %d cached + %d new tokens > %d; start a new "
                                 "conversation or raise the context size",
                                 seq.n_past, n, opts_.n_ctx));
    const int first = seq.n_past / B, last = (seq.n_past + n - 1) / B;
    for (int i = first; i <= last; ++i) {
        if (size_t(i) < seq.blocks.size()) {
            int32_t old = seq.blocks[size_t(i)];
            if (block_refs_[size_t(old)] == 1) continue;
            auto fresh = alloc_block(-1);  // shared: copy on write
            if (!fresh.ok()) return fresh.error();
            for (int l = 0; l < cfg_.n_layers; ++l)
                if (cfg_.layers[size_t(l)].owns_kv &&
                    cfg_.layers[size_t(l)].type == LayerType::full)
                    GEMMA_TRY(copy_rows(l, int64_t(old) * B, int64_t(*fresh) * B, B));
            unref_block(old);
            seq.blocks[size_t(i)] = *fresh;
            continue;
        }
        auto b = alloc_block(seq.blocks.empty() ? -1 : seq.blocks.back() + 1);
        if (!b.ok()) return b.error();
        seq.blocks.push_back(*b);
    }
    return Status::success();
}

// Positions after n_keep that were written map onto ring slots of positions (n_keep - W, n_keep)
// once they are more than ring_slots - window + 1 past n_keep.
bool KvPool::seq_can_resume(const KvSeq & seq, int n_keep) const {
    if (n_keep < 0 || n_keep > seq.n_past) return false;
    if (n_keep == seq.n_past || ring_slots_ >= opts_.n_ctx) return true;
    int written_after = seq.n_past - n_keep;
    return written_after <= ring_slots_ - cfg_.sliding_window;
}

void KvPool::seq_truncate(KvSeq & seq, int n_keep) {
    GEMMA_ASSERT(seq_can_resume(seq, n_keep), "KV pool: truncate to %d of %d", n_keep, seq.n_past);
    size_t keep_blocks = size_t((n_keep + opts_.block_size - 1) / opts_.block_size);
    while (seq.blocks.size() > keep_blocks) {
        unref_block(seq.blocks.back());
        seq.blocks.pop_back();
    }
    seq.n_past = n_keep;
}

Result<KvSeq> KvPool::seq_fork(const KvSeq & src, int n_keep) {
    GEMMA_ASSERT(seq_can_resume(src, n_keep), "KV pool: fork at %d of %d", n_keep, src.n_past);
    auto s = seq_new();
    if (!s.ok()) return s.error();
    for (int l = 0; l < cfg_.n_layers; ++l) {
        const LayerConfig & lc = cfg_.layers[size_t(l)];
        if (!lc.owns_kv || lc.type != LayerType::sliding) continue;
        Status st = copy_rows(l, int64_t(src.ring) * ring_slots_, int64_t(s->ring) * ring_slots_,
                              ring_slots_);
        if (!st.ok()) {
            seq_release(*s);
            return st.error();
        }
    }
    size_t keep_blocks = size_t((n_keep + opts_.block_size - 1) / opts_.block_size);
    for (size_t i = 0; i < keep_blocks; ++i) {
        ++block_refs_[size_t(src.blocks[i])];
        s->blocks.push_back(src.blocks[i]);
    }
    s->n_past = n_keep;
    return s;
}

int32_t KvPool::slot_full(const KvSeq & seq, int pos) const {
    const int B = opts_.block_size;
    return seq.blocks[size_t(pos / B)] * B + pos % B;
}

int32_t KvPool::slot_sliding(const KvSeq & seq, int pos) const {
    return seq.ring * ring_slots_ + pos % ring_slots_;
}

Result<LayerKv> KvPool::attention_view(int l, const KvSeq & seq, int n_pos) {
    const LayerConfig & lc = cfg_.layers[size_t(l)];
    const LayerKv & kv = layers_[size_t(l)];
    if (lc.type == LayerType::sliding) {
        int64_t r0 = int64_t(seq.ring) * ring_slots_;
        return LayerKv{tensor_rows(kv.k, r0, ring_slots_), tensor_rows(kv.v, r0, ring_slots_)};
    }
    const int B = opts_.block_size;
    const int nb = (n_pos + B - 1) / B;
    GEMMA_ASSERT(nb <= int(seq.blocks.size()), "KV pool: view of %d positions, %zu blocks", n_pos,
                 seq.blocks.size());
    bool contiguous = true;
    for (int i = 1; i < nb && contiguous; ++i)
        contiguous = seq.blocks[size_t(i)] == seq.blocks[0] + i;
    if (contiguous) {
        int64_t r0 = int64_t(seq.blocks[0]) * B;
        return LayerKv{tensor_rows(kv.k, r0, int64_t(nb) * B),
                       tensor_rows(kv.v, r0, int64_t(nb) * B)};
    }
    const int64_t row = int64_t(lc.n_kv_heads) * lc.head_dim;
    const int64_t cap = int64_t((opts_.n_ctx + B - 1) / B) * B;
    if (gather_.k.empty() || gather_.k.numel() < cap * row) {
        int64_t max_row = row;
        for (const LayerConfig & o : cfg_.layers)
            if (o.type == LayerType::full)
                max_row = std::max<int64_t>(max_row, int64_t(o.n_kv_heads) * o.head_dim);
        auto k = backend_.alloc(opts_.kv_type, {cap * max_row});  // q8_0: max_row % 32 == 0
        if (!k.ok()) return k.error();
        auto v = backend_.alloc(opts_.kv_type, {cap * max_row});
        if (!v.ok()) return v.error();
        gather_ = {std::move(*k), std::move(*v)};
    }
    Shape shape{int64_t(nb) * B, lc.n_kv_heads, lc.head_dim};
    LayerKv out{tensor_prefix(gather_.k, shape), tensor_prefix(gather_.v, shape)};
    for (int i = 0; i < nb; ++i) {
        int64_t src = int64_t(seq.blocks[size_t(i)]) * B;
        GEMMA_TRY(backend_.copy(tensor_rows(kv.k, src, B), tensor_rows(out.k, int64_t(i) * B, B)));
        GEMMA_TRY(backend_.copy(tensor_rows(kv.v, src, B), tensor_rows(out.v, int64_t(i) * B, B)));
    }
    return out;
}

}  // namespace gemma::gemma4
