// Byte-pair encoding with byte fallback, exactly as the Hugging Face tokenizers BPE model does
// it (merge the lowest-ranked adjacent pair, leftmost first), made fast for Gemma's vocabulary.
//
// Gemma's pre-tokenizer leaves a whole text segment as one "word", so the usual per-word cache
// would never hit. Instead each word is cut where no merge can ever join two characters: a
// merge (a, b) only joins the last character of a to the first character of b, so where two
// adjacent characters form no such junction pair, BPE runs on both sides independently and
// the result is identical. The resulting chunks ("▁word", "▁the") are cached.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/flat_map64.h"
#include "tokenizer/vocab.h"

namespace gemma::tok {

struct BpeConfig {
    std::vector<std::pair<std::string, std::string>> merges;  // in rank order
    std::optional<TokenId> unk_id;                            // for characters with no piece
    bool byte_fallback = false;                               // <0xXX> pieces before unk
    bool fuse_unk = false;                                    // consecutive unks become one
    // Reference mode for tests: the plain HF algorithm on the whole pre-token (heap merges, no
    // chunking, no cache), to check the fast path against.
    bool reference_mode = false;
};

// Thread-safe: concurrent encode() calls serialize on the chunk cache. `vocab` must outlive it.
class Bpe {
public:
    // Fails with corrupt_file when a merge names a piece not in the vocabulary, and with
    // unsupported when some character could not be encoded (no byte fallback and no unk).
    static Result<std::unique_ptr<Bpe>> build(const Vocab & vocab, const BpeConfig & config);

    // Appends the ids of one pre-token (normalized text, valid UTF-8).
    void encode(std::string_view word, std::vector<TokenId> & out) const;

    // Chunks shorter than this are cached; longer ones are rare and recomputed.
    static constexpr size_t kMaxCachedChunk = 64;
    static constexpr size_t kMaxCacheEntries = 1 << 18;

private:
    struct Merge {
        int32_t rank;
        TokenId id;
    };
    explicit Bpe(const Vocab & vocab) : vocab_(vocab) {}
    bool joinable(uint32_t cp_left, uint32_t cp_right) const;
    void encode_chunk(std::string_view chunk, std::vector<TokenId> & out) const;
    void initial_symbols(std::string_view chunk, std::vector<TokenId> & syms) const;
    void merge_small(std::vector<TokenId> & syms) const;
    void merge_large(std::vector<TokenId> & syms) const;
    const Merge * find_merge(TokenId a, TokenId b) const {
        return merges_.find(pair_key(static_cast<uint32_t>(a), static_cast<uint32_t>(b)));
    }

    const Vocab & vocab_;
    FlatMap64<Merge> merges_;
    std::optional<TokenId> unk_id_;
    bool fuse_unk_ = false;
    bool chunking_ = true;  // off when a merge involves byte or unk pieces (see build())
    bool reference_mode_ = false;
    std::array<TokenId, 128> ascii_ids_{};
    std::array<TokenId, 256> byte_ids_{};
    FlatMap64<bool> junctions_;  // (last cp of a, first cp of b) for every merge
    std::array<uint64_t, 128 * 2> ascii_junctions_{};  // bitmap of junctions between ASCII cps

    struct CacheHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct CacheEntry {
        uint32_t offset, length;  // into cache_ids_
    };
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, CacheEntry, CacheHash, std::equal_to<>> cache_;
    mutable std::vector<TokenId> cache_ids_;
};

}  // namespace gemma::tok
