// Paged KV memory shared by many sequences of one Gemma 4 text model: full-attention layers keep
// their K/V in fixed-size blocks handed out from one pool (refcounted, so sequences and cached
// prefixes share blocks, copy-on-write); sliding layers keep one ring of window + max_chunk - 1
// slots per sequence (they never need more); KV-shared layers store nothing (spec gemma4-text
// §6.6). K/V are f32, bf16 or q8_0 (KvPoolOptions::kv_type); copies between rows are byte copies.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/backend.h"
#include "model/gemma4/config.h"
#include "model/gemma4/kv_cache.h"

namespace gemma::gemma4 {

struct KvPoolOptions {
    int n_ctx = 4096;     // most positions one sequence may hold (<= max_position_embeddings)
    int max_chunk = 64;   // most tokens of one sequence per forward step
    int block_size = 16;  // positions per full-layer block
    int n_blocks = 0;     // full-layer blocks in the pool; 0 = n_ctx worth for n_rings / 2 seqs
    int n_rings = 8;      // sliding-layer rings: active sequences + cached prefixes at once
    // Attend for all sequences of a step in one call (Op::attention_paged) when the backend has
    // it for kv_type; false: per sequence through contiguous views (the fallback path).
    bool paged_attention = true;
    DType kv_type = DType::f32;  // element type of K/V: f32, bf16 or q8_0 (kv_cache_type_check)
};

// One sequence's place in the pool. Plain data owned by the caller; give it back with
// KvPool::seq_release. n_past = positions stored (the next token's position).
struct KvSeq {
    int ring = -1;                // sliding ring index, -1 = none
    std::vector<int32_t> blocks;  // logical block i -> physical block
    int n_past = 0;
};

// Thread-compatible: the scheduler's inference thread owns it. Memory comes from the backend once
// at create(); nothing is allocated per step except the gather scratch on first need.
class KvPool {
public:
    // invalid_argument for bad sizes (n_ctx beyond the model's context), out_of_memory from the
    // backend.
    static Result<std::unique_ptr<KvPool>> create(const TextConfig & cfg, Backend & backend,
                                                  KvPoolOptions opts);

    const KvPoolOptions & options() const { return opts_; }
    int ring_slots() const { return ring_slots_; }
    int n_free_blocks() const;
    int n_free_rings() const;
    // Fraction of full-layer blocks in use (0..1), for stats.
    double usage() const;
    // Backend memory of the pool's K/V tensors (fixed at create()), plus the gather scratch once
    // a non-contiguous full-layer view has allocated it.
    size_t bytes() const;

    // A new empty sequence with its own ring. out_of_memory when every ring is taken.
    Result<KvSeq> seq_new();
    // Returns the ring and drops the sequence's block references. Safe on an empty KvSeq.
    void seq_release(KvSeq & seq);
    // Makes positions [n_past, n_past + n) writable: allocates blocks, copies shared blocks it
    // will write into (copy-on-write). context_full past n_ctx; out_of_memory when the pool has
    // no free block (the caller may evict cached prefixes and retry).
    Status seq_reserve(KvSeq & seq, int n);
    // Whether `seq` can continue from position n_keep <= n_past: its ring must still hold the
    // window before n_keep (positions written after n_keep overwrite older ring slots).
    bool seq_can_resume(const KvSeq & seq, int n_keep) const;
    // Forgets positions >= n_keep (requires seq_can_resume) and frees blocks past them.
    void seq_truncate(KvSeq & seq, int n_keep);
    // A new sequence holding the first n_keep positions of src: its blocks shared (refcount), its
    // ring copied. Requires seq_can_resume(src, n_keep). out_of_memory when no ring is free.
    Result<KvSeq> seq_fork(const KvSeq & src, int n_keep);

    // ---- for the decoder ----
    // The pool tensors of layer l ([slots, h_kv, D]; empty for shared layers). kv_store targets.
    const LayerKv & layer(int l) const { return layers_[size_t(l)]; }
    // Physical slot (row of layer(l)) that position pos of seq is stored in.
    int32_t slot_full(const KvSeq & seq, int pos) const;
    int32_t slot_sliding(const KvSeq & seq, int pos) const;
    // K/V of layer l for attention over positions [0, n_pos) of seq as one contiguous
    // [S, h_kv, D] view where position t is in row t mod S: a pool view when the blocks are
    // physically contiguous (or a sliding ring), else a copy into the gather scratch (valid until
    // the next call).
    Result<LayerKv> attention_view(int l, const KvSeq & seq, int n_pos);

    // ---- paged attention (backends with Op::attention_paged) ----
    // Whether the backend attends through page tables: then the tables below exist. Rows are
    // indexed by ring (one per live sequence): pages_full() [n_rings, blocks per context] holds
    // each sequence's block list (page size block_size), pages_sliding() [n_rings, 1] its ring
    // (page size ring_slots()).
    bool paged() const { return !pages_full_.empty(); }
    const Tensor & pages_full() const { return pages_full_; }
    const Tensor & pages_sliding() const { return pages_sliding_; }
    // Uploads the block lists of `seqs` that changed since their ring's last upload (before a
    // step; ordered on the backend's stream like every write).
    Status sync_pages(const std::vector<const KvSeq *> & seqs);

private:
    KvPool(const TextConfig & cfg, Backend & backend, KvPoolOptions opts);
    Status init_pages();
    Status init();
    Result<int32_t> alloc_block(int32_t prefer);
    void unref_block(int32_t b);
    Status copy_rows(int l, int64_t src_row, int64_t dst_row, int64_t n);

    TextConfig cfg_;
    Backend & backend_;
    KvPoolOptions opts_;
    int ring_slots_ = 0;
    std::vector<LayerKv> layers_;
    std::vector<int32_t> block_refs_;  // refcount per physical block
    std::vector<bool> ring_used_;
    LayerKv gather_;  // lazily allocated [n_ctx rounded to blocks, h_kv, D] for full layers
    Tensor pages_full_, pages_sliding_;           // i32 device page tables (paged() only)
    std::vector<std::vector<int32_t>> uploaded_;  // per ring: the block list pages_full_ holds
};

}  // namespace gemma::gemma4
