// A content-addressed cache of encoded media: the same image/audio/video bytes encoded with the
// same settings (budget, audio mask mode, model) return the soft tokens computed the first time.
// Chat clients re-send every earlier image with each turn, so without it an image is re-encoded
// on every message. LRU with a byte cap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace gemma::media {

// 128-bit content key: two independent 64-bit hashes of (settings, length, bytes). Not
// cryptographic: a collision needs ~2^64 distinct inputs by chance; inputs are the user's own.
struct MediaKey {
    uint64_t a = 0, b = 0;
    bool operator==(const MediaKey & o) const { return a == o.a && b == o.b; }
};
struct MediaKeyHash {
    size_t operator()(const MediaKey & k) const {
        return size_t(k.a ^ (k.b * 0x9e3779b97f4a7c15ull));
    }
};

// The key of `bytes` encoded under `settings`: everything else that changes the soft tokens, e.g.
// "image budget=280 model=<path>" or "audio mask=sliding model=<path>".
MediaKey media_key(std::span<const uint8_t> bytes, std::string_view settings);

// What an encoder produced for one media item: host tensors (never written after caching) and,
// for video, each part's timestamp.
struct CachedMedia {
    std::vector<Tensor> parts;
    std::vector<double> seconds;
    size_t nbytes() const;
};

struct MediaCacheStats {
    int64_t hits = 0;    // served from the cache (or from another thread's encode of the same key)
    int64_t misses = 0;  // encoder calls
    int64_t evictions = 0;
    int64_t entries = 0;
    size_t bytes = 0;
};

// Thread-safe. Encoders run outside the lock; concurrent requests for one key wait for a single
// encode. Failed encodes are not cached (the next request retries).
class MediaCache {
public:
    using Encoder = std::function<Result<CachedMedia>()>;
    using Entry = std::shared_ptr<const CachedMedia>;

    explicit MediaCache(size_t max_bytes) : max_bytes_(max_bytes) {}

    // The cached entry for `key`, else encode() once and keep its result (unless it alone exceeds
    // the byte cap: then it is returned uncached). Errors: those of encode().
    Result<Entry> get_or_encode(const MediaKey & key, const Encoder & encode);
    // The entry when cached (marks it recently used), else nullptr.
    Entry find_or_null(const MediaKey & key);
    void clear();
    MediaCacheStats stats() const;
    size_t max_bytes() const { return max_bytes_; }

private:
    struct Slot {
        Entry value;
        std::list<MediaKey>::iterator lru;
        size_t bytes = 0;
    };
    void insert_locked(const MediaKey & key, const Entry & value);

    const size_t max_bytes_;
    mutable std::mutex mu_;
    std::list<MediaKey> lru_;  // most recent first
    std::unordered_map<MediaKey, Slot, MediaKeyHash> slots_;
    std::unordered_map<MediaKey, std::shared_future<Result<Entry>>, MediaKeyHash> pending_;
    MediaCacheStats stats_;
};

}  // namespace gemma::media
