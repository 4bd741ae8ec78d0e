// Bpe: merge table, chunking at non-joinable character pairs, and the two merge loops (a
// rank-array scan for short chunks, a heap over a linked list for long ones).
#include "tokenizer/bpe.h"

#include <algorithm>
#include <climits>
#include <queue>

#include "tokenizer/utf8.h"

namespace gemma::tok {

namespace {

// First and last code point of a non-empty valid UTF-8 string.
uint32_t first_cp(std::string_view s) {
    const int n = utf8_valid_char_len(s, 0);
    return n > 0 ? utf8_decode(s, 0, n) : 0xFFFFFFu;
}

uint32_t last_cp(std::string_view s) {
    size_t i = s.size() - 1;
    while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
    const int n = utf8_valid_char_len(s, i);
    return n > 0 && i + n == s.size() ? utf8_decode(s, i, n) : 0xFFFFFFu;
}

constexpr size_t kSmallChunk = 48;  // rank-array scan up to here, heap beyond

}  // namespace

Result<std::unique_ptr<Bpe>> Bpe::build(const Vocab & vocab, const BpeConfig & config) {
    std::unique_ptr<Bpe> bpe(new Bpe(vocab));
    bpe->unk_id_ = config.unk_id;
    bpe->fuse_unk_ = config.fuse_unk;
    bpe->reference_mode_ = config.reference_mode;
    bpe->merges_ = FlatMap64<Merge>(config.merges.size());
    bpe->junctions_ = FlatMap64<bool>(config.merges.size() / 4);
    std::string joined;
    for (size_t rank = 0; rank < config.merges.size(); ++rank) {
        const auto & [a, b] = config.merges[rank];
        joined.assign(a).append(b);
        const auto ida = vocab.find(a), idb = vocab.find(b), idm = vocab.find(joined);
        if (!ida || !idb || !idm) {
            return make_error(ErrorCode::corrupt_file,
                              format("merge #%zu ('%s' + '%s') uses a piece that is not in the "
                                     "vocabulary; the tokenizer file is corrupt",
                                     rank, a.c_str(), b.c_str()));
        }
        bpe->merges_.insert(pair_key(*ida, *idb), Merge{static_cast<int32_t>(rank), *idm});
        for (TokenId id : {*ida, *idb}) {
            if (vocab.kind(id) == TokenKind::byte || id == config.unk_id) bpe->chunking_ = false;
        }
        const uint32_t l = last_cp(a), r = first_cp(b);
        bpe->junctions_.insert(pair_key(l, r), true);
        if (l < 128 && r < 128)
            bpe->ascii_junctions_[(l * 128 + r) >> 6] |= 1ull << ((l * 128 + r) & 63);
    }
    for (int c = 0; c < 128; ++c) {
        bpe->ascii_ids_[c] = vocab.find(std::string(1, static_cast<char>(c))).value_or(-1);
    }
    bool all_bytes = config.byte_fallback;
    for (int b = 0; b < 256; ++b) {
        bpe->byte_ids_[b] = -1;
        if (!config.byte_fallback) continue;
        bpe->byte_ids_[b] = vocab.find(format("<0x%02X>", b)).value_or(-1);
        all_bytes = all_bytes && bpe->byte_ids_[b] >= 0;
    }
    if (!all_bytes && !config.unk_id) {
        return make_error(ErrorCode::unsupported,
                          "the BPE model has neither byte_fallback with all 256 <0xXX> pieces "
                          "nor an unk_token, so some text could not be encoded");
    }
    // Unknown characters may become unk, and fused unks would span chunk boundaries.
    if (!all_bytes && config.fuse_unk) bpe->chunking_ = false;
    return bpe;
}

bool Bpe::joinable(uint32_t l, uint32_t r) const {
    if (l < 128 && r < 128)
        return (ascii_junctions_[(l * 128 + r) >> 6] >> ((l * 128 + r) & 63)) & 1;
    return junctions_.find(pair_key(l, r)) != nullptr;
}

void Bpe::encode(std::string_view word, std::vector<TokenId> & out) const {
    if (reference_mode_) {
        std::vector<TokenId> syms;
        initial_symbols(word, syms);
        merge_large(syms);
        out.insert(out.end(), syms.begin(), syms.end());
        return;
    }
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (!chunking_) {
        encode_chunk(word, out);
        return;
    }
    size_t start = 0;
    uint32_t prev = 0;
    for (size_t i = 0; i < word.size();) {
        const auto b = static_cast<uint8_t>(word[i]);
        int len = 1;
        uint32_t cp = b;
        if (b >= 0x80) {
            len = std::max(1, utf8_seq_len(b));
            cp = utf8_decode(word, i, len);
        }
        if (i > start && !joinable(prev, cp)) {
            encode_chunk(word.substr(start, i - start), out);
            start = i;
        }
        prev = cp;
        i += len;
    }
    if (start < word.size()) encode_chunk(word.substr(start), out);
}

void Bpe::encode_chunk(std::string_view chunk, std::vector<TokenId> & out) const {
    const bool cacheable = chunk.size() <= kMaxCachedChunk;
    if (cacheable) {
        auto it = cache_.find(chunk);
        if (it != cache_.end()) {
            const auto * p = cache_ids_.data() + it->second.offset;
            out.insert(out.end(), p, p + it->second.length);
            return;
        }
    }
    std::vector<TokenId> syms;
    initial_symbols(chunk, syms);
    if (syms.size() <= kSmallChunk) {
        merge_small(syms);
    } else {
        merge_large(syms);
    }
    out.insert(out.end(), syms.begin(), syms.end());
    if (!cacheable) return;
    if (cache_.size() >= kMaxCacheEntries) {
        cache_.clear();
        cache_ids_.clear();
    }
    cache_.emplace(std::string(chunk), CacheEntry{static_cast<uint32_t>(cache_ids_.size()),
                                                  static_cast<uint32_t>(syms.size())});
    cache_ids_.insert(cache_ids_.end(), syms.begin(), syms.end());
}

// One symbol per character: its piece, else its <0xXX> bytes, else unk (HF BPE word building).
void Bpe::initial_symbols(std::string_view chunk, std::vector<TokenId> & syms) const {
    syms.reserve(chunk.size());
    for (size_t i = 0; i < chunk.size();) {
        const auto b = static_cast<uint8_t>(chunk[i]);
        const size_t len = b < 0x80 ? 1 : std::max(1, utf8_seq_len(b));
        if (b < 0x80 && ascii_ids_[b] >= 0) {
            syms.push_back(ascii_ids_[b]);
            i += 1;
            continue;
        }
        const std::string_view ch = chunk.substr(i, len);
        i += len;
        if (auto id = vocab_.find(ch)) {
            syms.push_back(*id);
            continue;
        }
        bool bytes_ok = true;
        for (char c : ch) bytes_ok = bytes_ok && byte_ids_[static_cast<uint8_t>(c)] >= 0;
        if (bytes_ok) {
            for (char c : ch) syms.push_back(byte_ids_[static_cast<uint8_t>(c)]);
            continue;
        }
        // build() guarantees an unk id whenever byte fallback is incomplete.
        if (fuse_unk_ && !syms.empty() && syms.back() == *unk_id_) continue;
        syms.push_back(*unk_id_);
    }
}

void Bpe::merge_small(std::vector<TokenId> & syms) const {
    size_t n = syms.size();
    if (n < 2) return;
    int32_t ranks[kSmallChunk];
    auto rank_at = [&](size_t i) {
        const Merge * m = find_merge(syms[i], syms[i + 1]);
        return m ? m->rank : INT32_MAX;
    };
    for (size_t i = 0; i + 1 < n; ++i) ranks[i] = rank_at(i);
    while (n > 1) {
        size_t best = 0;
        for (size_t i = 1; i + 1 < n; ++i) {
            if (ranks[i] < ranks[best]) best = i;
        }
        if (ranks[best] == INT32_MAX) break;
        syms[best] = find_merge(syms[best], syms[best + 1])->id;
        syms.erase(syms.begin() + static_cast<ptrdiff_t>(best) + 1);
        std::copy(ranks + best + 1, ranks + n - 1, ranks + best);
        --n;
        if (best + 1 < n) ranks[best] = rank_at(best);
        if (best > 0) ranks[best - 1] = rank_at(best - 1);
    }
}

// The HF algorithm proper: a min-heap of (rank, position) over a doubly linked symbol list;
// entries made stale by earlier merges are skipped when popped.
void Bpe::merge_large(std::vector<TokenId> & syms) const {
    const int n = static_cast<int>(syms.size());
    std::vector<int> prev(n), next(n);
    for (int i = 0; i < n; ++i) {
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
    }
    struct Entry {
        int32_t rank;
        int pos;
        TokenId left, right;
        bool operator>(const Entry & o) const {
            return rank != o.rank ? rank > o.rank : pos > o.pos;
        }
    };
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    auto push = [&](int pos) {
        if (pos < 0 || next[pos] < 0) return;
        if (const Merge * m = find_merge(syms[pos], syms[next[pos]])) {
            heap.push(Entry{m->rank, pos, syms[pos], syms[next[pos]]});
        }
    };
    for (int i = 0; i + 1 < n; ++i) push(i);
    std::vector<bool> alive(n, true);
    while (!heap.empty()) {
        const Entry e = heap.top();
        heap.pop();
        const int r = next[e.pos];
        if (!alive[e.pos] || r < 0 || syms[e.pos] != e.left || syms[r] != e.right) continue;
        syms[e.pos] = find_merge(e.left, e.right)->id;
        alive[r] = false;
        next[e.pos] = next[r];
        if (next[r] >= 0) prev[next[r]] = e.pos;
        push(prev[e.pos]);
        push(e.pos);
    }
    size_t w = 0;
    for (int i = 0; i < n; ++i) {
        if (alive[i]) syms[w++] = syms[i];
    }
    syms.resize(w);
}

}  // namespace gemma::tok
