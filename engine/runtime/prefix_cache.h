// Prefix caching across requests: finished sequences (and snapshots taken at the end of each
// prompt) stay in the KV pool keyed by what their positions hold, so a new chat turn resumes from
// the longest matching prefix instead of recomputing it. Keys are token ids for text and a hash
// of the media content for soft tokens, so an earlier turn with an image or audio clip is reused
// only when the same media comes back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/gemma4/kv_pool.h"

namespace gemma::runtime {

// Key of a soft-token position: the high bit set, so it never equals a token id.
uint64_t media_key(uint64_t content_hash, int index);
// FNV-1a over bytes (media content hashes).
uint64_t hash_bytes(const void * data, size_t n, uint64_t seed = 0xcbf29ce484222325ull);

// Thread-compatible: owned by the scheduler's inference thread, like the pool.
class PrefixCache {
public:
    PrefixCache(gemma4::KvPool & pool, int max_entries) : pool_(pool), max_entries_(max_entries) {}
    ~PrefixCache() { clear(); }

    struct Hit {
        int entry = -1;  // -1: no usable prefix
        int n = 0;       // positions reused
    };
    // The entry sharing the longest resumable prefix with `keys`, at most max_n positions
    // (callers pass prompt length - 1: the last prompt token must run to give logits). With
    // `block_ids` (bidirectional-vision blocks of the new prompt, TokenRequest::block_ids) the
    // prefix never ends inside a block: the block's rows must run together in one chunk.
    Hit lookup(std::span<const uint64_t> keys, int max_n,
               std::span<const int32_t> block_ids = {}) const;
    // A new sequence holding the hit's positions (blocks shared, ring copied); the entry stays.
    Result<gemma4::KvSeq> take(const Hit & hit);
    // Keeps `seq` whose positions hold `keys` (keys.size() == seq.n_past); takes ownership.
    // Replaces an entry with the same keys; evicts the least recently used beyond max_entries.
    void insert(std::vector<uint64_t> keys, gemma4::KvSeq seq);
    // Frees the least recently used entry; false when empty.
    bool evict_one();
    void clear();
    int size() const { return int(entries_.size()); }

private:
    struct Entry {
        std::vector<uint64_t> keys;
        gemma4::KvSeq seq;
        uint64_t last_used = 0;
    };
    gemma4::KvPool & pool_;
    int max_entries_;
    std::vector<Entry> entries_;
    uint64_t clock_ = 0;
};

}  // namespace gemma::runtime
