// image_threads.h: run_row_ranges covers [0, n) once in contiguous ranges on distinct parts
// whatever n and the part count; image_thread_count honours a request, caps and shrinks the rest.
#include "media/image_threads.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <vector>

namespace gemma::media {
namespace {

TEST(ImageThreads, RangesCoverEveryRowOnce) {
    for (int64_t n : {1, 2, 7, 100, 1081}) {
        for (int parts : {1, 2, 3, 8, 200}) {
            std::mutex mu;
            std::vector<int> seen(size_t(n), 0);
            std::set<int> parts_seen;
            run_row_ranges(n, parts, [&](int part, int64_t b, int64_t e) {
                std::lock_guard<std::mutex> lock(mu);
                EXPECT_LT(b, e);
                EXPECT_TRUE(parts_seen.insert(part).second) << "part " << part << " ran twice";
                for (int64_t i = b; i < e; ++i) ++seen[size_t(i)];
            });
            EXPECT_EQ(int64_t(parts_seen.size()), std::min<int64_t>(n, parts)) << n << "/" << parts;
            for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[size_t(i)], 1) << n << "/" << parts;
        }
    }
    run_row_ranges(0, 4, [](int, int64_t, int64_t) { ADD_FAILURE() << "called for n = 0"; });
}

TEST(ImageThreads, CountHonoursRequestCapAndWork) {
    EXPECT_EQ(image_thread_count(3, 1, 1000), 3);   // tests pin it, even for tiny work
    EXPECT_EQ(image_thread_count(0, 10, 1000), 1);  // small image: the caller's thread only
    const int big = image_thread_count(0, int64_t(1) << 40, 1000);
    EXPECT_GE(big, 1);
    EXPECT_LE(big, kMaxImageThreads);
    EXPECT_LE(image_thread_count(0, 2500, 1000), 2);  // two threads' worth of work at most
}

}  // namespace
}  // namespace gemma::media
