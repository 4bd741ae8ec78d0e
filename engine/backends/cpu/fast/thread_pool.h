// ThreadPool: the fast CPU backend's workers (all cores, no OpenMP). One caller at a time hands a
// parallel loop to the pool and takes part in it; workers spin briefly, then sleep, between loops
// so a decode step's ~1000 small ops do not each pay a futex wake-up.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gemma::cpu {

class ThreadPool {
public:
    // n_threads counts the caller: 1 = no worker threads (everything runs on the caller).
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool & operator=(const ThreadPool &) = delete;

    int size() const { return int(workers_.size()) + 1; }

    // Calls fn(begin, end) over [0, n) in chunks of `grain` items (the last may be shorter),
    // chunks handed out dynamically; returns when every chunk is done. Not reentrant: fn must not
    // call parallel_for. Thread-compatible: one caller thread at a time.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> & fn);

private:
    void worker_main();
    void run_chunks();

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable cv_work_;
    std::condition_variable cv_done_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> n_busy_{0};
    bool stop_ = false;

    // The current loop (written by the caller before bumping generation_).
    const std::function<void(int64_t, int64_t)> * fn_ = nullptr;
    int64_t n_ = 0, grain_ = 1;
    std::atomic<int64_t> next_{0};
};

// Number of threads the fast backend uses by default: GEMMA_CPU_THREADS when set to a positive
// integer, else the hardware concurrency (at least 1).
int default_thread_count();

}  // namespace gemma::cpu
