// MediaCache: content hashing, LRU bookkeeping and single-flight encoding.
#include "media/media_cache.h"

#include <cstring>

namespace gemma::media {
namespace {

// The splitmix64 finaliser: a bijective 64-bit mix with full avalanche.
uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// One 64-bit lane over 8-byte little-endian words; every word goes through mix64 with the seed,
// so the two seeded lanes of media_key are independent.
uint64_t hash_lane(std::span<const uint8_t> bytes, uint64_t seed, uint64_t h) {
    const size_t n = bytes.size(), words = n / 8;
    for (size_t i = 0; i < words; ++i) {
        uint64_t w;
        std::memcpy(&w, bytes.data() + i * 8, 8);
        h = rotl(h ^ mix64(w ^ seed), 29) * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    }
    uint64_t tail = 0;
    if (n > words * 8) std::memcpy(&tail, bytes.data() + words * 8, n - words * 8);
    h = rotl(h ^ mix64(tail ^ seed ^ (uint64_t(n) << 3)), 29) * 0x9e3779b97f4a7c15ull;
    return mix64(h ^ seed);
}

std::span<const uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

}  // namespace

MediaKey media_key(std::span<const uint8_t> bytes, std::string_view settings) {
    MediaKey k;
    for (int lane = 0; lane < 2; ++lane) {
        const uint64_t seed = lane == 0 ? 0x243f6a8885a308d3ull : 0x13198a2e03707344ull;
        uint64_t h = hash_lane(as_bytes(settings), seed, seed ^ settings.size());
        h = hash_lane(bytes, seed, h);
        (lane == 0 ? k.a : k.b) = h;
    }
    return k;
}

size_t CachedMedia::nbytes() const {
    size_t n = seconds.size() * sizeof(double);
    for (const Tensor & t : parts) n += t.nbytes();
    return n;
}

MediaCache::Entry MediaCache::find_or_null(const MediaKey & key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    ++stats_.hits;
    return it->second.value;
}

Result<MediaCache::Entry> MediaCache::get_or_encode(const MediaKey & key, const Encoder & encode) {
    std::promise<Result<Entry>> promise;
    {
        std::unique_lock<std::mutex> lock(mu_);
        auto it = slots_.find(key);
        if (it != slots_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second.lru);
            ++stats_.hits;
            return it->second.value;
        }
        auto p = pending_.find(key);
        if (p != pending_.end()) {  // another thread is encoding these bytes: wait for it
            std::shared_future<Result<Entry>> f = p->second;
            ++stats_.hits;
            lock.unlock();
            return f.get();
        }
        ++stats_.misses;
        pending_.emplace(key, promise.get_future().share());
    }
    Result<CachedMedia> r = encode();
    Result<Entry> out = r.ok() ? Result<Entry>(std::make_shared<const CachedMedia>(std::move(*r)))
                               : Result<Entry>(r.error());
    {
        std::lock_guard<std::mutex> lock(mu_);
        pending_.erase(key);
        if (out.ok()) insert_locked(key, *out);
    }
    promise.set_value(out);
    return out;
}

void MediaCache::insert_locked(const MediaKey & key, const Entry & value) {
    const size_t bytes = value->nbytes();
    if (bytes > max_bytes_) return;
    while (stats_.bytes + bytes > max_bytes_ && !lru_.empty()) {
        auto victim = slots_.find(lru_.back());
        stats_.bytes -= victim->second.bytes;
        slots_.erase(victim);
        lru_.pop_back();
        ++stats_.evictions;
    }
    lru_.push_front(key);
    slots_[key] = Slot{value, lru_.begin(), bytes};
    stats_.bytes += bytes;
}

void MediaCache::clear() {
    std::lock_guard<std::mutex> lock(mu_);
    slots_.clear();
    lru_.clear();
    stats_.bytes = 0;
}

MediaCacheStats MediaCache::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    MediaCacheStats s = stats_;
    s.entries = int64_t(slots_.size());
    return s;
}

}  // namespace gemma::media
