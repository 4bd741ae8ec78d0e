// MediaCache: content keys, hits without re-encoding (encoder calls counted), LRU eviction under
// the byte cap, uncached failures, one encode for concurrent requests of the same bytes.
#include "media/media_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace gemma;
using namespace gemma::media;

namespace {

std::vector<uint8_t> bytes_of(size_t n, uint8_t seed) {
    std::vector<uint8_t> b(n);
    for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 31);
    return b;
}

// An "encoder" producing a [rows, 4] f32 tensor filled with `value`, counting its calls.
MediaCache::Encoder counting_encoder(std::atomic<int> & calls, int rows, float value) {
    return [&calls, rows, value]() -> Result<CachedMedia> {
        ++calls;
        Tensor t = tensor_host(DType::f32, {rows, 4});
        for (int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = value;
        return CachedMedia{{t}, {}};
    };
}

}  // namespace

TEST(MediaKey, DependsOnEveryByteAndTheSettings) {
    std::vector<uint8_t> a = bytes_of(1000, 1);
    std::vector<uint8_t> b = a;
    EXPECT_EQ(media_key(a, "image budget=280"), media_key(b, "image budget=280"));
    b[999] ^= 1;  // one bit in the tail word
    EXPECT_FALSE(media_key(a, "image budget=280") == media_key(b, "image budget=280"));
    b = a;
    b[3] ^= 0x80;
    EXPECT_FALSE(media_key(a, "image budget=280") == media_key(b, "image budget=280"));
    EXPECT_FALSE(media_key(a, "image budget=280") == media_key(a, "image budget=70"));
    // A prefix is another input (the length is hashed).
    std::vector<uint8_t> prefix(a.begin(), a.begin() + 992);
    EXPECT_FALSE(media_key(a, "x") == media_key(prefix, "x"));
    EXPECT_FALSE(media_key({}, "") == media_key(std::vector<uint8_t>{0}, ""));
}

TEST(MediaCache, HitReturnsTheSameTensorsWithoutEncoding) {
    MediaCache cache(1 << 20);
    std::atomic<int> calls{0};
    std::vector<uint8_t> img = bytes_of(5000, 7);
    const MediaKey key = media_key(img, "image budget=280");
    auto first = cache.get_or_encode(key, counting_encoder(calls, 10, 1.5f));
    ASSERT_TRUE(first.ok());
    auto second =
        cache.get_or_encode(media_key(img, "image budget=280"), counting_encoder(calls, 10, 9.0f));
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ((*second)->parts[0].data, (*first)->parts[0].data);  // the same memory
    EXPECT_EQ((*second)->parts[0].ptr<float>()[0], 1.5f);
    auto other =
        cache.get_or_encode(media_key(img, "image budget=70"), counting_encoder(calls, 10, 2.0f));
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(calls.load(), 2);
    MediaCacheStats s = cache.stats();
    EXPECT_EQ(s.hits, 1);
    EXPECT_EQ(s.misses, 2);
    EXPECT_EQ(s.entries, 2);
    EXPECT_EQ(s.bytes, size_t(2 * 10 * 4 * 4));
    EXPECT_NE(cache.find_or_null(key), nullptr);
    cache.clear();
    EXPECT_EQ(cache.find_or_null(key), nullptr);
}

TEST(MediaCache, EvictsLeastRecentlyUsedUnderTheByteCap) {
    const size_t entry = 10 * 4 * 4;  // [10, 4] f32
    MediaCache cache(3 * entry);
    std::atomic<int> calls{0};
    MediaKey k[4];
    for (int i = 0; i < 4; ++i) k[i] = media_key(bytes_of(64, uint8_t(i)), "a");
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(cache.get_or_encode(k[i], counting_encoder(calls, 10, 0)).ok());
    ASSERT_NE(cache.find_or_null(k[0]), nullptr);  // k0 is now the most recent; k1 the least
    ASSERT_TRUE(cache.get_or_encode(k[3], counting_encoder(calls, 10, 0)).ok());
    EXPECT_EQ(cache.find_or_null(k[1]), nullptr);
    EXPECT_NE(cache.find_or_null(k[0]), nullptr);
    EXPECT_NE(cache.find_or_null(k[2]), nullptr);
    EXPECT_NE(cache.find_or_null(k[3]), nullptr);
    EXPECT_EQ(cache.stats().evictions, 1);
    EXPECT_LE(cache.stats().bytes, 3 * entry);
    // An entry larger than the whole cap is returned but not kept (and evicts nothing).
    auto big =
        cache.get_or_encode(media_key(bytes_of(8, 99), "a"), counting_encoder(calls, 100, 0));
    ASSERT_TRUE(big.ok());
    EXPECT_EQ((*big)->parts[0].dim(0), 100);
    EXPECT_EQ(cache.stats().entries, 3);
}

TEST(MediaCache, FailuresAreReturnedAndNotCached) {
    MediaCache cache(1 << 20);
    int calls = 0;
    const MediaKey key = media_key(bytes_of(10, 3), "audio");
    auto fail = [&]() -> Result<CachedMedia> {
        ++calls;
        return make_error(ErrorCode::corrupt_file, "bad audio");
    };
    auto r = cache.get_or_encode(key, fail);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::corrupt_file);
    EXPECT_FALSE(cache.get_or_encode(key, fail).ok());
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(cache.stats().entries, 0);
}

TEST(MediaCache, ConcurrentRequestsForOneKeyEncodeOnce) {
    MediaCache cache(1 << 20);
    std::atomic<int> calls{0};
    const MediaKey key = media_key(bytes_of(4096, 5), "image budget=280");
    auto slow = [&]() -> Result<CachedMedia> {
        ++calls;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        Tensor t = tensor_host(DType::f32, {3, 4});
        return CachedMedia{{t}, {}};
    };
    std::vector<std::thread> threads;
    std::vector<const void *> seen(8, nullptr);
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            auto r = cache.get_or_encode(key, slow);
            if (r.ok()) seen[size_t(i)] = (*r)->parts[0].data;
        });
    }
    for (auto & t : threads) t.join();
    EXPECT_EQ(calls.load(), 1);
    for (const void * p : seen) EXPECT_EQ(p, seen[0]);
    EXPECT_NE(seen[0], nullptr);
    EXPECT_EQ(cache.stats().misses, 1);
    EXPECT_EQ(cache.stats().hits, 7);
}
