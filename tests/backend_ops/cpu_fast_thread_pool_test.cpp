// The fast backend's thread pool: every index of a parallel loop runs exactly once, for any loop
// size, grain and thread count (more threads than cores included), across many reused loops.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "backends/cpu/fast/thread_pool.h"

using gemma::cpu::ThreadPool;

TEST(CpuFastThreadPool, EveryIndexRunsExactlyOnce) {
    for (int threads : {1, 2, 5}) {
        ThreadPool pool(threads);
        EXPECT_EQ(pool.size(), threads);
        for (int64_t n : {1, 7, 64, 1000, 4097}) {
            for (int64_t grain : {1, 3, 64, 5000}) {
                std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
                for (auto & h : hits) h = 0;
                pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
                    ASSERT_LE(e - b, grain);
                    for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
                });
                for (int64_t i = 0; i < n; ++i)
                    ASSERT_EQ(hits[size_t(i)].load(), 1)
                        << "threads " << threads << " n " << n << " grain " << grain << " i " << i;
            }
        }
    }
}

// Thousands of back-to-back small loops: a worker waking late must never run a stale loop.
TEST(CpuFastThreadPool, ManySmallLoopsStayCorrect) {
    ThreadPool pool(4);
    std::atomic<int64_t> total{0};
    int64_t expected = 0;
    for (int rep = 0; rep < 5000; ++rep) {
        int64_t n = 1 + rep % 9;
        expected += n * (rep + 1);
        pool.parallel_for(n, 1,
                          [&, rep](int64_t b, int64_t e) { total.fetch_add((e - b) * (rep + 1)); });
    }
    EXPECT_EQ(total.load(), expected);
}
