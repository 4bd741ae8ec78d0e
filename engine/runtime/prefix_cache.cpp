// PrefixCache: longest-prefix lookup over a few entries (linear: a desktop holds a handful of
// conversations), LRU eviction, forks through the pool's refcounted blocks.
#include "runtime/prefix_cache.h"

#include <algorithm>

namespace gemma::runtime {

uint64_t hash_bytes(const void * data, size_t n, uint64_t seed) {
    const unsigned char * p = static_cast<const unsigned char *>(data);
    uint64_t h = seed;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t media_key(uint64_t content_hash, int index) {
    uint64_t k = content_hash ^ (uint64_t(index) * 0x9E3779B97F4A7C15ull);
    k ^= k >> 29;
    return k | (1ull << 63);
}

namespace {

// Whether a prefix of m positions ends inside a block (rows m - 1 and m share one).
bool inside_block(std::span<const int32_t> b, size_t m) {
    return m > 0 && m < b.size() && b[m] >= 0 && b[m] == b[m - 1];
}

}  // namespace

PrefixCache::Hit PrefixCache::lookup(std::span<const uint64_t> keys, int max_n,
                                     std::span<const int32_t> block_ids) const {
    Hit best;
    for (size_t e = 0; e < entries_.size(); ++e) {
        const Entry & en = entries_[e];
        size_t lim = std::min({en.keys.size(), keys.size(), size_t(std::max(max_n, 0))});
        size_t m = 0;
        while (m < lim && en.keys[m] == keys[m]) ++m;
        // The ring may not reach back far enough from the entry's end: shorten until resumable.
        while (m > 0 && (inside_block(block_ids, m) || !pool_.seq_can_resume(en.seq, int(m)))) --m;
        if (int(m) > best.n) best = {int(e), int(m)};
    }
    return best;
}

Result<gemma4::KvSeq> PrefixCache::take(const Hit & hit) {
    Entry & en = entries_[size_t(hit.entry)];
    en.last_used = ++clock_;
    return pool_.seq_fork(en.seq, hit.n);
}

void PrefixCache::insert(std::vector<uint64_t> keys, gemma4::KvSeq seq) {
    if (max_entries_ <= 0 || keys.empty()) {
        pool_.seq_release(seq);
        return;
    }
    for (size_t e = 0; e < entries_.size(); ++e) {
        if (entries_[e].keys != keys) continue;
        pool_.seq_release(entries_[e].seq);
        entries_.erase(entries_.begin() + long(e));
        break;
    }
    entries_.push_back({std::move(keys), std::move(seq), ++clock_});
    while (int(entries_.size()) > max_entries_) evict_one();
}

bool PrefixCache::evict_one() {
    if (entries_.empty()) return false;
    auto it = std::min_element(
        entries_.begin(), entries_.end(),
        [](const Entry & a, const Entry & b) { return a.last_used < b.last_used; });
    pool_.seq_release(it->seq);
    entries_.erase(it);
    return true;
}

void PrefixCache::clear() {
    while (evict_one()) {
    }
}

}  // namespace gemma::runtime
